/**
 * The tables of one member's database and the pragmas it runs with.
 *
 * Owns: the schema (created on first open) and its version. Never: queries of its own beyond
 * creating what is missing.
 *
 * - meta: named scalars — revision, compact revision, applied index, identity.
 * - raft_log: the replicated log, one row per entry (index, term, command bytes).
 * - kv: the live key space as of the newest revision, one row per key.
 * - kv_history: every change of every key, kept until compaction; a tombstone is a row with
 *   version 0. Reads at a past revision and (later) watches are served from it.
 */
import type { Database } from "./sqlite.ts";

const SCHEMA_VERSION = 1;

export function applySchema(db: Database): void {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("PRAGMA foreign_keys=OFF");
  const version = db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new Error(`store: database schema ${version} is newer than this build understands (${SCHEMA_VERSION}); upgrade Concord`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(`
      CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY) WITHOUT ROWID, STRICT;
      CREATE TABLE raft_log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
      CREATE TABLE kv (
        key BLOB PRIMARY KEY, create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL,
        version INTEGER NOT NULL, lease TEXT NOT NULL, value BLOB NOT NULL
      ) WITHOUT ROWID, STRICT;
      CREATE TABLE kv_history (
        key BLOB NOT NULL, mod_revision INTEGER NOT NULL, sub INTEGER NOT NULL,
        create_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (key, mod_revision)
      ) WITHOUT ROWID, STRICT;
      CREATE INDEX kv_history_by_revision ON kv_history (mod_revision, sub);
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  });
}
