/**
 * etcd's MVCC key space on SQLite: one global revision, create/mod revision, version and lease
 * per key, history rows kept until compaction, tombstones for deletes, reads at past revisions.
 *
 * Owns: the `kv` and `kv_history` tables, the current and compacted revision. Writes go through
 * a WriteTxn that the caller runs inside its own SQLite transaction; a WriteTxn bumps the
 * revision once however many keys it changes, as etcd's does.
 * Never: opens transactions, decides request semantics beyond MVCC (txn compares, put flags and
 * validation live in the applier), or knows about HTTP or Raft.
 */
import { Errors, type EtcdError } from "../etcd/errors.ts";
import { type KeySpan } from "../etcd/keys.ts";
import { type Bytes, EMPTY_BYTES, type KeyValue, type LeaseId, NO_LEASE } from "../etcd/types.ts";
import type { Meta } from "./meta.ts";
import type { Database, SqlValue, Statement } from "./sqlite.ts";

type KvRow = {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: string;
  value: Uint8Array;
};

/** What a range read found: key-values in key order (at most `limit`) and how many keys matched. */
export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  /** The store's revision the read was answered at (the current one, as etcd reports it). */
  revision: number;
}

export interface RangeOptions {
  /** 0 means the current revision. */
  revision: number;
  /** At most this many key-values; 0 means all. */
  limit: number;
  countOnly: boolean;
}

const KV_COLUMNS = "key, create_revision, mod_revision, version, lease, value";

function spanWhere(kind: KeySpan["kind"]): string {
  switch (kind) {
    case "single": return "key = ?";
    case "from": return "key >= ?";
    case "between": return "key >= ? AND key < ?";
  }
}

function spanParams(span: KeySpan): SqlValue[] {
  return span.kind === "between" ? [span.key, span.end] : [span.key];
}

function toKeyValue(row: KvRow): KeyValue {
  return {
    key: row.key,
    createRevision: row.create_revision,
    modRevision: row.mod_revision,
    version: row.version,
    lease: row.lease === "0" ? NO_LEASE : BigInt(row.lease),
    value: row.value,
  };
}

type SpanStatements = { fetch: Statement; count: Statement; fetchAt: Statement; countAt: Statement; keys: Statement; remove: Statement };

export class Mvcc {
  readonly #meta: Meta;
  readonly #bySpan: Record<KeySpan["kind"], SpanStatements>;
  readonly #getCurrent: Statement;
  readonly #upsert: Statement;
  readonly #appendHistory: Statement;
  readonly #compactHistory: Statement;
  #revision: number;
  #compactRevision: number;

