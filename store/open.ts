/**
 * Opens a member's database in its data dir and wires the store's parts over it.
 *
 * Owns: the file layout of a data dir (`<data-dir>/member/concord.db`, with SQLite's -wal and -shm
 * beside it) and the identity scalars fixed at first start. Never: request semantics.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Meta } from "./meta.ts";
import { Mvcc } from "./mvcc.ts";
import { RaftLog } from "./raft_log.ts";
import { applySchema } from "./schema.ts";
import { type Database, openDatabase } from "./sqlite.ts";
import { StateMachine } from "./state_machine.ts";

export interface Store {
  readonly mvcc: Mvcc;
  readonly log: RaftLog;
  readonly stateMachine: StateMachine;
  /** A 64-bit id fixed at first start: read it back, or derive and keep it. */
  identity(name: string, derive: () => bigint): bigint;
  sizeBytes(): { total: number; inUse: number };
  close(): void;
}

export function databasePath(dataDir: string): string {
  return join(dataDir, "member", "concord.db");
}

export async function openStore(dataDir: string): Promise<Store> {
  mkdirSync(join(dataDir, "member"), { recursive: true });
  const db: Database = await openDatabase(databasePath(dataDir));
  applySchema(db);
  const meta = new Meta(db);
  const mvcc = new Mvcc(db, meta);
  const log = new RaftLog(db, meta);
  // There is no lease API yet (leases come with their own issue), so no lease exists.
  const stateMachine = new StateMachine(db, meta, mvcc, log, { exists: () => false });
  const pageSize = db.prepare("PRAGMA page_size");
  const pageCount = db.prepare("PRAGMA page_count");
  const freePages = db.prepare("PRAGMA freelist_count");
  return {
    mvcc,
    log,
    stateMachine,
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
      return { total: size * pages, inUse: size * (pages - free) };
    },
    close: () => db.close(),
  };
}
