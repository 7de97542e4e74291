/**
 * A node's view of the replicated log: its entries, how far they are durable (stable), committed
 * and applied.
 *
 * Owns: the log's invariants — applied ≤ committed, committed entries are never changed, an append
 * that conflicts truncates the tail (and pulls `stable` back so the replacement is persisted).
 * Never: I/O; the runtime persists what `unstable()` hands out and reports back through
 * `stableTo`.
 */
import type { Entry } from "./types.ts";

export class RaftLog {
  /** entries[i] has index i + 1; the core keeps the whole log (snapshots will bound it). */
  readonly #entries: Entry[];
  committed: number;
  applied = 0;
  /** The last index the runtime has made durable. */
  stable: number;

  constructor(persisted: readonly Entry[], committed: number) {
    this.#entries = [...persisted];
    this.#entries.forEach((e, i) => {
      if (e.index !== i + 1) throw new Error(`raft log: persisted entry ${e.index} at position ${i + 1}`);
    });
    this.stable = this.lastIndex;
    this.committed = Math.min(committed, this.lastIndex);
  }

  get lastIndex(): number {
    return this.#entries.length;
  }

  get lastTerm(): number {
    return this.term(this.lastIndex);
  }

  /** The term of the entry at `index`; 0 for index 0 and for indexes past the end. */
  term(index: number): number {
    return index >= 1 && index <= this.#entries.length ? this.#entries[index - 1].term : 0;
  }

  matchTerm(index: number, term: number): boolean {
    return index <= this.lastIndex && this.term(index) === term;
  }

  /** Entries lo ≤ index < hi. */
  slice(lo: number, hi: number): Entry[] {
    return this.#entries.slice(lo - 1, hi - 1);
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
        this.#entries.length = e.index - 1;
        this.stable = Math.min(this.stable, e.index - 1);
      }
      this.#entries.push(e);
    }
    return prevIndex + entries.length;
  }

  /** The largest index ≤ `index` whose term is ≤ `term`: where a leader should look for a match. */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex);
    while (i > 0 && this.term(i) > term) i--;
    return i;
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex) throw new Error(`raft log: commit ${index} beyond last index ${this.lastIndex}`);
      this.committed = index;
    }
  }

  unstable(): Entry[] {
    return this.slice(this.stable + 1, this.lastIndex + 1);
  }

  /** Committed entries that are durable here and not yet handed out for applying. */
  toApply(): Entry[] {
    return this.slice(this.applied + 1, Math.min(this.committed, this.stable) + 1);
  }

  stableTo(index: number, term: number): void {
    // Entries persisted may have been replaced since; only count them if they are still ours.
    if (this.matchTerm(index, term) && index > this.stable) this.stable = index;
  }
}
