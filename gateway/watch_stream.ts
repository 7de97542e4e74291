/**
 * One client's watch stream: the watchers it created and the streamed response they share, in
 * etcd's gateway framing (`{"result":…}` per line) or as Server-Sent Events.
 *
 * Owns: watch ids on the stream (etcd's: the lowest free one from 0 unless the client names one),
 * create, cancel and progress requests with etcd's answers, and the response's bounded queue —
 * the hub is told the consumer is behind once that queue is full, and woken when it drains.
 * Never: buffers events it was not able to queue (the hub re-reads them from history).
 */
import { WATCH_STREAM_QUEUED_BYTES_MAX } from "../config/limits.ts";
import { compareBytes, keySpan } from "../etcd/keys.ts";
import type { Bytes } from "../etcd/types.ts";
import { type WatchEvent, Watcher, type WatchHub, type WatchSink } from "../watch/hub.ts";
import type { HeaderContext } from "../etcd/types.ts";
import { eventsJson, type WatchResult, watchResponse } from "./watch_json.ts";
import { ResponseBody } from "./response_body.ts";

/** etcd's WatchCreateRequest, decoded. */
export interface WatchCreate {
  key: Bytes;
  rangeEnd: Bytes;
  startRevision: number;
  progressNotify: boolean;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  watchId: number;
}

/** What a stream needs of its member. */
export interface WatchHost {
  readonly header: HeaderContext;
  readonly revision: number;
  readonly watches: WatchHub;
}

/** How responses are written on the wire. */
export interface WatchFraming {
  readonly contentType: string;
  /** A response without events (created, canceled, progress). */
  control(response: string): string;
  /** Events for a watcher: one response, or (SSE) one per revision. */
  events(render: (events: readonly WatchEvent[]) => string, events: readonly WatchEvent[]): string;
  /** Sent now and then so proxies keep an idle stream open; none for the gateway. */
  readonly heartbeat?: string;
}



/** etcd's errors for a create it refuses (the watch is answered created and canceled). */
const EMPTY_RANGE = "mvcc: watcher range is empty";
const DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";

export class WatchStream implements WatchSink {
  readonly #host: WatchHost;
  readonly #framing: WatchFraming;
  readonly #watchers = new Map<number, Watcher>();
  readonly #out: ResponseBody;
  #nextId = 0;
  /** Closed already (its body may have been closed by the client before). */
  #ended = false;
  /** Called once the stream is closed (by the client or by the member). */
  onClose: (() => void) | undefined;

  constructor(host: WatchHost, framing: WatchFraming) {
    this.#host = host;
    this.#framing = framing;
    this.#out = new ResponseBody(WATCH_STREAM_QUEUED_BYTES_MAX, { pulled: () => this.#host.watches.wake(), cancelled: () => this.close() });
  }

  /** The response's body. */
  get body(): ReadableStream<Uint8Array> {
    return this.#out.stream;
  }

  get ready(): boolean {
    return this.#out.ready;
  }

  get closed(): boolean {
    return this.#out.closed;
  }

  /**
   * Resolves once the consumer has room (or the stream closed): the requests' reader waits for it
   * before each request, so a client that sends requests and reads no answers queues at most one
   * request's answers past the bound.
   */
  whenWritable(): Promise<void> {
    return this.#out.whenWritable();
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** etcd's create: answered `created` at once (and `canceled` too when refused). */
  create(r: WatchCreate): Watcher | undefined {
    if (this.closed) return undefined;
    const current = this.#host.revision;
    // etcd watches from key \0 when none is given, and reads range_end \0 as "every key from key on".
    const key = r.key.length === 0 ? new Uint8Array([0]) : r.key;
    const span = keySpan(key, r.rangeEnd);
    const refuse = (reason: string) => this.#control(current, { watchId: -1, created: true, canceled: true, cancelReason: reason });
    if (span.kind === "between" && compareBytes(key, span.end) >= 0) return void refuse(EMPTY_RANGE);
    let id = r.watchId;
    if (id === 0) {
      while (this.#watchers.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    } else if (this.#watchers.has(id)) return void refuse(DUPLICATE_ID);
    const watcher = new Watcher(id, {
      span,
      startRevision: r.startRevision === 0 ? current + 1 : r.startRevision,
      prevKv: r.prevKv,
      noPut: r.noPut,
      noDelete: r.noDelete,
      progressNotify: r.progressNotify,
    }, this);
    this.#watchers.set(id, watcher);
    this.#control(current, { watchId: id, created: true });
    this.#host.watches.add(watcher);
    return watcher;
  }

  /** etcd's cancel: answered only when the watch existed. */
  cancel(id: number): void {
    const watcher = this.#watchers.get(id);
    if (!watcher) return;
    this.#watchers.delete(id);
    this.#host.watches.remove(watcher);
    this.#control(this.#host.revision, { watchId: id, canceled: true });
  }

  /** etcd's progress request: the current revision, for no watch in particular. */
  requestProgress(): void {
    this.#control(this.#host.revision, { watchId: -1 });
  }

  /** Writes a chunk whatever the queue holds (control answers and errors are few and small). */
  write(chunk: string): void {
    this.#out.write(chunk);
  }

  heartbeat(): void {
    if (this.#framing.heartbeat && this.ready) this.write(this.#framing.heartbeat);
  }

  /** Ends the stream (the client went away, or the member is stopping): its watchers go. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const w of this.#watchers.values()) this.#host.watches.remove(w);
    this.#watchers.clear();
    this.#out.close();
    this.onClose?.();
  }

  // ---- WatchSink ----

  deliver(watcher: Watcher, events: readonly WatchEvent[], revision: number): boolean {
    if (!this.ready) return false;
    const ctx = this.#host.header;
    const result: WatchResult = { watchId: watcher.id };
    const render = (some: readonly WatchEvent[]) => watchResponse(ctx, revision, result, eventsJson(some, watcher.spec.prevKv));
    this.#out.write(this.#framing.events(render, events));
    return true;
  }

  compacted(watcher: Watcher, compactRevision: number): void {
    this.#watchers.delete(watcher.id);
    // etcd's compacted answer carries no revision in its header.
    this.#control(0, { watchId: watcher.id, canceled: true, compactRevision });
  }

  progress(watcher: Watcher, revision: number): void {
    if (this.ready) this.#control(revision, { watchId: watcher.id });
  }

  #control(revision: number, result: WatchResult): void {
    this.write(this.#framing.control(watchResponse(this.#host.header, revision, result)));
  }
}

/** etcd's gateway: each response as `{"result":…}` on a line of its own. */
export const gatewayFraming: WatchFraming = {
  contentType: "application/json",
  control: (response) => `{"result":${response}}\n`,
  events: (render, events) => `{"result":${render(events)}}\n`,
};

/** Server-Sent Events: a response per revision with `id:` that revision; control answers without one. */
export const sseFraming: WatchFraming = {
  contentType: "text/event-stream",
  control: (response) => `data: ${response}\n\n`,
  events: (render, events) => {
    let out = "";
    let start = 0;
    for (let i = 1; i <= events.length; i++) {
      if (i < events.length && events[i].revision === events[start].revision) continue;
      out += `id: ${events[start].revision}\ndata: ${render(start === 0 && i === events.length ? events : events.slice(start, i))}\n\n`;
      start = i;
    }
    return out;
  },
  heartbeat: ": heartbeat\n\n",
};
