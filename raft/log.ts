/**
 * A node's view of the replicated log: its entries, how far they are durable (stable), committed
 * and applied.
 *
 * Owns: the log's invariants — applied ≤ committed, committed entries are never changed, an append
 * that conflicts truncates the tail (and pulls `stable` back so the replacement is persisted).
 * Never: I/O; the runtime persists what `unstable()` hands out and reports back through
 * `stableTo`.
 */
import type { PlantedBug } from "./planted_bugs.ts";
import type { Entry } from "./types.ts";

/** The entry just before the first one a log holds: (0, 0) for a log that was never compacted. */
export interface LogStart {
  index: number;
  term: number;
}

/** What term() answers for an index compacted away: equal to no real term, below every one. */
export const COMPACTED_TERM = -1;

export class RaftLog {
  /** entries[i] has index start.index + i + 1. */
  #entries: Entry[];
  /** The entries' data bytes, kept as they come and go (the runtime bounds the log's memory by it). */
  #bytes = 0;
  #start: LogStart;
  committed: number;
  applied: number;
  /** The last entry handed out for applying (applied, or being applied by the runtime). */
  handedOut = 0;
  /** The last index the runtime has made durable. */
  stable: number;
  readonly #plantedBug: PlantedBug | undefined;

  constructor(persisted: readonly Entry[], committed: number, start: LogStart = { index: 0, term: 0 }, plantedBug?: PlantedBug) {
    this.#plantedBug = plantedBug;
    this.#entries = [...persisted];
    this.#bytes = dataBytes(this.#entries);
    this.#start = { ...start };
    this.#entries.forEach((e, i) => {
      if (e.index !== start.index + i + 1) throw new Error(`raft log: persisted entry ${e.index} at position ${start.index + i + 1}`);
    });
    this.stable = this.lastIndex;
    this.committed = Math.max(start.index, Math.min(committed, this.lastIndex));
    this.applied = start.index;
  }

  /** The first index the log still holds. */
  get firstIndex(): number {
    return this.#start.index + 1;
  }

  get lastIndex(): number {
    return this.#start.index + this.#entries.length;
  }

  get lastTerm(): number {
    return this.term(this.lastIndex);
  }

  /** The term of the entry at `index`; 0 past the end, COMPACTED_TERM before the start. */
  term(index: number): number {
    if (index === this.#start.index) return this.#start.term;
    if (index < this.#start.index) return COMPACTED_TERM;
    return index <= this.lastIndex ? this.#entries[index - this.#start.index - 1].term : 0;
  }

  matchTerm(index: number, term: number): boolean {
    return index <= this.lastIndex && this.term(index) === term;
  }

  /**
   * Entries lo ≤ index < hi; lo must not be compacted away. With `maxBytes`, cut short before the
   * entry whose data would take the total past it — but never empty when entries were asked for,
   * so an entry larger than `maxBytes` comes alone (etcd's limitSize).
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.#start.index) throw new Error(`raft log: entries from ${lo} asked, but the log starts at ${this.firstIndex}`);
    const from = lo - this.#start.index - 1;
    let to = Math.min(hi - this.#start.index - 1, this.#entries.length);
    if (maxBytes !== Infinity) {
      let bytes = 0;
      for (let i = from; i < to; i++) {
        bytes += this.#entries[i].data.byteLength;
        if (bytes > maxBytes && i > from) {
          to = i;
          break;
        }
      }
    }
    return this.#entries.slice(from, to);
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as this one. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** Appends at the end (a leader's own proposals). */
  appendOwn(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex + 1) throw new Error(`raft log: own entry ${e.index} after ${this.lastIndex}`);
      this.#entries.push(e);
      this.#bytes += e.data.byteLength;
    }
  }

  /**
   * Takes a leader's entries following (prevIndex, prevTerm), which must match: keeps what agrees,
   * truncates at the first conflict. Returns the index of the last new entry.
   */
  appendFollowing(prevIndex: number, entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.lastIndex) {
        if (this.term(e.index) === e.term) continue;
        if (e.index <= this.committed) throw new Error(`raft log: conflict at committed index ${e.index}`);
        this.#truncateAfter(e.index - 1);
        this.stable = Math.min(this.stable, e.index - 1);
      }
      this.#entries.push(e);
      this.#bytes += e.data.byteLength;
    }
    const last = prevIndex + entries.length;
    if (this.#plantedBug === "truncateOnMatchingAppend" && entries.length > 0 && this.lastIndex > last && last >= this.committed) {
      this.#truncateAfter(last);
      this.stable = Math.min(this.stable, last);
    }
    return last;
  }

  /** The largest index ≤ `index` whose term is ≤ `term`: where a leader should look for a match. */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex);
    while (i > this.#start.index && this.term(i) > term) i--;
    return i;
  }

  commitTo(index: number): void {
    if (this.#plantedBug === "commitMovesBack" && index >= this.applied && index >= this.handedOut) this.committed = index;
    if (index > this.committed) {
      if (index > this.lastIndex) throw new Error(`raft log: commit ${index} beyond last index ${this.lastIndex}`);
      this.committed = index;
    }
  }

  unstable(): Entry[] {
    return this.slice(this.stable + 1, this.lastIndex + 1);
  }

  /** Whether unstable() has entries — asked on every pump of the runtime, so without slicing them. */
  hasUnstable(): boolean {
    return this.lastIndex > this.stable;
  }

  /** The last index toApply() may hand out, and the last one handed out or applied. */
  #applyRange(): { after: number; upTo: number } {
    const durable = this.#plantedBug === "applyUndurable" ? this.lastIndex : this.stable;
    return { after: Math.max(this.applied, this.handedOut), upTo: Math.min(this.committed, durable) };
  }

  /** Committed entries that are durable here and not yet handed out for applying. */
  toApply(): Entry[] {
    const { after, upTo } = this.#applyRange();
    return this.slice(after + 1, upTo + 1);
  }

  /** Whether toApply() has entries, without slicing them. */
  hasToApply(): boolean {
    const { after, upTo } = this.#applyRange();
    return upTo > after;
  }

  /** toApply(), counted as handed out: the same entries are never handed out twice. */
  takeToApply(): Entry[] {
    const entries = this.toApply();
    if (entries.length > 0) this.handedOut = entries[entries.length - 1].index;
    return entries;
  }

  /**
   * Forgets the entries up to `index`, which must be applied and durable: their effect lives in
   * the runtime's state from now on.
   */
  compact(index: number): void {
    if (index <= this.#start.index) return;
    if (index > this.applied || index > this.stable) {
      throw new Error(`raft log: compacting to ${index} beyond applied ${this.applied} or stable ${this.stable}`);
    }
    const term = this.term(index);
    this.#bytes -= dataBytes(this.#entries.slice(0, index - this.#start.index));
    this.#entries = this.#entries.slice(index - this.#start.index);
    this.#start = { index, term };
  }

  /** Data bytes of the entries the log holds. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The first index from which the entries up to `upTo` hold at most `maxBytes` of data — upTo + 1
   * when that entry alone holds more; the first index held when all of them fit.
   */
  firstWithinBytes(maxBytes: number, upTo: number): number {
    let bytes = 0;
    for (let i = Math.min(upTo, this.lastIndex); i > this.#start.index; i--) {
      bytes += this.#entries[i - this.#start.index - 1].data.byteLength;
      if (bytes > maxBytes) return i + 1;
    }
    return this.#start.index + 1;
  }

  /** Drops the entries after `index`. */
  #truncateAfter(index: number): void {
    this.#bytes -= dataBytes(this.#entries.slice(index - this.#start.index));
    this.#entries.length = index - this.#start.index;
  }

  /** Replaces the whole log with a snapshot's position: everything up to it is its state now. */
  restore(index: number, term: number): void {
    const kept = this.#plantedBug === "snapshotKeepsConflictingSuffix" ? this.#entries.filter((e) => e.index > index) : [];
    this.#entries = kept;
    this.#bytes = dataBytes(kept);
    this.#start = { index, term };
    this.committed = index;
    this.applied = index;
    this.handedOut = index;
    this.stable = index + kept.length;
  }

  stableTo(index: number, term: number): void {
    // Entries persisted may have been replaced since; only count them if they are still ours.
    const ours = this.#plantedBug === "stableWithoutTermCheck" ? index <= this.lastIndex : this.matchTerm(index, term);
    if (ours && index > this.stable) this.stable = index;
  }
}

function dataBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += e.data.byteLength;
  return bytes;
}
