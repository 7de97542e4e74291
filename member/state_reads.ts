/**
 * The member's reads of its own state — ranges (at once when small, else in pages), read-only
 * txns, Concord's search and folder listings, etcd's Hash and HashKV — and the dropping of the
 * history a compaction left unreachable, a batch per tick, which must not take what a paged read
 * still needs (read pins).
 *
 * Owns: the rules for when the state may be read (not after a storage failure; not while a
 * snapshot from the leader replaces it), the pins, the compaction's steps and who waits for them.
 * Never: waits for the log (the member's read barrier comes first), checks permissions (the
 * member does, before), or proposes anything.
 */
import type { RefusingLimit } from "../metrics/limit_refusals.ts";
import { COMPACTION_BATCH_ROWS } from "../config/limits.ts";
import { type EtcdError, Errors as StoreErrors, isEtcdError } from "../etcd/errors.ts";
import { keySpan } from "../etcd/keys.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { EMPTY_BYTES, type RangeRequest, type RangeResponse, type TxnRequest, type TxnResponse } from "../etcd/types.ts";
import { range, readOnlyTxnAnswer, readOnlyTxnPlan } from "../store/applier.ts";
import type { FolderListing } from "../store/folders.ts";
import type { Store } from "../store/open.ts";
import { pagedRange, type PagedRangeHooks, pagedSearch, type Pin, readsAtOnce, type SearchAnswer } from "./paged_range.ts";

/** etcd's HashKV answer. */
export interface KvHash {
  hash: number;
  revision: number;
  compactRevision: number;
}

export interface StateReadsHooks {
  /** The member's store now (a snapshot from the leader replaces it). */
  store(): Store;
  /** A storage failure stopped the member: its state may have lost applied entries. */
  failed(): boolean;
  /** A snapshot from the leader is replacing the store. */
  installing(): boolean;
  /** Opens the state's batch for a read (the member commits it in time). */
  openForRead(): void;
  requestTimeoutMs(): number;
  /** A write to the state failed. */
  failStop(e: unknown): void;
  /** A read was refused by one of the member's limits. */
  refused(limit: RefusingLimit): void;
}

/** range_end "\0": every key from the key on (with an empty key: every key). */
const ALL_KEYS_END = new Uint8Array([0]);

export class StateReads {
  readonly #hooks: StateReadsHooks;
  /** Revisions paged reads are under way at; compaction drops nothing they need while it can help it. */
  readonly #pins = new Set<{ revision: number; intact: boolean }>();
  readonly #compactionWaiters: (() => void)[] = [];
  /** How a paged read reads the state, and holds compaction back. */
  readonly #paged: PagedRangeHooks;

  constructor(hooks: StateReadsHooks) {
    this.#hooks = hooks;
    this.#paged = {
      read: (fn) => (hooks.failed() ? MemberErrors.stopped : this.#read(() => fn(hooks.store().mvcc))),
      installing: () => hooks.installing(),
      now: () => performance.now(),
      timeoutMs: () => hooks.requestTimeoutMs(),
      pin: (revision) => this.#pin(revision),
      refused: (limit) => hooks.refused(limit),
    };
  }

