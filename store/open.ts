/**
 * Opens a member's store in its data dir and wires its parts together.
 *
 * Owns: the layout of a data dir — `<data-dir>/member/log.db` and `<data-dir>/member/state.db`,
 * each with SQLite's -wal and -shm beside it — and the identity fixed at first start.
 * Never: request semantics.
 */
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Checkpointer } from "./checkpointer.ts";
import { Meta } from "./meta.ts";
import { Mvcc } from "./mvcc.ts";
import { RaftLog } from "./raft_log.ts";
import { applyStateSchema } from "./schema.ts";
import { openDatabase } from "./sqlite.ts";
import { StateMachine } from "./state_machine.ts";

export interface Store {
  readonly mvcc: Mvcc;
  readonly log: RaftLog;
  readonly stateMachine: StateMachine;
  readonly checkpointer: Checkpointer;
  /** A 64-bit id fixed at first start: read it back, or derive and keep it. */
  identity(name: string, derive: () => bigint): bigint;
  /** Bytes the member's files take on disk, and of those the state database's live pages. */
  sizeBytes(): { total: number; inUse: number };
  close(): Promise<void>;
}

export async function openStore(dataDir: string): Promise<Store> {
  const dir = join(dataDir, "member");
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, "state.db");
  const db = await openDatabase(statePath);
  applyStateSchema(db);
  const meta = new Meta(db);
  const mvcc = new Mvcc(db, meta);
  const log = await RaftLog.open(dir);
  // There is no lease API yet (leases come with their own issue), so no lease exists.
  const stateMachine = new StateMachine(db, meta, mvcc, { exists: () => false });
  const checkpointer = new Checkpointer(statePath, stateMachine.committedIndex);
  const pageSize = db.prepare("PRAGMA page_size");
  const pageCount = db.prepare("PRAGMA page_count");
  const freePages = db.prepare("PRAGMA freelist_count");
  const fileBytes = (name: string) => {
    try {
      return statSync(join(dir, name)).size;
    } catch {
      return 0;
    }
  };
  return {
    mvcc,
    log,
    stateMachine,
    checkpointer,
    identity(name, derive) {
      const kept = meta.text(name);
      if (kept !== undefined) return BigInt(kept);
      const id = derive();
      db.transaction(() => meta.set(name, id.toString()));
      return id;
    },
    sizeBytes() {
      const size = pageSize.get<{ page_size: number }>()!.page_size;
      const pages = pageCount.get<{ page_count: number }>()!.page_count;
      const free = freePages.get<{ freelist_count: number }>()!.freelist_count;
      const total = ["state.db", "state.db-wal", "log.db", "log.db-wal"].reduce((n, f) => n + fileBytes(f), 0);
      return { total, inUse: size * (pages - free) };
    },
    async close() {
      stateMachine.commit();
      await checkpointer.close();
      await log.close();
      db.close();
    },
  };
}
