/**
 * Watches that survive their member: events of a key or a prefix, from a revision, delivered in
 * order and once each — when the stream ends (the member died, the connection broke) the watch is
 * opened again on the next endpoint from the revision after the last one delivered.
 *
 * Owns: the watch stream (etcd's streamed POST, or Concord's Server-Sent Events), resuming it, and
 * dropping what was delivered already. Never: buffers
 * without bound (the stream is read only as fast as the caller takes events).
 */
import { type BytesLike, prefixEnd, toBase64 } from "./bytes.ts";
import { Code, EtcdError } from "./errors.ts";
import { type KeyValue, keyValue } from "./kv.ts";
import { jsonLines } from "./lines.ts";
import { sseEvents } from "./sse.ts";
import { asEtcdError, type Json, pause, type Transport } from "./transport.ts";

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
  /** The revision of the change (kv.modRevision). */
  revision: number;
}

export interface WatchOptions {
  prefix?: boolean;
  /** The first revision to deliver (default: changes from now on). */
  startRevision?: number;
  prevKv?: boolean;
  /** Ends the watch. */
  signal?: AbortSignal;
  /** Over Server-Sent Events (GET /v3/watch, Concord's) rather than etcd's streamed POST. */
  sse?: boolean;
}

/** A watch's answers, as JSON objects, from the gateway's stream or from SSE. */
async function* answers(transport: Transport, create: Json, sse: boolean, signal: AbortSignal): AsyncGenerator<Json> {
  if (!sse) {
    const opened = await transport.open("/v3/watch", { create_request: create }, signal);
    for await (const line of jsonLines(opened.response.body!)) {
      if (line.error) throw new EtcdError(Number(line.error.grpc_code ?? Code.Unknown), String(line.error.message ?? ""), opened.endpoint);
      yield line.result ?? {};
    }
    return;
  }
  const query = new URLSearchParams({ key: create.key });
  if (create.range_end) query.set("range_end", create.range_end);
  if (create.start_revision) query.set("start_revision", String(create.start_revision));
  if (create.prev_kv) query.set("prev_kv", "true");
  query.set("progress_notify", "true");
  const opened = await transport.openGet(`/v3/watch?${query}`, signal);
  for await (const event of sseEvents(opened.response.body!)) yield JSON.parse(event.data);
}

/** How long to wait before opening a broken watch again, ms (doubling to the maximum while it keeps failing). */
const RESUME_WAIT_MS_MIN = 50;
const RESUME_WAIT_MS_MAX = 2_000;

/**
 * Events of `key` (or every key under it, `prefix`), in revision order, each once, across broken
 * streams and dead members; ends when `signal` aborts (or the caller stops iterating); throws an
 * EtcdError the watch cannot go on after (its next revision compacted away, permission denied).
 */
export async function* watch(transport: Transport, key: BytesLike, options: WatchOptions = {}): AsyncGenerator<WatchEvent> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  /** The last revision delivered (or known to hold nothing more to deliver). */
  let delivered = (options.startRevision ?? 0) - 1;
  let waitMs = RESUME_WAIT_MS_MIN;
  try {
    while (!stop.signal.aborted) {
      const create = {
        key: toBase64(key), ...(options.prefix ? { range_end: toBase64(prefixEnd(key)) } : {}),
        ...(delivered >= 0 ? { start_revision: delivered + 1 } : {}), ...(options.prevKv ? { prev_kv: true } : {}),
        progress_notify: true,
      };
      const endpoint = transport.endpoint;
      try {
        for await (const r of answers(transport, create, options.sse === true, stop.signal)) {
          if (r.canceled) {
            if (r.compact_revision) throw new EtcdError(Code.OutOfRange, "etcdserver: mvcc: required revision has been compacted", endpoint);
            throw new EtcdError(Code.Unknown, String(r.cancel_reason ?? "watch canceled"), endpoint);
          }
          waitMs = RESUME_WAIT_MS_MIN;
          const events: Json[] = r.events ?? [];
          // A watch created from now: what it sees starts after the revision it was created at.
          if (delivered < 0 && r.created) delivered = Number(r.header?.revision ?? 0);
          for (const e of events) {
            const revision = Number(e.kv?.mod_revision ?? 0);
            if (revision <= delivered) continue;
            yield { type: e.type === "DELETE" ? "DELETE" : "PUT", kv: keyValue(e.kv ?? {}), ...(e.prev_kv ? { prevKv: keyValue(e.prev_kv) } : {}), revision };
          }
          // Whole revisions come in one answer: what was delivered is complete up to the last; a
          // progress notification says nothing is left up to its revision.
          if (events.length > 0) delivered = Math.max(delivered, Number(events[events.length - 1].kv?.mod_revision ?? 0));
          else if (!r.created && delivered >= 0) delivered = Math.max(delivered, Number(r.header?.revision ?? 0));
        }
        transport.failed(endpoint);
      } catch (e) {
        const error = asEtcdError(e, endpoint, stop.signal);
        if (stop.signal.aborted) return;
        // A broken stream or a member that stopped: go on elsewhere; anything else ends the watch.
        if (!error.transient) throw error;
        transport.failed(endpoint);
      }
      await pause(waitMs, stop.signal);
      waitMs = Math.min(RESUME_WAIT_MS_MAX, waitMs * 2);
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
  }
}
