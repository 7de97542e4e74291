/**
 * Writes the replicated log: appends entries and the hard state in one durable transaction, and
 * drops entries nobody needs any more.
 *
 * Owns: every write to log.db. It runs wherever it is put — on the log worker thread in a member,
 * in-line in tests. Never: reads for anyone else, or decides what to write.
 */
import type { LogEntry, HardState } from "./log_types.ts";
import { Meta } from "./meta.ts";
import { EntryType } from "./schema.ts";
import type { Database } from "./sqlite.ts";

export class LogWriter {
  readonly #db: Database;
  readonly #meta: Meta;
  readonly #append;
  readonly #truncateFrom;
  readonly #compactBefore;
  readonly #termOf;

  constructor(db: Database) {
    this.#db = db;
    this.#meta = new Meta(db);
    this.#append = db.prepare("INSERT INTO raft_log (idx, term, data, type) VALUES (?, ?, ?, ?)");
    this.#truncateFrom = db.prepare("DELETE FROM raft_log WHERE idx >= ?");
    this.#compactBefore = db.prepare("DELETE FROM raft_log WHERE idx < ?");
    this.#termOf = db.prepare("SELECT term FROM raft_log WHERE idx = ?");
  }

  /**
   * Appends entries — replacing any the log holds at or after the first one's index — and the
   * hard state, in one transaction: when this returns, both are on disk (synchronous=FULL).
   */
  persist(entries: readonly LogEntry[], hardState: HardState | undefined): void {
    this.#db.transaction(() => {
      if (entries.length > 0) this.#truncateFrom.run(entries[0].index);
      for (const e of entries) this.#append.run(e.index, e.term, e.data, e.type === "confChange" ? EntryType.confChange : EntryType.normal);
      if (hardState) {
        this.#meta.set("hard_term", hardState.term);
        this.#meta.set("hard_vote", hardState.vote);
        this.#meta.set("hard_commit", hardState.commit);
      }
    });
  }

  /**
   * Replaces the whole log by a snapshot's position: no entries, compacted to (index, term), and
   * committed at least that far.
   */
  restore(index: number, term: number): void {
    this.#db.transaction(() => {
      this.#truncateFrom.run(0);
      this.#meta.set("log_compacted_index", index);
      this.#meta.set("log_compacted_term", term);
      if (this.#meta.number("hard_commit", 0) < index) this.#meta.set("hard_commit", index);
    });
  }

  setMeta(name: string, value: string): void {
    this.#db.transaction(() => this.#meta.set(name, value));
  }

  /** Drops the entries before `index`; their effects are durable in the state already. */
  compactBefore(index: number): void {
    this.#db.transaction(() => {
      const term = this.#termOf.get<{ term: number }>(index - 1)?.term;
      if (term === undefined) return; // compacted already
      this.#compactBefore.run(index);
      this.#meta.set("log_compacted_index", index - 1);
      this.#meta.set("log_compacted_term", term);
    });
  }
}