  /** A range, its permissions checked (and, if linearizable, its read barrier passed). */
  range(request: RangeRequest): RangeResponse | EtcdError | Promise<RangeResponse | EtcdError> {
    if (this.#hooks.failed()) return MemberErrors.stopped;
    // The store is being replaced by the leader's snapshot: a client asks again (or another member).
    if (this.#hooks.installing()) return MemberErrors.timeout;
    if (readsAtOnce(request)) return this.#read(() => range(this.#hooks.store().mvcc, request));
    return pagedRange(request, this.#paged);
  }

  /**
   * A txn that only reads, its permissions checked and its barrier passed: the compares and the
   * ranges see the state as it is now; the ranges are read in pages (a txn of thousands of
   * full-range reads holds the member no longer than one page at a time).
   */
  async readOnlyTxn(txn: TxnRequest): Promise<TxnResponse | EtcdError> {
    if (this.#hooks.failed()) return MemberErrors.stopped;
    if (this.#hooks.installing()) return MemberErrors.timeout;
    const plan = this.#read(() => {
      const mvcc = this.#hooks.store().mvcc;
      return { ...readOnlyTxnPlan(mvcc, txn), revision: mvcc.revision, compactRevision: mvcc.compactRevision };
    });
    // The txn reads at once as far as compaction goes: a revision it names that is compacted now
    // fails it (the first such range in order, as etcd's), and its pin holds the rest.
    for (const r of plan.ranges) {
      if (r.revision > plan.revision) return StoreErrors.futureRevision;
      if (r.revision > 0 && r.revision < plan.compactRevision) return StoreErrors.compacted;
    }
    const lowest = Math.min(plan.revision, ...plan.ranges.map((r) => (r.revision > 0 ? r.revision : plan.revision)));
    const pin = this.#pin(lowest);
    try {
      const at = { revision: plan.revision, pin, deadline: performance.now() + this.#hooks.requestTimeoutMs(), answered: { bytes: 0 } };
      const found: (RangeResponse | EtcdError)[] = [];
      for (const request of plan.ranges) {
        const result = await pagedRange(request, this.#paged, at);
        found.push(result);
        if (isEtcdError(result)) break;
      }
      return readOnlyTxnAnswer(txn, plan.path, found, plan.revision);
    } finally {
      pin.release();
    }
  }

  /** Concord's search: live keys in a span whose key or value holds `needle`. */
  search(request: { key: Uint8Array; rangeEnd: Uint8Array; needle: Uint8Array; limit: number; after?: Uint8Array }): Promise<SearchAnswer | EtcdError> {
    if (this.#hooks.failed()) return Promise.resolve(MemberErrors.stopped);
    return pagedSearch(keySpan(request.key, request.rangeEnd), request.needle, request.after, request.limit, this.#paged);
  }

  /** The console's key browser: the children of a prefix (store/folders.ts). */
  folders(prefix: Uint8Array, separator: Uint8Array, start: Uint8Array | undefined, limit: number): (FolderListing & { revision: number }) | EtcdError {
    if (this.#hooks.failed()) return MemberErrors.stopped;
    if (this.#hooks.installing()) return MemberErrors.timeout;
    const store = this.#hooks.store();
    return this.#read(() => ({ ...store.folders.list(prefix, separator, start, limit), revision: store.mvcc.revision }));
  }

  /**
   * etcd's HashKV: a hash of the key space's history up to `revision` (0: now), the same number
   * etcd computes for the same history (store/state_hash.ts). Finishes a pending compaction first.
   */
  hashKv(revision: number): KvHash | EtcdError {
    return this.#unreadableForHash() ?? this.#read(() => {
      const { mvcc, hashes } = this.#hooks.store();
      const [current, compacted] = [mvcc.revision, mvcc.compactRevision];
      if (revision > 0 && revision <= compacted) return StoreErrors.compacted;
      if (revision > 0 && revision > current) return StoreErrors.futureRevision;
      const liveAt = (rev: number) => {
        const found = mvcc.range(keySpan(EMPTY_BYTES, ALL_KEYS_END), { revision: rev, limit: 1, countOnly: true });
        return !isEtcdError(found) && found.count > 0;
      };
      const hash = hashes.kv(revision === 0 ? current : revision, compacted, current, liveAt);
      return { hash, revision: current, compactRevision: compacted };
    });
  }

  /** etcd's Hash, Concord's way: a hash of all the replicated state (store/state_hash.ts). */
  hash(): { hash: number; revision: number } | EtcdError {
    return this.#unreadableForHash() ?? this.#read(() => {
      const { mvcc, hashes } = this.#hooks.store();
      return { hash: hashes.whole(mvcc.revision, mvcc.compactRevision), revision: mvcc.revision };
    });
  }

  /** On every tick of the member: one batch of a compaction's dropping, unless a paged read still needs it. */
  tick(): void {
    const { failed, installing } = this.#hooks;
    const mvcc = this.#hooks.store().mvcc;
    if (!failed() && !installing() && mvcc.compacting && !this.#pinnedBelow(mvcc.compactRevision)) this.#compactStep(false);
    // A snapshot installed, or a storage failure, can leave nothing to drop without a step to say so.
    if (this.#compactionWaiters.length > 0 && (failed() || (!installing() && !this.#hooks.store().mvcc.compacting))) {
      for (const done of this.#compactionWaiters.splice(0)) done();
    }
  }

  /** A snapshot replaced the store: paged reads below its compaction cannot go on (its history starts there). */
  installed(): void {
    const compactRevision = this.#hooks.store().mvcc.compactRevision;
    for (const pin of this.#pins) if (pin.revision < compactRevision) pin.intact = false;
  }

  /** Resolves once no compaction is left to finish (a compaction asked with `physical`). */
  compactionFinished(): Promise<void> {
    if (!this.#hooks.store().mvcc.compacting) return Promise.resolve();
    return new Promise((resolve) => this.#compactionWaiters.push(resolve));
  }

  /**
   * Why the state cannot be hashed now, if it cannot: a hash reads every row, so a pending
   * compaction is finished first — which may fail the member.
   */
  #unreadableForHash(): EtcdError | undefined {
    if (this.#hooks.failed()) return MemberErrors.stopped;
    if (this.#hooks.installing()) return MemberErrors.timeout;
    if (this.#hooks.store().mvcc.compacting) this.#compactStep(true);
    return this.#hooks.failed() ? MemberErrors.stopped : undefined;
  }

  /** Reads run inside the state's open batch (see state_machine.ts), which the member commits in time. */
  #read<T>(fn: () => T): T {
    this.#hooks.openForRead();
    return fn();
  }

  #pin(revision: number): Pin {
    const pin = { revision, intact: true };
    this.#pins.add(pin);
    return { release: () => void this.#pins.delete(pin), intact: () => pin.intact };
  }

  #pinnedBelow(compactRevision: number): boolean {
    for (const pin of this.#pins) if (pin.revision < compactRevision) return true;
    return false;
  }

  /**
   * Drops history a compaction left unreachable: one batch (a tick's share, as etcd's compactor
   * pauses between batches), or all that remains (before a hash, which reads every row — the
   * reads pinned below it can then not go on).
   */
  #compactStep(all: boolean): void {
    const mvcc = this.#hooks.store().mvcc;
    for (const pin of this.#pins) if (pin.revision < mvcc.compactRevision) pin.intact = false;
    try {
      this.#read(() => {
        while (mvcc.compactStep(COMPACTION_BATCH_ROWS) && all);
      });
    } catch (e) {
      return this.#hooks.failStop(e);
    }
    if (!mvcc.compacting) for (const done of this.#compactionWaiters.splice(0)) done();
  }
}