  constructor(db: Database, meta: Meta) {
    this.#meta = meta;
    const statementsFor = (kind: KeySpan["kind"]): SpanStatements => {
      const where = spanWhere(kind);
      const latestAt = `SELECT ${KV_COLUMNS}, max(mod_revision) FROM kv_history WHERE ${where} AND mod_revision <= ? GROUP BY key`;
      return {
        fetch: db.prepare(`SELECT ${KV_COLUMNS} FROM kv WHERE ${where} ORDER BY key LIMIT ?`),
        count: db.prepare(`SELECT count(*) AS n FROM kv WHERE ${where}`),
        fetchAt: db.prepare(`SELECT ${KV_COLUMNS} FROM (${latestAt}) WHERE version > 0 ORDER BY key LIMIT ?`),
        countAt: db.prepare(`SELECT count(*) AS n FROM (${latestAt}) WHERE version > 0`),
        keys: db.prepare(`SELECT key FROM kv WHERE ${where} ORDER BY key`),
        remove: db.prepare(`DELETE FROM kv WHERE ${where}`),
      };
    };
    this.#bySpan = { single: statementsFor("single"), from: statementsFor("from"), between: statementsFor("between") };
    this.#getCurrent = db.prepare(`SELECT ${KV_COLUMNS} FROM kv WHERE key = ?`);
    this.#upsert = db.prepare(
      `INSERT INTO kv (${KV_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET ` +
        "create_revision = excluded.create_revision, mod_revision = excluded.mod_revision, " +
        "version = excluded.version, lease = excluded.lease, value = excluded.value",
    );
    this.#appendHistory = db.prepare(
      "INSERT INTO kv_history (key, mod_revision, sub, create_revision, version, lease, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    // Keep, per key, only its newest change at or below the compaction revision, and not even that
    // when it is a tombstone: exactly what a read at any revision >= the compaction revision needs.
    this.#compactHistory = db.prepare(
      "DELETE FROM kv_history AS h WHERE h.mod_revision <= ?1 AND (h.version = 0 OR EXISTS (" +
        "SELECT 1 FROM kv_history AS n WHERE n.key = h.key AND n.mod_revision > h.mod_revision AND n.mod_revision <= ?1))",
    );
    this.#revision = meta.number("revision", 1);
    this.#compactRevision = meta.number("compact_revision", -1);
  }

  /** The newest revision; a fresh store starts at 1, as etcd does. */
  get revision(): number {
    return this.#revision;
  }

  /** The revision of the last compaction; -1 before the first. */
  get compactRevision(): number {
    return this.#compactRevision;
  }

  /** Reads a span at `options.revision` (0: current), as of `currentRevision`. */
  range(span: KeySpan, options: RangeOptions, currentRevision = this.#revision): RangeResult | EtcdError {
    let rev = options.revision;
    if (rev > currentRevision) return Errors.futureRevision;
    if (rev <= 0) rev = currentRevision;
    if (rev < this.#compactRevision) return Errors.compacted;
    const statements = this.#bySpan[span.kind];
    const params = spanParams(span);
    const atCurrent = rev === currentRevision;
    const count = () =>
      (atCurrent ? statements.count.get<{ n: number }>(...params) : statements.countAt.get<{ n: number }>(...params, rev))?.n ?? 0;
    if (options.countOnly) return { kvs: [], count: count(), revision: currentRevision };
    const limit = options.limit > 0 ? options.limit : -1;
    const rows = atCurrent
      ? statements.fetch.all<KvRow>(...params, limit)
      : statements.fetchAt.all<KvRow>(...params, rev, limit);
    const kvs = rows.map(toKeyValue);
    const truncated = limit > 0 && kvs.length === limit;
    return { kvs, count: truncated ? count() : kvs.length, revision: currentRevision };
  }

  /** Starts a write; the caller must hold a SQLite transaction until `end()`. */
  beginWrite(): WriteTxn {
    return new WriteTxn(this, this.#revision);
  }

  /** Drops history no read at or after `revision` can need. */
  compact(revision: number): EtcdError | undefined {
    if (revision <= this.#compactRevision) return Errors.compacted;
    if (revision > this.#revision) return Errors.futureRevision;
    this.#compactHistory.run(revision);
    this.#compactRevision = revision;
    this.#meta.set("compact_revision", revision);
    return undefined;
  }

  // The write primitives below are for WriteTxn only.

  currentKeyValue(key: Bytes): KeyValue | undefined {
    const row = this.#getCurrent.get<KvRow>(key);
    return row === undefined ? undefined : toKeyValue(row);
  }

  writeKey(kv: KeyValue, sub: number): void {
    const lease = kv.lease === NO_LEASE ? "0" : kv.lease.toString();
    this.#upsert.run(kv.key, kv.createRevision, kv.modRevision, kv.version, lease, kv.value);
    this.#appendHistory.run(kv.key, kv.modRevision, sub, kv.createRevision, kv.version, lease, kv.value);
  }

  removeSpan(span: KeySpan, revision: number, firstSub: number): number {
    const statements = this.#bySpan[span.kind];
    const params = spanParams(span);
    const keys = statements.keys.all<{ key: Uint8Array }>(...params);
    if (keys.length === 0) return 0;
    statements.remove.run(...params);
    keys.forEach(({ key }, i) => this.#appendHistory.run(key, revision, firstSub + i, 0, 0, "0", EMPTY_BYTES));
    return keys.length;
  }

  commitRevision(revision: number): void {
    this.#revision = revision;
    this.#meta.set("revision", revision);
  }
}

/**
 * One write at revision `beginRevision + 1`, as etcd's storeTxnWrite: reads see its own changes;
 * the revision moves only if something changed.
 */
export class WriteTxn {
  readonly #mvcc: Mvcc;
  readonly beginRevision: number;
  #changes = 0;

  constructor(mvcc: Mvcc, beginRevision: number) {
    this.#mvcc = mvcc;
    this.beginRevision = beginRevision;
  }

  get changed(): boolean {
    return this.#changes > 0;
  }

  /** The revision reads inside this write see. */
  get revision(): number {
    return this.beginRevision + (this.#changes > 0 ? 1 : 0);
  }

  get compactRevision(): number {
    return this.#mvcc.compactRevision;
  }

  range(span: KeySpan, options: RangeOptions): RangeResult | EtcdError {
    return this.#mvcc.range(span, options, this.revision);
  }

  get(key: Bytes): KeyValue | undefined {
    return this.#mvcc.currentKeyValue(key);
  }

  /** Writes one key; returns the write's revision. */
  put(key: Bytes, value: Bytes, lease: LeaseId): number {
    const revision = this.beginRevision + 1;
    const prev = this.#mvcc.currentKeyValue(key);
    this.#mvcc.writeKey({
      key,
      value,
      lease,
      createRevision: prev?.createRevision ?? revision,
      modRevision: revision,
      version: (prev?.version ?? 0) + 1,
    }, this.#changes);
    this.#changes++;
    return revision;
  }

  /** Deletes every live key in the span; returns how many and the revision to report. */
  deleteRange(span: KeySpan): { deleted: number; revision: number } {
    const deleted = this.#mvcc.removeSpan(span, this.beginRevision + 1, this.#changes);
    this.#changes += deleted;
    return { deleted, revision: this.revision };
  }

  /** Makes the write's revision the store's; call once, still inside the caller's transaction. */
  end(): void {
    if (this.#changes > 0) this.#mvcc.commitRevision(this.beginRevision + 1);
  }
}
