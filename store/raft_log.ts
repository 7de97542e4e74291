/**
 * The replicated log as the member sees it: reads from log.db, writes handed to the log worker.
 *
 * Owns: the log's bounds and hard state in memory, and the ordering contract — persist() calls
 * complete in the order they were made, and each resolves only once its entries and hard state
 * are durable. Entries handed to persist() count in lastIndex at once (they are the log's tail
 * in flight); entries() reads only what is durable.
 * Never: decides what is committed or applies entries.
 */
import { join } from "node:path";
import { type HardState, type LogEntry, type LogRequest, packEntries } from "./log_types.ts";
import { Meta } from "./meta.ts";
import { applyLogSchema, EntryType } from "./schema.ts";
import { openDatabase, type Database, type Statement } from "./sqlite.ts";
import { WorkerChannel } from "./worker_channel.ts";

export type { HardState, LogEntry };

export class RaftLog {
  readonly #db: Database;
  readonly #writer: WorkerChannel<LogRequest>;
  readonly #read: Statement;
  readonly #meta: Meta;
  #firstIndex: number;
  #lastIndex: number;
  #hardState: HardState;
  /** The entry just before the first one kept (as of opening, or of the last restore). */
  start: { index: number; term: number };

  private constructor(db: Database, writer: WorkerChannel<LogRequest>) {
    this.#db = db;
    this.#writer = writer;
    const meta = new Meta(db);
    this.#meta = meta;
    this.#read = db.prepare("SELECT idx AS 'index', term, data, type FROM raft_log WHERE idx >= ? AND idx < ? ORDER BY idx");
    const bounds = db.prepare("SELECT min(idx) AS first, max(idx) AS last FROM raft_log").get<{ first: number | null; last: number | null }>();
    this.#lastIndex = bounds?.last ?? meta.number("log_compacted_index", 0);
    this.#firstIndex = bounds?.first ?? this.#lastIndex + 1;
    this.start = { index: this.#firstIndex - 1, term: meta.number("log_compacted_term", 0) };
    this.#hardState = { term: meta.number("hard_term", 0), vote: meta.text("hard_vote") ?? "", commit: meta.number("hard_commit", 0) };
  }

  /** `plantedUnsynced`: member/planted_bugs.ts's logAppendUnsynced, for the chaos harness's power cuts. */
  static async open(dir: string, plantedUnsynced = false): Promise<RaftLog> {
    const path = join(dir, "log.db");
    const db = await openDatabase(path);
    applyLogSchema(db);
    return new RaftLog(db, new WorkerChannel<LogRequest>(new URL("./log_worker.ts", import.meta.url), "log-writer", "log writer", path, { plantedUnsynced }));
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

  /** Makes entries (replacing any from the first one's index on) and the hard state durable. */
  persist(entries: LogEntry[], hardState: HardState | undefined): Promise<void> {
    if (entries.length > 0) {
      this.#lastIndex = entries[entries.length - 1].index;
      this.#firstIndex = Math.min(this.#firstIndex, entries[0].index);
    }
    if (hardState) this.#hardState = { ...hardState };
    const packed = packEntries(entries);
    return this.#writer.request({ kind: "persist", seq: 0, entries: packed, hardState }, [packed.data]);
  }

  /** Drops entries before `index`; the caller has made their effects durable elsewhere. */
  compactBefore(index: number): Promise<void> {
    if (index <= this.#firstIndex) return Promise.resolve();
    this.#firstIndex = index;
    return this.#writer.request({ kind: "compact", seq: 0, before: index });
  }

  /** Replaces the whole log by a snapshot's position (index, term): durable when it resolves. */
  restore(index: number, term: number): Promise<void> {
    this.#firstIndex = index + 1;
    this.#lastIndex = index;
    this.start = { index, term };
    if (this.#hardState.commit < index) this.#hardState = { ...this.#hardState, commit: index };
    return this.#writer.request({ kind: "restore", seq: 0, index, term });
  }

  /** A value kept with the log (this member's own, never replicated), if set. */
  metaText(name: string): string | undefined {
    return this.#meta.text(name);
  }

  /** Keeps a value with the log, durably. */
  setMeta(name: string, value: string): Promise<void> {
    return this.#writer.request({ kind: "meta", seq: 0, name, value });
  }

  /** Durable entries with lo <= index < hi. */
  entries(lo: number, hi: number): LogEntry[] {
    return this.#read.all<{ index: number; term: number; data: Uint8Array; type: number }>(lo, hi).map((r) => ({
      index: r.index,
      term: r.term,
      data: r.data,
      ...(r.type === EntryType.confChange ? { type: "confChange" as const } : {}),
    }));
  }

  async close(): Promise<void> {
    await this.#writer.close({ kind: "close", seq: 0 });
    this.#db.close();
  }
}
