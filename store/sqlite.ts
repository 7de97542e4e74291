/**
 * The one SQLite seam: bun:sqlite on Bun, node:sqlite everywhere else (Deno, Node).
 *
 * Owns: opening a database file and the handful of calls the store uses (exec, prepare,
 * run/get/all with positional parameters, transactions). It absorbs the drivers' differences:
 * a missing row is always `undefined`, rows are plain objects, BLOBs come back as Uint8Array.
 * Never: import anything else of the project (but its limits), or let a driver type escape this file.
 * Integers beyond 2^53 are never stored as INTEGER (the drivers disagree on them); callers keep
 * such values (lease ids) as TEXT.
 */
import { SQLITE_BUSY_TIMEOUT_MS } from "../config/limits.ts";

export type SqlValue = number | string | Uint8Array | null;
export type Row = Record<string, SqlValue>;

export interface Statement {
  run(...params: SqlValue[]): void;
  get<R extends Row = Row>(...params: SqlValue[]): R | undefined;
  all<R extends Row = Row>(...params: SqlValue[]): R[];
}

export interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  /** Runs `fn` inside BEGIN IMMEDIATE … COMMIT; rolls back and rethrows if it throws. */
  transaction<T>(fn: () => T): T;
  /**
   * A transaction the caller keeps open across many calls and ends with commit() or rollback();
   * `transaction()` may not run meanwhile.
   */
  begin(): void;
  commit(): void;
  rollback(): void;
  readonly inTransaction: boolean;
  close(): void;
}

type DriverStatement = {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
};
type Driver = { exec(sql: string): void; prepare(sql: string): DriverStatement; close(): void };

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

async function openDriver(path: string): Promise<Driver> {
  if (isBun) {
    const { Database } = await import("bun:sqlite");
    return new Database(path, { create: true }) as unknown as Driver;
  }
  const { DatabaseSync } = await import("node:sqlite");
  return new DatabaseSync(path) as unknown as Driver;
}

function wrapStatement(s: DriverStatement): Statement {
  // bun:sqlite answers a missing row with null, node:sqlite with undefined; both become undefined.
  return {
    run: (...params) => void s.run(...params),
    get: <R extends Row>(...params: SqlValue[]) => (s.get(...params) ?? undefined) as R | undefined,
    all: <R extends Row>(...params: SqlValue[]) => s.all(...params) as R[],
  };
}

export async function openDatabase(path: string): Promise<Database> {
  const driver = await openDriver(path);
  driver.exec(`PRAGMA busy_timeout=${SQLITE_BUSY_TIMEOUT_MS}`);
  const begin = driver.prepare("BEGIN IMMEDIATE");
  const commit = driver.prepare("COMMIT");
  const rollback = driver.prepare("ROLLBACK");
  let depth = 0;
  return {
    exec: (sql) => driver.exec(sql),
    prepare: (sql) => wrapStatement(driver.prepare(sql)),
    transaction<T>(fn: () => T): T {
      if (depth > 0) throw new Error("sqlite: nested transaction (a bug: callers own one transaction at a time)");
      depth++;
      begin.run();
      try {
        const result = fn();
        commit.run();
        return result;
      } catch (e) {
        // SQLite may have rolled back on its own (a full disk, an I/O error): the first error is what happened.
        try {
          rollback.run();
        } catch {
          // Nothing was left to roll back.
        }
        throw e;
      } finally {
        depth--;
      }
    },
    begin() {
      if (depth > 0) throw new Error("sqlite: begin inside a transaction (a bug)");
      depth++;
      begin.run();
    },
    commit() {
      if (depth !== 1) throw new Error("sqlite: commit without begin (a bug)");
      commit.run();
      depth--;
    },
    rollback() {
      if (depth !== 1) throw new Error("sqlite: rollback without begin (a bug)");
      rollback.run();
      depth--;
    },
    get inTransaction() {
      return depth > 0;
    },
    close: () => driver.close(),
  };
}
