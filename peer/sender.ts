/**
 * Sends Raft messages to the other members. On Bun, over one WebSocket per peer: each send() is
 * one binary frame per peer — more when what is queued exceeds a batch — with no answer to wait
 * for (a request costs the two processes ~130 µs of CPU on loopback, a frame ~45 µs: measured).
 * Elsewhere — Deno's WebSocket client stalls on frames over ~1.4 KB — over HTTP: one queue per
 * peer, drained by one POST at a time carrying up to a batch of what was queued meanwhile. Both
 * ends accept both. A "snap" message first streams the snapshot's file in chunks over HTTP, then
 * goes out itself.
 *
 * Owns: connections, per-peer queues and their bounds, cutting what is queued into batches bounded
 * in messages, entries and bytes (so no frame or request exceeds what a peer accepts), back-off
 * from unreachable peers, and saying (once) when a peer goes away or comes back. Never: retries a
 * message — Raft resends what matters, and a queue that only grows would hide a dead peer.
 */
import { PEER_BATCH_BYTES_MAX, PEER_BATCH_ENTRIES_MAX, PEER_BATCH_MESSAGES_MAX, PEER_QUEUE_MESSAGES_MAX, PEER_REQUEST_TIMEOUT_MS, PEER_RETRY_AFTER_MS, PEER_SOCKET_BUFFERED_BYTES_MAX, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_SENT_HOLD_MS } from "../config/limits.ts";
import { open } from "node:fs/promises";
import type { Message, NodeId, Snapshot } from "../raft/types.ts";
import { encodeFrame, encodeMessages } from "./codec.ts";
import type { StreamFrame } from "./types.ts";
import { FROM_HEADER, MESSAGES_PATH, PROOF_HEADER, SNAPSHOT_PATH, STREAM_PATH } from "./paths.ts";
import { peerProof } from "./proof.ts";
import type { PeerConnection, PeerDial } from "../runtime/dial.ts";

/** Bun's WebSocket client takes headers and TLS options; the constructor type of the web platform does not say so. */
type SocketConstructor = new (url: string, options: { headers: Record<string, string>; tls?: object }) => WebSocket;
const useStreams = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";


export interface PeerSenderOptions {
  self: NodeId;
  clusterToken: string;
  /** How to reach peers: TLS, and a connection per peer (runtime/dial.ts). */
  dial: PeerDial;
  /** The file holding a snapshot's state, to stream to a peer; undefined if it is gone. */
  snapshotFile(snapshot: Snapshot): { path: string; bytes: number; sha256: string } | undefined;
  log(line: string): void;
}

/**
 * How many of the queue's first messages go in one frame or request: up to PEER_BATCH_MESSAGES_MAX
 * messages, stopping once their entries reach PEER_BATCH_ENTRIES_MAX or their entries' data reach
 * PEER_BATCH_BYTES_MAX — at least one message, so a batch is at most the bounds plus its last
 * message (an append, itself bounded by the core), which checkLimits fits in a frame.
 */
export function batchLength(queue: readonly Message[]): number {
  let take = 0;
  for (let entries = 0, bytes = 0; take < queue.length && take < PEER_BATCH_MESSAGES_MAX && entries < PEER_BATCH_ENTRIES_MAX && bytes < PEER_BATCH_BYTES_MAX; take++) {
    entries += queue[take].entries.length;
    for (const e of queue[take].entries) bytes += e.data.byteLength;
  }
  return take;
}

class PeerQueue {
  urls: string[];
  queue: Message[] = [];
  sending = false;
  /** The index of the snapshot being sent to the peer, if one is. */
  snapshotting: number | undefined;
  /** The last snapshot sent whole to the peer, and when. */
  snapshotSent: { index: number; at: number } | undefined;
  reachable = true;
  /** Since when requests to the peer have been succeeding (or its socket open); undefined while not. */
  activeSince: number | undefined;
  socket: WebSocket | undefined;
  open = false;
  connection: PeerConnection;
  retryAt = 0;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(urls: string[], connection: PeerConnection) {
    this.urls = urls;
    this.connection = connection;
  }
}

export class PeerSender {
  readonly #opts: PeerSenderOptions;
  readonly #peers = new Map<NodeId, PeerQueue>();
  readonly #proofs = new Map<NodeId, string>();
  #closed = false;

  constructor(opts: PeerSenderOptions) {
    this.#opts = opts;
  }

