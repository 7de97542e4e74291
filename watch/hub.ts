/**
 * The watch hub: every watcher of a member, fed by what the member applies (etcd's
 * watchableStore).
 *
 * Owns: which watchers are synced (they get each revision's changes as it is applied) and which
 * are catching up (they read history from the store: a start revision in the past, or a consumer
 * that fell behind); filtering by span and by NOPUT/NODELETE; prev_kv; cancelling a watcher whose
 * next revision was compacted away. A consumer that cannot take more is never buffered for: its
 * watcher drops to catching up and reads from history once the consumer has room again, so a slow
 * reader costs neither memory nor the writers' time.
 * Never: encodes anything (sinks do), waits on a consumer, or reads the store while a snapshot is
 * being installed.
 */
import { WATCH_CATCH_UP_BYTES_MAX, WATCH_CATCH_UP_CHANGES_MAX, WATCH_CATCH_UP_RETRY_MS } from "../config/limits.ts";
import { compareBytes, type KeySpan } from "../etcd/keys.ts";
import { EventType, type KeyValue, type MvccChange } from "../etcd/types.ts";
import type { ChangeListener } from "../store/state_machine.ts";
import { type IndexPlace, placeOf, WatchIndex } from "./watch_index.ts";

/** One change as delivered: its prev_kv read once, when someone wants it. */
export class WatchEvent {
  readonly change: MvccChange;
  readonly #readPrev: (revision: number, sub: number) => KeyValue | undefined;
  #prev: KeyValue | undefined | null = null;
  /** Encodings of this event kept by sinks (e.g. with and without prev_kv). */
  readonly encoded: (string | undefined)[] = [];

  constructor(change: MvccChange, readPrev: (revision: number, sub: number) => KeyValue | undefined) {
    this.change = change;
    this.#readPrev = readPrev;
  }

  get revision(): number {
    return this.change.kv.modRevision;
  }

  /** The key-value before this change (undefined if the key did not exist or was compacted). */
  prevKv(): KeyValue | undefined {
    if (this.#prev === null) this.#prev = this.#readPrev(this.change.prevRevision, this.change.prevSub);
    return this.#prev;
  }
}

/** What a watcher wants. */
export interface WatchSpec {
  span: KeySpan;
  /** The first revision to deliver. */
  startRevision: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
}

/** Where a watcher's events go: a stream to one client, shared by the watchers on it. */
export interface WatchSink {
  /** Offers events (whole revisions, in order; `revision` is the header's); false when the consumer is behind. */
  deliver(watcher: Watcher, events: readonly WatchEvent[], revision: number): boolean;
  /** The watcher's next revision was compacted away; the hub has removed it. */
  compacted(watcher: Watcher, compactRevision: number, revision: number): void;
  /** A periodic progress notification for a synced watcher that asked for them. */
  progress(watcher: Watcher, revision: number): void;
  /** Whether the consumer would take more now. */
  readonly ready: boolean;
  /** Ends the stream (the member is stopping). */
  close(): void;
}

export class Watcher {
  readonly id: number;
  readonly spec: WatchSpec;
  readonly sink: WatchSink;
  /** The next revision this watcher has not been given. */
  nextRevision: number;
  /** Watchers with the same span and filters share one: they receive the same events. */
  readonly groupKey: string;
  /** Where its span is indexed. */
  readonly place: IndexPlace;
  /** It was synced once and fell behind (a slow consumer, a snapshot). */
  fellBehind = false;
  /** It was given events since the last progress notification (which it then does without, as in etcd). */
  hadEvents = false;
  /** The compaction revision when it was created. */
  compactRevisionAtStart = 0;

  constructor(id: number, spec: WatchSpec, sink: WatchSink) {
    this.id = id;
    this.spec = spec;
    this.sink = sink;
    this.nextRevision = spec.startRevision;
    const s = spec.span;
    const end = s.kind === "between" ? s.end.toHex() : s.kind;
    this.groupKey = `${s.key.toHex()}|${end}|${spec.noPut ? 1 : 0}${spec.noDelete ? 1 : 0}${spec.prevKv ? 1 : 0}`;
    this.place = placeOf(s);
  }

