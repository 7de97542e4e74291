/**
 * One client's watch stream over the JSON gateway: a watch session (watch/session.ts: ids,
 * create, cancel, progress, the hub's sink) whose responses are etcd's JSON in the gateway's
 * framing (`{"result":…}` per line) or as Server-Sent Events.
 *
 * Owns: rendering the session's responses and the response's bounded queue — the session sees no
 * room once that queue is full, and the hub is woken when it drains.
 * Never: the rules of a watch stream (the session has them) or buffers events it was not able to
 * queue (the hub re-reads them from history).
 */
import { WATCH_STREAM_QUEUED_BYTES_MAX } from "../config/limits.ts";
import type { HeaderContext } from "../etcd/types.ts";
import type { WatchEvent, Watcher } from "../watch/hub.ts";
import { type WatchCreate, type WatchHost as SessionHost, type WatchOutput, type WatchPermission, type WatchResult, WatchSession } from "../watch/session.ts";
import { ResponseBody } from "./response_body.ts";
import { eventsJson, watchResponse } from "./watch_json.ts";

/** What a stream needs of its member. */
export interface WatchHost extends SessionHost {
  readonly header: HeaderContext;
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

export class WatchStream {
  readonly #host: WatchHost;
  readonly #framing: WatchFraming;
  readonly #out: ResponseBody;
  readonly #session: WatchSession;

  constructor(host: WatchHost, framing: WatchFraming, permitted?: WatchPermission) {
    this.#host = host;
    this.#framing = framing;
    this.#out = new ResponseBody(WATCH_STREAM_QUEUED_BYTES_MAX, { pulled: () => this.#host.watches.wake(), cancelled: () => this.close() });
    const out = this.#out;
    const output: WatchOutput = {
      get ready() {
        return out.ready;
      },
      control: (revision, result) => this.write(framing.control(watchResponse(host.header, revision, result))),
      events: (watcher, events, revision) => {
        const result: WatchResult = { watchId: watcher.id };
        const render = (some: readonly WatchEvent[]) => watchResponse(host.header, revision, result, eventsJson(some, watcher.spec.prevKv));
        out.write(framing.events(render, events));
      },
      close: () => out.close(),
    };
    this.#session = new WatchSession(host, output, permitted);
  }

  /** The response's body. */
  get body(): ReadableStream<Uint8Array> {
    return this.#out.stream;
  }

  get ready(): boolean {
    return this.#out.ready;
  }

  get closed(): boolean {
    return this.#session.closed;
  }

  /** Called once the stream is closed (by the client or by the member). */
  set onClose(fn: (() => void) | undefined) {
    this.#session.onClose = fn;
  }

  get watcherCount(): number {
    return this.#session.watcherCount;
  }

  /**
   * Resolves once the consumer has room (or the stream closed): the requests' reader waits for it
   * before each request, so a client that sends requests and reads no answers queues at most one
   * request's answers past the bound.
   */
  whenWritable(): Promise<void> {
    return this.#out.whenWritable();
  }

  create(r: WatchCreate): Watcher | undefined {
    return this.#session.create(r);
  }

  cancel(id: number): void {
    this.#session.cancel(id);
  }

  requestProgress(): void {
    this.#session.requestProgress();
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
    this.#session.close();
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