  /** The peers to send to, with their peer URLs; peers not listed are forgotten. */
  setPeers(peers: ReadonlyMap<NodeId, string[]>): void {
    // Proofs name a peer and its host: made again for whoever is a peer now, where it is now.
    this.#proofs.clear();
    for (const [id, q] of this.#peers) {
      if (!peers.has(id)) {
        clearTimeout(q.timer);
        q.socket?.close();
        this.#peers.delete(id);
      }
    }
    for (const [id, urls] of peers) {
      if (id === this.#opts.self) continue;
      const q = this.#peers.get(id);
      if (!q) {
        this.#peers.set(id, new PeerQueue(urls, this.#opts.dial.connection()));
      } else if (q.urls.join(",") !== urls.join(",")) {
        // Moved (member update): reconnect to the new URLs.
        q.urls = urls;
        q.socket?.close();
      }
    }
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const q = this.#peers.get(m.to);
      if (!q) continue;
      if (m.type === "snap") {
        this.#sendSnapshot(m.to, q, m);
        continue;
      }
      q.queue.push(m);
      if (q.queue.length > PEER_QUEUE_MESSAGES_MAX) q.queue.splice(0, q.queue.length - PEER_QUEUE_MESSAGES_MAX);
    }
    for (const [id, q] of this.#peers) {
      if (q.queue.length === 0) continue;
      if (useStreams) this.#stream(id, q);
      else this.#drain(id, q);
    }
  }