  matches(change: MvccChange): boolean {
    if (change.type === EventType.PUT ? this.spec.noPut : this.spec.noDelete) return false;
    const key = change.kv.key;
    const span = this.spec.span;
    switch (span.kind) {
      case "single": return compareBytes(key, span.key) === 0;
      case "from": return compareBytes(key, span.key) >= 0;
      case "between": return compareBytes(key, span.key) >= 0 && compareBytes(key, span.end) < 0;
    }
  }
}

/** What the hub reads from the member's store. */
export interface HubStore {
  readonly revision: number;
  readonly compactRevision: number;
  /** False while the store must not be read (a snapshot is being installed). */
  readonly readable: boolean;
  changesBetween(from: number, to: number, maxChanges: number, maxBytes: number): { changes: MvccChange[]; through: number };
  keyValueAt(revision: number, sub: number): KeyValue | undefined;
}


export interface HubOptions {
  /** How often synced watchers that asked for them get a progress notification, ms (0: never). */
  progressNotifyMs: number;
  /** How often watchers whose consumers were full are tried again, ms. */
  retryMs?: number;
  /** History read per catch-up pass at most: changes, and bytes of values (tests make them small). */
  catchUpChanges?: number;
  catchUpBytes?: number;
  /** The planted bug watchStartsOneEarly (member/planted_bugs.ts): only the chaos harness sets it. */
  plantedStartsOneEarly?: boolean;
}

type Group = { watchers: Set<Watcher>; sample: Watcher };

export class WatchHub implements ChangeListener {
  readonly #store: HubStore;
  /** Synced watchers, grouped by what they watch, and the groups indexed by span. */
  readonly #groups = new Map<string, Group>();
  readonly #index = new WatchIndex<Group>();
  readonly #catchingUp = new Set<Watcher>();
  #syncScheduled = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #progressTimer: ReturnType<typeof setInterval> | undefined;
  #count = 0;
  readonly #retryMs: number;
  readonly #catchUpChanges: number;
  readonly #catchUpBytes: number;
  readonly #plantedStartsOneEarly: boolean;

