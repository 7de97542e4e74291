/**
 * The replicated log and the hard state (term, vote, commit) in SQLite.
 *
 * Owns: the `raft_log` table and the hard-state scalars. `persist` writes entries and hard state in
 * one durable transaction (synchronous=FULL): when it returns they survive a crash.
 * Never: decides what is committed (consensus does) or applies entries (the state machine does).
 */
import type { Meta } from "./meta.ts";
import type { Database } from "./sqlite.ts";

export interface LogEntry {
  index: number;
  term: number;
  /** A command's encoding; empty for entries that carry none (a new leader's first entry). */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  /** The member voted for in `term`, by id (hex, as etcd prints ids); "" for none. */
  vote: string;
  commit: number;
}

export class RaftLog {
  readonly #db: Database;
  readonly #meta: Meta;
  readonly #append;
  readonly #truncateFrom;
  readonly #compactBefore;
  readonly #read;
  #firstIndex: number;
  #lastIndex: number;
  #hardState: HardState;

  constructor(db: Database, meta: Meta) {
    this.#db = db;
    this.#meta = meta;
    this.#append = db.prepare("INSERT INTO raft_log (idx, term, data) VALUES (?, ?, ?)");
    this.#truncateFrom = db.prepare("DELETE FROM raft_log WHERE idx >= ?");
    this.#compactBefore = db.prepare("DELETE FROM raft_log WHERE idx < ?");
    this.#read = db.prepare("SELECT idx AS 'index', term, data FROM raft_log WHERE idx >= ? AND idx < ? ORDER BY idx");
    const bounds = db.prepare("SELECT min(idx) AS first, max(idx) AS last FROM raft_log").get<{ first: number | null; last: number | null }>();
    this.#lastIndex = bounds?.last ?? meta.number("log_compacted_index", 0);
    this.#firstIndex = bounds?.first ?? this.#lastIndex + 1;
    this.#hardState = { term: meta.number("hard_term", 0), vote: meta.text("hard_vote") ?? "", commit: meta.number("hard_commit", 0) };
  }

  get firstIndex(): number {
    return this.#firstIndex;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  get hardState(): HardState {
    return this.#hardState;
  }

  /**
   * Durably appends entries (replacing any at or after the first one's index) and the hard state,
   * in one transaction and one fsync.
   */
  persist(entries: readonly LogEntry[], hardState: HardState): void {
    this.#db.exec("PRAGMA synchronous=FULL");
    this.#db.transaction(() => {
      if (entries.length > 0 && entries[0].index <= this.#lastIndex) this.#truncateFrom.run(entries[0].index);
      for (const e of entries) this.#append.run(e.index, e.term, e.data);
      const hs = this.#hardState;
      if (hardState.term !== hs.term) this.#meta.set("hard_term", hardState.term);
      if (hardState.vote !== hs.vote) this.#meta.set("hard_vote", hardState.vote);
      if (hardState.commit !== hs.commit) this.#meta.set("hard_commit", hardState.commit);
    });
    if (entries.length > 0) {
      this.#lastIndex = entries[entries.length - 1].index;
      if (this.#firstIndex > entries[0].index) this.#firstIndex = entries[0].index;
    }
    this.#hardState = { ...hardState };
  }

  /** Entries with lo <= index < hi that the log still holds. */
  entries(lo: number, hi: number): LogEntry[] {
    return this.#read.all<{ index: number; term: number; data: Uint8Array }>(lo, hi);
  }

  /**
   * Drops entries before `index` (they are applied and no longer needed); runs inside the
   * caller's transaction.
   */
  compactBefore(index: number): void {
    if (index <= this.#firstIndex) return;
    this.#compactBefore.run(index);
    this.#meta.set("log_compacted_index", index - 1);
    this.#firstIndex = index;
  }
}