  /** Sends a frame on the stream to `to` if one is open (Bun); answers whether it went. */
  sendFrame(to: NodeId, frame: StreamFrame): boolean {
    const q = this.#peers.get(to);
    if (!q?.open || !q.socket || q.socket.bufferedAmount >= PEER_SOCKET_BUFFERED_BYTES_MAX) return false;
    q.socket.send(encodeFrame(frame) as Uint8Array<ArrayBuffer>);
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const q of this.#peers.values()) {
      clearTimeout(q.timer);
      q.socket?.close();
      q.connection.close();
    }
  }

  /**
   * Sends what is queued, in frames each at most a batch (a frame larger than the receiver accepts
   * would close the stream, and the same append would be sent again and again), connecting first
   * if need be.
   */
  #stream(id: NodeId, q: PeerQueue): void {
    if (this.#closed) return;
    if (q.open && q.socket) {
      while (q.queue.length > 0) {
        // A peer that stopped reading (paused) gets nothing more until it drains: what is left is
        // dropped, and Raft sends again what still matters.
        if (q.socket.bufferedAmount >= PEER_SOCKET_BUFFERED_BYTES_MAX) {
          q.queue.length = 0;
          return;
        }
        const batch = q.queue.splice(0, batchLength(q.queue));
        q.socket.send(encodeFrame({ kind: "raft", messages: batch }) as Uint8Array<ArrayBuffer>);
      }
      return;
    }
    if (q.socket) return; // connecting: the queue goes out once open
    if (this.#backingOff(q, () => this.#stream(id, q))) return;
    const url = `${q.urls[0].replace(/^http/, "ws")}${STREAM_PATH}`;
    const Socket = WebSocket as unknown as SocketConstructor;
    const socket = new Socket(url, { headers: { [PROOF_HEADER]: this.#proof(id, q), [FROM_HEADER]: this.#opts.self }, ...this.#opts.dial.socketOptions });
    socket.binaryType = "arraybuffer";
    q.socket = socket;
    socket.onopen = () => {
      q.open = true;
      this.#setReachable(id, q, true, "");
      this.#stream(id, q);
    };
    socket.onclose = (e) => {
      if (q.socket !== socket || this.#closed) return;
      q.socket = undefined;
      q.open = false;
      q.queue.length = 0;
      q.retryAt = performance.now() + PEER_RETRY_AFTER_MS;
      this.#setReachable(id, q, false, `connection closed (${e.code}${e.reason ? ` ${e.reason}` : ""})`);
    };
    socket.onerror = () => socket.close();
  }

  /** Proof of the token addressed to `id` at the host it is dialled at: worthless anywhere else. */
  #proof(id: NodeId, q: PeerQueue): string {
    const host = new URL(q.urls[0]).host;
    const key = `${id}@${host}`;
    let proof = this.#proofs.get(key);
    if (proof === undefined) this.#proofs.set(key, proof = peerProof(this.#opts.clusterToken, this.#opts.self, id, host));
    return proof;
  }

  #headers(id: NodeId, q: PeerQueue): Record<string, string> {
    return { [PROOF_HEADER]: this.#proof(id, q), [FROM_HEADER]: this.#opts.self, "content-type": "application/octet-stream" };
  }

  /** Whether the peer failed lately; if so, `retry` runs once the back-off is over. */
  #backingOff(q: PeerQueue, retry: () => void): boolean {
    const wait = q.retryAt - performance.now();
    if (wait <= 0) return false;
    q.timer ??= setTimeout(() => {
      q.timer = undefined;
      retry();
    }, wait);
    return true;
  }

  async #drain(id: NodeId, q: PeerQueue): Promise<void> {
    if (q.sending || this.#closed || this.#backingOff(q, () => this.#drain(id, q))) return;
    q.sending = true;
    while (q.queue.length > 0 && !this.#closed) {
      const batch = q.queue.splice(0, batchLength(q.queue));
      const ok = await this.#post(id, q, `${MESSAGES_PATH}`, encodeMessages(batch));
      if (!ok) {
        // An unreachable peer drops what was queued for it; Raft sends again what still matters.
        q.queue.length = 0;
        q.retryAt = performance.now() + PEER_RETRY_AFTER_MS;
        break;
      }
    }
    q.sending = false;
  }

  async #post(id: NodeId, q: PeerQueue, path: string, body: Uint8Array): Promise<boolean> {
    const url = q.urls[0] + path;
    try {
      const response = await fetch(url, {
        method: "POST", headers: this.#headers(id, q), body: body as BodyInit, signal: AbortSignal.timeout(PEER_REQUEST_TIMEOUT_MS),
        ...q.connection.init,
      });
      await response.arrayBuffer();
      if (!response.ok) {
        this.#setReachable(id, q, false, `${url} answered ${response.status}`);
        return false;
      }
      this.#setReachable(id, q, true, "");
      return true;
    } catch (e) {
      this.#setReachable(id, q, false, (e as Error).message);
      q.connection.close();
      q.connection = this.#opts.dial.connection();
      return false;
    }
  }

  /** How long (ms) requests to `id` have been succeeding without a failure; 0 if they fail now. */
  activeFor(id: NodeId): number {
    const since = this.#peers.get(id)?.activeSince;
    return since === undefined ? 0 : performance.now() - since;
  }

  /**
   * The lowest index of a snapshot being sent to a peer, or sent within SNAPSHOT_SENT_HOLD_MS (the
   * peer may still be installing it), if any: the log should keep what follows it.
   */
  snapshotSending(): number | undefined {
    const now = performance.now();
    const held = [...this.#peers.values()].flatMap((q) => [
      ...(q.snapshotting !== undefined ? [q.snapshotting] : []),
      ...(q.snapshotSent && now - q.snapshotSent.at < SNAPSHOT_SENT_HOLD_MS ? [q.snapshotSent.index] : []),
    ]);
    return held.length === 0 ? undefined : Math.min(...held);
  }

  #setReachable(id: NodeId, q: PeerQueue, reachable: boolean, why: string): void {
    if (reachable) q.activeSince ??= performance.now();
    else q.activeSince = undefined;
    if (q.reachable === reachable) return;
    q.reachable = reachable;
    this.#opts.log(reachable ? `peer ${id} is reachable again` : `peer ${id} is unreachable: ${why}`);
  }

  /** Streams the snapshot's file in chunks, then sends the message that tells the peer to install it. */
  async #sendSnapshot(id: NodeId, q: PeerQueue, m: Message): Promise<void> {
    if (q.snapshotting !== undefined) return; // one at a time; the leader asks again if this one is lost
    const file = this.#opts.snapshotFile(m.snapshot!);
    if (!file) return;
    q.snapshotting = m.snapshot!.index;
    this.#opts.log(`sending snapshot at index ${m.snapshot!.index} (${file.bytes} bytes) to ${id}`);
    try {
      const handle = await open(file.path, "r");
      try {
        for (let offset = 0; offset < file.bytes || offset === 0; offset += SNAPSHOT_CHUNK_BYTES) {
          const chunk = new Uint8Array(Math.min(SNAPSHOT_CHUNK_BYTES, file.bytes - offset));
          await handle.read(chunk, 0, chunk.length, offset);
          const query = `?index=${m.snapshot!.index}&offset=${offset}&total=${file.bytes}&sha256=${file.sha256}`;
          if (!await this.#post(id, q, SNAPSHOT_PATH + query, chunk)) return;
          if (file.bytes === 0) break;
          const sent = offset + chunk.length;
          // A long transfer says how far it got, every 64 MiB.
          if (sent % (64 * SNAPSHOT_CHUNK_BYTES) === 0 && sent < file.bytes) {
            this.#opts.log(`snapshot to ${id}: ${Math.round((100 * sent) / file.bytes)}% of ${file.bytes} bytes sent`);
          }
        }
      } finally {
        await handle.close();
      }
      if (await this.#post(id, q, MESSAGES_PATH, encodeMessages([m]))) {
        q.snapshotSent = { index: m.snapshot!.index, at: performance.now() };
        this.#opts.log(`snapshot at index ${m.snapshot!.index} sent to ${id}`);
      }
    } catch (e) {
      this.#opts.log(`sending snapshot to ${id} failed: ${(e as Error).message}`);
    } finally {
      q.snapshotting = undefined;
    }
  }
}
