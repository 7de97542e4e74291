/**
 * One client's watch stream, whatever carries it (the JSON gateway's streamed response, SSE, a
 * gRPC Watch call): the watchers it created and etcd's rules for them.
 *
 * Owns: watch ids on the stream (etcd's: the lowest free one from 0 unless the client names one),
 * create, cancel and progress requests with etcd's answers, and being the hub's sink for the
 * stream's watchers — events go out only while the output has room; otherwise the hub is told the
 * consumer is behind and re-reads them from history once it is woken.
 * Never: encodes a response (the output does, in its surface's format) or buffers events itself.
 */
import type { LimitRefusals } from "../metrics/limit_refusals.ts";
import { WATCHERS_MAX, WATCHERS_PER_STREAM_MAX } from "../config/limits.ts";
import { type EtcdError, grpcErrorText } from "../etcd/errors.ts";
import { compareBytes, keySpan } from "../etcd/keys.ts";
import type { Bytes } from "../etcd/types.ts";
import { type WatchEvent, Watcher, type WatchHub, type WatchSink } from "./hub.ts";

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
  /** gRPC's fragment: a response too large for one message is sent in pieces. */
  fragment?: boolean;
}

/** A WatchResponse's fields beyond its header and events. */
export interface WatchResult {
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
}

/** What a session needs of its member. */
export interface WatchHost {
  readonly revision: number;
  readonly watches: WatchHub;
  /** Where a watcher refused by a limit is counted. */
  readonly refusals: Pick<LimitRefusals, "count">;
}

/** Where a session's responses go, in the surface's own format. */
export interface WatchOutput {
  /** Room for events now. */
  readonly ready: boolean;
  /** A response without events (created, canceled, progress), written whatever the room. */
  control(revision: number, result: WatchResult): void;
  /**
   * Events for a watcher, as of `revision` (called only while ready); `fragment`: the watcher
   * accepts a response too large for one message in pieces (gRPC's fragment).
   */
  events(watcher: Watcher, events: readonly WatchEvent[], revision: number, fragment: boolean): void;
  /** The stream ends: no more writes. */
  close(): void;
}

/** etcd's errors for a create it refuses (the watch is answered created and canceled). */
const EMPTY_RANGE = "mvcc: watcher range is empty";
const STREAM_FULL = `concord: a watch stream holds at most ${WATCHERS_PER_STREAM_MAX} watchers`;
const MEMBER_FULL = `concord: a member holds at most ${WATCHERS_MAX} watchers`;
const DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
/** Why the stream's caller may not read [key, rangeEnd) (auth), or undefined; every watch may when none is given. */
export type WatchPermission = (key: Uint8Array, rangeEnd: Uint8Array) => EtcdError | undefined;

export class WatchSession implements WatchSink {
  readonly #host: WatchHost;
  readonly #output: WatchOutput;
  readonly #watchers = new Map<number, Watcher>();
  /** Watchers that asked for fragmented responses. */
  readonly #fragmented = new Set<Watcher>();
  #nextId = 0;
  #ended = false;
  /** Called once the session is closed (by the client or by the member). */
  onClose: (() => void) | undefined;

  readonly #permitted: WatchPermission;

  constructor(host: WatchHost, output: WatchOutput, permitted: WatchPermission = () => undefined) {
    this.#host = host;
    this.#output = output;
    this.#permitted = permitted;
  }

  get ready(): boolean {
    return !this.#ended && this.#output.ready;
  }

  get closed(): boolean {
    return this.#ended;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** The watcher with this id on the stream, if any. */
  watcher(id: number): Watcher | undefined {
    return this.#watchers.get(id);
  }

  /** etcd's create: answered `created` at once (and `canceled` too when refused). */
  create(r: WatchCreate): Watcher | undefined {
    if (this.#ended) return undefined;
    const current = this.#host.revision;
    // etcd watches from key \0 when none is given, and reads range_end \0 as "every key from key on".
    const key = r.key.length === 0 ? new Uint8Array([0]) : r.key;
    const span = keySpan(key, r.rangeEnd);
    const refuse = (reason: string) => this.#output.control(current, { watchId: -1, created: true, canceled: true, cancelReason: reason });
    if (span.kind === "between" && compareBytes(key, span.end) >= 0) return void refuse(EMPTY_RANGE);
    if (this.#watchers.size >= WATCHERS_PER_STREAM_MAX) {
      this.#host.refusals.count("WATCHERS_PER_STREAM_MAX");
      return void refuse(STREAM_FULL);
    }
    if (this.#host.watches.size >= WATCHERS_MAX) {
      this.#host.refusals.count("WATCHERS_MAX");
      return void refuse(MEMBER_FULL);
    }
    // etcd refuses a watch its caller may not read with a created-and-canceled answer, the
    // check's error as grpc-go prints it for the reason.
    const denied = this.#permitted(key, r.rangeEnd);
    if (denied) return void refuse(grpcErrorText(denied));
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
    if (r.fragment) this.#fragmented.add(watcher);
    this.#output.control(current, { watchId: id, created: true });
    this.#host.watches.add(watcher);
    return watcher;
  }

  /** etcd's cancel: answered only when the watch existed. */
  cancel(id: number): void {
    const watcher = this.#watchers.get(id);
    if (!watcher) return;
    this.#watchers.delete(id);
    this.#fragmented.delete(watcher);
    this.#host.watches.remove(watcher);
    this.#output.control(this.#host.revision, { watchId: id, canceled: true });
  }

  /** etcd's progress request: the current revision, for no watch in particular. */
  requestProgress(): void {
    this.#output.control(this.#host.revision, { watchId: -1 });
  }

  /** Ends the stream (the client went away, or the member is stopping): its watchers go. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const w of this.#watchers.values()) this.#host.watches.remove(w);
    this.#watchers.clear();
    this.#fragmented.clear();
    this.#output.close();
    this.onClose?.();
  }

  // ---- WatchSink ----

  deliver(watcher: Watcher, events: readonly WatchEvent[], revision: number): boolean {
    if (!this.ready) return false;
    this.#output.events(watcher, events, revision, this.#fragmented.has(watcher));
    return true;
  }

  compacted(watcher: Watcher, compactRevision: number): void {
    this.#watchers.delete(watcher.id);
    this.#fragmented.delete(watcher);
    // etcd's compacted answer carries no revision in its header.
    this.#output.control(0, { watchId: watcher.id, canceled: true, compactRevision });
  }

  progress(watcher: Watcher, revision: number): void {
    if (this.ready) this.#output.control(revision, { watchId: watcher.id });
  }
}
