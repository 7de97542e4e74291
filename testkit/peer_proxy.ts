/**
 * Test support: a fault-injecting TCP proxy in front of one member's peer port — how the chaos
 * harness partitions and slows a cluster with Concord's own means: the member advertises the
 * proxy's address, so every peer reaches it through here, and nothing in Concord is changed for the
 * test. Each connection's first request names its sender (the x-concord-from header every peer
 * request and stream carries), so traffic can be cut one way: from some members to this one, while
 * this member's own connections to them go on.
 *
 * Owns: forwarding bytes, cutting connections by sender, and delaying bytes both ways. Never:
 * reads more of the traffic than a connection's first request headers.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** A connection's first request headers end within this many bytes, or it is dropped. */
const HEADER_BYTES_MAX = 64 * 1024;
const FROM_HEADER = /^x-concord-from:[ \t]*([^\r\n]*)/im;

interface Link {
  from: string | undefined;
  client: Socket;
  upstream?: Socket;
  /** Per direction, chunks waiting out their delay, in arrival order. */
  waiting: Map<Socket, Waiting>;
}

/** Chunks delayed one way, first come first out, and the one timer that releases them. */
interface Waiting {
  chunks: { dueMs: number; chunk: Buffer }[];
  timer?: ReturnType<typeof setTimeout>;
}

export class PeerProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #links = new Set<Link>();
  #cut = new Set<string>();
  #delayMs = 0;

  private constructor(server: Server, port: number, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.#targetPort = targetPort;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Listens on 127.0.0.1:`port`, forwarding to 127.0.0.1:`targetPort`. */
  static start(port: number, targetPort: number): Promise<PeerProxy> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: false });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(new PeerProxy(server, port, targetPort)));
    });
  }

  /** Cuts traffic from these senders (member ids as Concord writes them, hex) to this member; an empty set heals. */
  cut(senders: Iterable<string>): void {
    this.#cut = new Set(senders);
    for (const link of this.#links) {
      if (link.from !== undefined && this.#cut.has(link.from)) this.#drop(link);
    }
  }

  /** Delays every byte through here, both ways, by `ms` (0: none). */
  delay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Drops every connection (as a crash of the network would); new ones are taken as usual. */
  dropAll(): void {
    for (const link of this.#links) this.#drop(link);
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const link: Link = { from: undefined, client, waiting: new Map() };
    this.#links.add(link);
    client.on("error", () => this.#drop(link));
    client.on("close", () => this.#drop(link));
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > HEADER_BYTES_MAX) this.#drop(link);
        return;
      }
      client.off("data", onHead);
      link.from = FROM_HEADER.exec(head.subarray(0, end).toString("latin1"))?.[1].trim();
      if (link.from !== undefined && this.#cut.has(link.from)) return this.#drop(link);
      this.#open(link, head);
    };
    client.on("data", onHead);
  }

  #open(link: Link, head: Buffer): void {
    const upstream = connect(this.#targetPort, "127.0.0.1");
    link.upstream = upstream;
    upstream.on("error", () => this.#drop(link));
    upstream.on("close", () => this.#drop(link));
    this.#forward(link, head, upstream);
    link.client.on("data", (chunk: Buffer) => this.#forward(link, chunk, upstream));
    upstream.on("data", (chunk: Buffer) => this.#forward(link, chunk, link.client));
  }

  /** Writes a chunk on after the delay, and never before one that came earlier the same way (whatever the delay was then). */
  #forward(link: Link, chunk: Buffer, to: Socket): void {
    let waiting = link.waiting.get(to);
    if (!waiting) link.waiting.set(to, waiting = { chunks: [] });
    if (this.#delayMs === 0 && waiting.chunks.length === 0) return this.#write(link, to, chunk);
    waiting.chunks.push({ dueMs: performance.now() + this.#delayMs, chunk });
    this.#release(link, to, waiting);
  }

  /** Writes the waiting chunks that are due, in order, and sets the timer for the next. */
  #release(link: Link, to: Socket, waiting: Waiting): void {
    if (waiting.timer !== undefined || waiting.chunks.length === 0) return;
    waiting.timer = setTimeout(() => {
      waiting.timer = undefined;
      const now = performance.now();
      while (waiting.chunks.length > 0 && waiting.chunks[0].dueMs <= now) this.#write(link, to, waiting.chunks.shift()!.chunk);
      this.#release(link, to, waiting);
    }, Math.max(0, waiting.chunks[0].dueMs - performance.now()));
  }

  #write(link: Link, to: Socket, chunk: Buffer): void {
    if (this.#links.has(link) && !to.destroyed) to.write(chunk);
  }

  #drop(link: Link): void {
    if (!this.#links.delete(link)) return;
    for (const waiting of link.waiting.values()) clearTimeout(waiting.timer);
    link.client.destroy();
    link.upstream?.destroy();
  }
}
