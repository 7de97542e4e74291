/**
 * Applies committed log entries to the key space, exactly once.
 *
 * Owns: the applied index. A batch of entries is applied in one SQLite transaction together with
 * the new applied index, so a crash can neither lose nor repeat an entry; the transaction does not
 * fsync (synchronous=NORMAL) because the log it replays from already is durable.
 * Never: decides what is committed, or serves requests that did not come through the log.
 */
import { type Command, type CommandResult, decodeCommand } from "../etcd/commands.ts";
import { deleteRange, type LeaseLookup, putRequest, txnRequest } from "./applier.ts";
import type { Meta } from "./meta.ts";
import type { Mvcc, WriteTxn } from "./mvcc.ts";
import type { LogEntry, RaftLog } from "./raft_log.ts";
import type { Database } from "./sqlite.ts";

/** Entries kept in the log behind the applied index, for members that fall behind. */
const LOG_RETAINED_ENTRIES = 5_000;
/** How many applied entries may pile up in the log before it is trimmed to the retained tail. */
const LOG_COMPACTION_ENTRIES = 10_000;

export class StateMachine {
  readonly #db: Database;
  readonly #meta: Meta;
  readonly #mvcc: Mvcc;
  readonly #log: RaftLog;
  readonly #leases: LeaseLookup;
  #appliedIndex: number;

  constructor(db: Database, meta: Meta, mvcc: Mvcc, log: RaftLog, leases: LeaseLookup) {
    this.#db = db;
    this.#meta = meta;
    this.#mvcc = mvcc;
    this.#log = log;
    this.#leases = leases;
    this.#appliedIndex = meta.number("applied_index", 0);
  }

  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Applies entries in index order, starting right after the applied index; one result each. */
  apply(entries: readonly LogEntry[]): CommandResult[] {
    if (entries.length === 0) return [];
    if (entries[0].index !== this.#appliedIndex + 1) {
      throw new Error(`state machine: entry ${entries[0].index} applied after ${this.#appliedIndex} (a gap or a repeat)`);
    }
    this.#db.exec("PRAGMA synchronous=NORMAL");
    const results = this.#db.transaction(() => {
      const out = entries.map((e) => (e.data.length === 0 ? undefined : this.#applyCommand(decodeCommand(e.data))));
      const last = entries[entries.length - 1].index;
      this.#meta.set("applied_index", last);
      if (last - this.#log.firstIndex >= LOG_COMPACTION_ENTRIES) this.#log.compactBefore(last - LOG_RETAINED_ENTRIES);
      return out;
    });
    this.#appliedIndex = entries[entries.length - 1].index;
    return results;
  }

  #applyCommand(command: Command): CommandResult {
    switch (command.op) {
      case "put": return this.#write((txn) => putRequest(txn, this.#leases, command.put));
      case "deleteRange": return this.#write((txn) => deleteRange(txn, command.deleteRange));
      case "txn": return this.#write((txn) => txnRequest(txn, this.#leases, command.txn));
      case "compact": {
        const err = this.#mvcc.compact(command.compact.revision);
        return err ?? { header: { revision: this.#mvcc.revision } };
      }
    }
  }

  #write<T>(fn: (txn: WriteTxn) => T): T {
    const txn = this.#mvcc.beginWrite();
    const result = fn(txn);
    txn.end();
    return result;
  }
}