  constructor(store: HubStore, options: HubOptions) {
    this.#store = store;
    this.#retryMs = options.retryMs ?? WATCH_CATCH_UP_RETRY_MS;
    this.#catchUpChanges = options.catchUpChanges ?? WATCH_CATCH_UP_CHANGES_MAX;
    this.#catchUpBytes = options.catchUpBytes ?? WATCH_CATCH_UP_BYTES_MAX;
    this.#plantedStartsOneEarly = options.plantedStartsOneEarly ?? false;
    if (options.progressNotifyMs > 0) {
      this.#progressTimer = setInterval(() => this.notifyProgress(), options.progressNotifyMs);
      (this.#progressTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Watchers held now. */
  get size(): number {
    return this.#count;
  }

  /** Watchers catching up from history now (a start revision in the past, or a slow consumer). */
  get catchingUp(): number {
    return this.#catchingUp.size;
  }

  add(watcher: Watcher): void {
    this.#count++;
    watcher.compactRevisionAtStart = this.#store.compactRevision;
    if (this.#plantedStartsOneEarly && watcher.nextRevision > 1 && watcher.nextRevision <= this.#store.revision + 1) watcher.nextRevision--;
    if (watcher.nextRevision > this.#store.revision) this.#join(watcher);
    else {
      this.#catchingUp.add(watcher);
      this.#scheduleSync();
    }
  }

  remove(watcher: Watcher): void {
    if (this.#catchingUp.delete(watcher) || this.#leave(watcher)) this.#count--;
  }

  /** A sink has room again: its watchers catch up now rather than at the next retry. */
  wake(): void {
    if (this.#catchingUp.size > 0) this.#scheduleSync();
  }

  /**
   * The store was replaced (a snapshot): every watcher reads what it missed from the new history.
   * Synced watchers had everything up to `revisionBefore`, the old store's revision.
   */
  reset(revisionBefore: number): void {
    for (const group of this.#groups.values()) {
      this.#index.remove(group, group.sample.place);
      for (const w of group.watchers) {
        w.nextRevision = Math.max(w.nextRevision, revisionBefore + 1);
        w.fellBehind = true;
        this.#catchingUp.add(w);
      }
    }
    this.#groups.clear();
    this.#scheduleSync();
  }

  /** Ends every watcher's stream: the member is stopping (a server waits for open responses). */
  close(): void {
    clearInterval(this.#progressTimer);
    clearTimeout(this.#retry);
    const sinks = new Set<WatchSink>();
    for (const group of this.#groups.values()) for (const w of group.watchers) sinks.add(w.sink);
    for (const w of this.#catchingUp) sinks.add(w.sink);
    for (const sink of sinks) sink.close();
  }

  // ---- ChangeListener: called by the state machine as it applies ----

  wantsChanges(): boolean {
    return this.#groups.size > 0;
  }

  changed(changes: MvccChange[], revision: number): void {
    const readPrev = (r: number, s: number) => this.#store.keyValueAt(r, s);
    // Each group's events of this revision, in the order they were made.
    const mine = new Map<Group, WatchEvent[]>();
    for (const change of changes) {
      let event: WatchEvent | undefined;
      this.#index.candidates(change.kv.key, (group) => {
        if (!group.sample.matches(change)) return;
        event ??= new WatchEvent(change, readPrev);
        const list = mine.get(group);
        if (list) list.push(event);
        else mine.set(group, [event]);
      });
    }
    for (const [group, events] of mine) {
      for (const w of group.watchers) {
        if (w.nextRevision > revision) continue;
        const taken = this.#offer(w, events, revision);
        if (taken === undefined) continue;
        if (taken) {
          w.nextRevision = revision + 1;
          w.hadEvents = true;
          continue;
        }
        // The consumer is behind: this revision and what follows come from history later.
        w.nextRevision = revision;
        w.fellBehind = true;
        this.#leave(w);
        this.#catchingUp.add(w);
        this.#scheduleRetry();
      }
    }
  }

  /**
   * The periodic progress notification (the hub's timer calls it every interval): the current
   * revision to every synced watcher that asked for them, except those given events since the
   * last one — their events told them as much (etcd's rule). Watchers catching up get none, and
   * start the next interval afresh.
   */
  notifyProgress(): void {
    const revision = this.#store.revision;
    for (const w of this.#catchingUp) w.hadEvents = false;
    for (const group of this.#groups.values()) {
      for (const w of group.watchers) {
        if (!w.spec.progressNotify) continue;
        if (w.hadEvents) w.hadEvents = false;
        else this.#guard(w, () => w.sink.progress(w, revision));
      }
    }
  }

  // ---- internals ----

  /** Offers events to a watcher's consumer: whether it took them (undefined: it failed). */
  #offer(w: Watcher, events: readonly WatchEvent[], revision: number): boolean | undefined {
    // As #guard, without a closure per watcher per revision: this is the hot path.
    try {
      return w.sink.deliver(w, events, revision);
    } catch (error) {
      this.#drop(w, error);
      return undefined;
    }
  }

  /**
   * Calls a watcher's consumer. One that throws is a bug in one stream, which costs that stream
   * (closed, its watchers removed) and never the apply or the timer that called the hub.
   */
  #guard<T>(w: Watcher, call: () => T): T | undefined {
    try {
      return call();
    } catch (error) {
      this.#drop(w, error);
      return undefined;
    }
  }

  #drop(w: Watcher, error: unknown): void {
    console.error(`watch: closing a stream that failed: ${error instanceof Error ? error.stack : error}`);
    this.remove(w);
    try {
      w.sink.close();
    } catch (again) {
      console.error(`watch: the failed stream did not close either: ${again}`);
    }
  }

  #join(w: Watcher): void {
    let group = this.#groups.get(w.groupKey);
    if (!group) {
      group = { watchers: new Set(), sample: w };
      this.#groups.set(w.groupKey, group);
      this.#index.add(group, w.place);
    }
    group.watchers.add(w);
  }

  #leave(w: Watcher): boolean {
    const group = this.#groups.get(w.groupKey);
    if (!group?.watchers.delete(w)) return false;
    if (group.watchers.size === 0) {
      this.#groups.delete(w.groupKey);
      this.#index.remove(group, group.sample.place);
    }
    else if (group.sample === w) group.sample = group.watchers.values().next().value!;
    return true;
  }

  #scheduleSync(): void {
    if (this.#syncScheduled) return;
    this.#syncScheduled = true;
    setImmediate(() => {
      this.#syncScheduled = false;
      this.#sync();
    });
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#sync();
    }, this.#retryMs);
  }

  /** One catch-up pass: every watcher whose consumer has room reads what it missed from history. */
  #sync(): void {
    if (this.#catchingUp.size === 0) return;
    if (!this.#store.readable) return this.#scheduleRetry();
    const current = this.#store.revision;
    const compactRevision = this.#store.compactRevision;
    const ready: Watcher[] = [];
    for (const w of this.#catchingUp) {
      // etcd's rule for a start revision: below the compaction revision is gone, at it is served
      // (a delete made at the compaction revision was removed with it). That holds for a watch
      // asked to start there; any other watcher that reaches it is told it was compacted rather
      // than silently miss such a delete.
      const asAsked = !w.fellBehind && w.nextRevision === w.spec.startRevision && w.compactRevisionAtStart === compactRevision;
      if (w.nextRevision < compactRevision || (w.nextRevision === compactRevision && !asAsked)) {
        this.#catchingUp.delete(w);
        this.#count--;
        this.#guard(w, () => w.sink.compacted(w, compactRevision, current));
      } else if (w.nextRevision > current) {
        this.#catchingUp.delete(w);
        this.#join(w);
      } else if (w.sink.ready) ready.push(w);
    }
    if (ready.length > 0) {
      let from = Infinity;
      for (const w of ready) from = Math.min(from, w.nextRevision);
      const { changes, through: reached } = this.#store.changesBetween(from, current, this.#catchUpChanges, this.#catchUpBytes);
      const readPrev = (r: number, s: number) => this.#store.keyValueAt(r, s);
      const events = changes.map((c) => new WatchEvent(c, readPrev));
      for (const w of ready) {
        // Removed meanwhile: its stream failed (and took its other watchers with it) or was closed.
        if (!this.#catchingUp.has(w)) continue;
        const mine = events.filter((e) => e.revision >= w.nextRevision && w.matches(e.change));
        if (mine.length > 0) {
          if (!this.#offer(w, mine, current)) continue;
          w.hadEvents = true;
        }
        // A watcher further on than this read reached keeps its place: it had all of it already.
        w.nextRevision = Math.max(w.nextRevision, reached + 1);
        if (reached === current) {
          this.#catchingUp.delete(w);
          this.#join(w);
        }
      }
    }
    if (this.#catchingUp.size === 0) return;
    // Watchers still behind a full read go on at once; those whose consumers are full, later.
    if (ready.some((w) => this.#catchingUp.has(w) && w.sink.ready)) this.#scheduleSync();
    else this.#scheduleRetry();
  }
}
