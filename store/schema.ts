/**
 * The tables of a member's two databases and the pragmas they run with.
 *
 * Owns: the schemas (created on first open) and their versions. Never: queries beyond creating
 * what is missing.
 *
 * log.db — the replicated log, written by the log writer with synchronous=FULL (an append is
 *   durable when it returns):
 *   - raft_log: one row per entry (index, term, bytes, and whether it changes the membership);
 *   - meta: the hard state (term, vote, commit), the index the log was compacted to, and the
 *     member's identity (member and cluster id: this member's own, so never in a snapshot).
 * state.db — what the log is applied to, written with synchronous=NORMAL (the log can replay it):
 *   - meta: revision, compact revision, applied index;
 *   - members: the cluster's members (id, name, URLs, learner or voter);
 *   - kv_history: every change of every key, in revision order (main, sub), kept until
 *     compaction; a delete is a tombstone row (version 0). Each row points at the key's previous
 *     change, so a key's versions form a chain from its newest change backwards. A rowid table,
 *     its (revision, sub) key in an index beside it: its rows carry values, and a rowid table's
 *     leaves hold rows up to a page where a WITHOUT ROWID table spills any over a quarter of one;
 *   - kv_history_skips: every HISTORY_WALK_CHANGES_MAX-th change of each key (by key, revision),
 *     where a read at a past revision starts its walk back along the chain, so no walk is longer;
 *   - kv_index: one row per key that has history — its newest change (a tombstone when the key
 *     is deleted now), create revision, version, lease, and how many changes it has had. The small rows keep the per-put random
 *     write small; values are written once, appended in revision order (etcd's bbolt backend and
 *     in-memory key index, in SQLite). Indexed by lease, for the keys a lease revoke deletes.
 *   - leases: every granted lease (decimal id), its TTL and the remaining TTL the leader last
 *     checkpointed (0: none, the whole TTL).
 *   - auth_users, auth_roles: etcd's users (password hash, roles) and roles (permissions as
 *     JSON); meta holds auth_enabled and auth_revision.
 *   - alarms: etcd's alarms raised (member id, NOSPACE or CORRUPT).
 *   It runs with incremental auto-vacuum, so a defragment frees pages while the member serves.
 * Two files because the log's fsync then runs on its own thread while the state is applied on the
 * main one; the applied index lives with the state it describes, so applying stays atomic.
 */
import { HISTORY_WALK_CHANGES_MAX } from "../config/limits.ts";
import type { Database } from "./sqlite.ts";

/** Brings a database to the newest schema: `steps[i]` takes it from version i to i + 1. */
export function migrate(db: Database, steps: readonly string[]): void {
  db.exec("PRAGMA journal_mode=WAL");
  const found = db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0;
  if (found > steps.length) {
    throw new Error(`store: database schema ${found} is newer than this build understands (${steps.length}); upgrade Concord`);
  }
  if (found === steps.length) return;
  db.transaction(() => db.exec(`${steps.slice(found).join("\n")}\nPRAGMA user_version = ${steps.length};`));
}

/** What PRAGMA auto_vacuum answers once incremental vacuum is on. */
const AUTO_VACUUM_INCREMENTAL = 2;

/** raft_log.type: what an entry carries (raft/'s Entry.type). */
export const EntryType = { normal: 0, confChange: 1 } as const;

export function applyLogSchema(db: Database): void {
  migrate(db, [
    `CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY) WITHOUT ROWID, STRICT;
     CREATE TABLE raft_log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, data BLOB NOT NULL) STRICT;`,
    // Membership changes are entries too, and must be known as such after a restart.
    `ALTER TABLE raft_log ADD COLUMN type INTEGER NOT NULL DEFAULT 0;`,
  ]);
  db.exec("PRAGMA synchronous=FULL");
}

/** state.db's schema, step by step (a test makes an older state with the first steps). */
export const STATE_SCHEMA_STEPS: readonly string[] = [`
    CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY) WITHOUT ROWID, STRICT;
    CREATE TABLE kv_history (
      mod_revision INTEGER NOT NULL, sub INTEGER NOT NULL, key BLOB NOT NULL,
      create_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease TEXT NOT NULL, value BLOB NOT NULL,
      prev_revision INTEGER NOT NULL, prev_sub INTEGER NOT NULL,
      PRIMARY KEY (mod_revision, sub)
    ) WITHOUT ROWID, STRICT;
    CREATE TABLE kv_index (
      key BLOB PRIMARY KEY, mod_revision INTEGER NOT NULL, sub INTEGER NOT NULL,
      create_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease TEXT NOT NULL
    ) WITHOUT ROWID, STRICT;
  `,
    // The cluster's members are replicated state: changed by applying entries, shipped in snapshots.
    `CREATE TABLE members (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, peer_urls TEXT NOT NULL, client_urls TEXT NOT NULL,
      is_learner INTEGER NOT NULL
    ) WITHOUT ROWID, STRICT;`,
    // Leases are replicated state too; a revoke finds its keys by the lease column.
    `CREATE TABLE leases (id TEXT PRIMARY KEY, ttl INTEGER NOT NULL, remaining INTEGER NOT NULL) WITHOUT ROWID, STRICT;
     CREATE INDEX kv_index_by_lease ON kv_index (lease, key) WHERE lease <> '0';`,
    // Users and roles (etcd's auth store); whether auth is on and its revision live in meta.
    `CREATE TABLE auth_users (name TEXT PRIMARY KEY, password TEXT NOT NULL, roles TEXT NOT NULL, no_password INTEGER NOT NULL) WITHOUT ROWID, STRICT;
     CREATE TABLE auth_roles (name TEXT PRIMARY KEY, perms TEXT NOT NULL) WITHOUT ROWID, STRICT;`,
    // Skips along each key's chain, so a read at a past revision walks at most
    // HISTORY_WALK_CHANGES_MAX changes: kv_index counts each key's changes, and every
    // HISTORY_WALK_CHANGES_MAX-th is recorded here (for history already there, counted in order).
    `ALTER TABLE kv_index ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE kv_history_skips (
       key BLOB NOT NULL, mod_revision INTEGER NOT NULL, sub INTEGER NOT NULL, PRIMARY KEY (key, mod_revision, sub)
     ) WITHOUT ROWID, STRICT;
     UPDATE kv_index SET changes = c.n FROM (SELECT key, count(*) AS n FROM kv_history GROUP BY key) AS c WHERE c.key = kv_index.key;
     INSERT INTO kv_history_skips SELECT key, mod_revision, sub FROM (
       SELECT key, mod_revision, sub, row_number() OVER (PARTITION BY key ORDER BY mod_revision, sub) AS n FROM kv_history
     ) WHERE n % ${HISTORY_WALK_CHANGES_MAX} = 0;`,
    // etcd's alarms (NOSPACE, CORRUPT) are replicated state: raised and cleared by applying entries.
    `CREATE TABLE alarms (member_id TEXT NOT NULL, alarm TEXT NOT NULL, PRIMARY KEY (member_id, alarm)) WITHOUT ROWID, STRICT;`,
    // kv_history as a rowid table: in a WITHOUT ROWID table (a b-tree of whole rows) a row over
    // about a quarter of a page spills into an overflow page of its own, so a 1 KB value took
    // 4.6 KB on disk; a rowid table's leaves hold rows up to a whole page. (mod_revision, sub) stays
    // its unique key, in an index beside it.
    `CREATE TABLE kv_history_rows (
      mod_revision INTEGER NOT NULL, sub INTEGER NOT NULL, key BLOB NOT NULL,
      create_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease TEXT NOT NULL, value BLOB NOT NULL,
      prev_revision INTEGER NOT NULL, prev_sub INTEGER NOT NULL,
      PRIMARY KEY (mod_revision, sub)
    ) STRICT;
    INSERT INTO kv_history_rows SELECT mod_revision, sub, key, create_revision, version, lease, value, prev_revision, prev_sub
      FROM kv_history ORDER BY mod_revision, sub;
    DROP TABLE kv_history;
    ALTER TABLE kv_history_rows RENAME TO kv_history;`,
];

export function applyStateSchema(db: Database): void {
  // Free pages can be handed back to the file system a batch at a time (a defragment): set on a
  // new database before its first table (only then: on one in use it takes a write lock); an
  // older one is rewritten once to get it.
  if (db.prepare("PRAGMA page_count").get<{ page_count: number }>()?.page_count === 0) db.exec("PRAGMA auto_vacuum=INCREMENTAL");
  migrate(db, STATE_SCHEMA_STEPS);
  if (db.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()?.auto_vacuum !== AUTO_VACUUM_INCREMENTAL) {
    db.exec("PRAGMA auto_vacuum=INCREMENTAL");
    db.exec("VACUUM");
  }
  db.exec("PRAGMA synchronous=NORMAL");
  // Checkpoints run on the checkpoint worker, never on the applying thread.
  db.exec("PRAGMA wal_autocheckpoint=0");
  // A batch holds the pages it touched until its commit, and reads should not pay a syscall per
  // page: a 64 MiB page cache and the file mapped for reads.
  db.exec("PRAGMA cache_size=-65536");
  db.exec("PRAGMA mmap_size=268435456");
}
