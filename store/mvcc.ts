/**
 * etcd's MVCC key space on SQLite: one global revision, create/mod revision, version and lease
 * per key, history kept until compaction, tombstones for deletes, reads at past revisions.
 *
 * Owns: the `kv_history` and `kv_index` tables (see schema.ts), the current and compacted
 * revision. Writes go through a WriteTxn that the caller runs inside its own SQLite transaction;
 * a WriteTxn bumps the revision once however many keys it changes, as etcd's does.
 * Never: opens transactions, decides request semantics beyond MVCC (txn compares, put flags and
 * validation live in the applier), or knows about HTTP or Raft.
 */
import { Errors, type EtcdError } from "../etcd/errors.ts";
import { type KeySpan } from "../etcd/keys.ts";
import { HISTORY_WALK_CHANGES_MAX } from "../config/limits.ts";
import { type Bytes, EMPTY_BYTES, EventType, type KeyValue, type LeaseId, type MvccChange, NO_LEASE } from "../etcd/types.ts";
import type { Meta } from "./meta.ts";
import type { Database, SqlValue, Statement } from "./sqlite.ts";

type LiveRow = {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: string;
  value: Uint8Array;
};
type IndexRow = { key: Uint8Array; mod_revision: number; sub: number; version: number; create_revision: number; changes: number };
type HistoryRow = LiveRow & { sub: number; prev_revision: number; prev_sub: number };

/** What a range read found: key-values in key order (at most `limit`) and how many keys matched. */
export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  /** The store's revision the read was answered at (the current one, as etcd reports it). */
  revision: number;
}

/** What one page of a paged read found (Mvcc.rangePage). */
export interface RangePage {
  /** The key-values asked for whole, in key order. */
  kvs: KeyValue[];
  /** Keys of the page live at the revision, those in `kvs` included. */
  live: number;
  /** Bytes of keys and values in `kvs`. */
  bytes: number;
  /** The page's last key: the next page starts after it. */
  last: Bytes | undefined;
  /** Nothing of the span is left after this page. */
  done: boolean;
}

export interface RangeOptions {
  /** 0 means the current revision. */
  revision: number;
  /** At most this many key-values; 0 means all. */
  limit: number;
  countOnly: boolean;
}

function spanWhere(kind: KeySpan["kind"]): string {
  switch (kind) {
    case "single": return "i.key = ?";
    case "from": return "i.key >= ?";
    case "between": return "i.key >= ? AND i.key < ?";
  }
}

function spanParams(span: KeySpan): SqlValue[] {
  return span.kind === "between" ? [span.key, span.end] : [span.key];
}

/** A sub-revision past every real one: "all of this revision" in the compaction's progress. */
const ALL_SUBS = 2 ** 31;

const leaseText = (lease: LeaseId) => (lease === NO_LEASE ? "0" : lease.toString());

function toKeyValue(row: LiveRow): KeyValue {
  return {
    key: row.key,
    createRevision: row.create_revision,
    modRevision: row.mod_revision,
    version: row.version,
    lease: row.lease === "0" ? NO_LEASE : BigInt(row.lease),
    value: row.value,
  };
}

function deleteChange(key: Bytes, revision: number, prevRevision: number, prevSub: number): MvccChange {
  return {
    type: EventType.DELETE,
    kv: { key, createRevision: 0, modRevision: revision, version: 0, value: EMPTY_BYTES, lease: NO_LEASE },
    prevRevision,
    prevSub,
  };
}

function toChange(row: HistoryRow): MvccChange {
  if (row.version === 0) return deleteChange(row.key, row.mod_revision, row.prev_revision, row.prev_sub);
  return { type: EventType.PUT, kv: toKeyValue(row), prevRevision: row.prev_revision, prevSub: row.prev_sub };
}

type SpanStatements = { live: Statement; count: Statement; keys: Statement; liveKeys: Statement; keysAfter: Statement };

// The value by a correlated subquery rather than a join: the same plan, but bun's SQLite spends
// ~5 µs setting up a join (measured), which is more than the lookups themselves.
const LIVE_COLUMNS = "i.key, i.create_revision, i.mod_revision, i.version, i.lease, " +
  "(SELECT h.value FROM kv_history AS h WHERE h.mod_revision = i.mod_revision AND h.sub = i.sub) AS value";
const LIVE_JOIN = "kv_index AS i";
const INDEX_COLUMNS = "i.key, i.mod_revision, i.sub, i.version, i.create_revision, i.changes";

export class Mvcc {
  readonly #meta: Meta;
  readonly #bySpan: Record<KeySpan["kind"], SpanStatements>;
  readonly #indexOf: Statement;
  readonly #liveOf: Statement;
  readonly #historyAt: Statement;
  readonly #chainAt: Statement;
  readonly #skipAfter: Statement;
  readonly #writeSkip: Statement;
  readonly #deleteSkip: Statement;
  readonly #historyKeyAt: Statement;
  readonly #writeIndex: Statement;
  readonly #deleteIndex: Statement;
  readonly #appendHistory: Statement;
  readonly #historyAfter: Statement;
  readonly #deleteHistory: Statement;
  readonly #changesFrom: Statement;
  readonly #sizesFrom: Statement;
  readonly #search: Record<KeySpan["kind"], Statement>;
  readonly #searchSizes: Record<KeySpan["kind"], Statement>;
  readonly #countLive: Statement;
  /** Live keys, once counted (the first ask counts them; writes keep the count since). */
  #liveKeys: number | undefined;
  #revision: number;
  #savedRevision: number;
  #compactRevision: number;
  /** How far history has been dropped for the compaction: every change up to here has been looked at. */
  #compacted: { revision: number; sub: number };

  constructor(db: Database, meta: Meta) {
    this.#meta = meta;
    const statementsFor = (kind: KeySpan["kind"]): SpanStatements => {
      const where = spanWhere(kind);
      return {
        // One key needs no ORDER BY … LIMIT: with them, bun's SQLite takes 14 µs instead of 1 (measured).
        live: kind === "single"
          ? db.prepare(`SELECT ${LIVE_COLUMNS} FROM ${LIVE_JOIN} WHERE ${where} AND i.version > 0`)
          : db.prepare(`SELECT ${LIVE_COLUMNS} FROM ${LIVE_JOIN} WHERE ${where} AND i.version > 0 ORDER BY i.key LIMIT ?`),
        count: db.prepare(`SELECT count(*) AS n FROM kv_index AS i WHERE ${where} AND i.version > 0`),
        keys: db.prepare(`SELECT ${INDEX_COLUMNS} FROM kv_index AS i WHERE ${where} ORDER BY i.key`),
        liveKeys: db.prepare(`SELECT ${INDEX_COLUMNS} FROM kv_index AS i WHERE ${where} AND i.version > 0 ORDER BY i.key`),
        keysAfter: db.prepare(`SELECT ${INDEX_COLUMNS} FROM kv_index AS i WHERE ${where} AND i.key > ? ORDER BY i.key LIMIT ?`),
      };
    };
    this.#bySpan = { single: statementsFor("single"), from: statementsFor("from"), between: statementsFor("between") };
    this.#indexOf = db.prepare(`SELECT ${INDEX_COLUMNS} FROM kv_index AS i WHERE i.key = ?`);
    this.#liveOf = db.prepare(`SELECT ${LIVE_COLUMNS} FROM ${LIVE_JOIN} WHERE i.key = ? AND i.version > 0`);
    this.#historyKeyAt = db.prepare("SELECT key, create_revision, mod_revision, version, lease FROM kv_history WHERE mod_revision = ? AND sub = ?");
    this.#chainAt = db.prepare("SELECT mod_revision, version, prev_revision, prev_sub FROM kv_history WHERE mod_revision = ? AND sub = ?");
    this.#skipAfter = db.prepare("SELECT mod_revision, sub FROM kv_history_skips WHERE key = ? AND mod_revision > ? ORDER BY mod_revision, sub LIMIT 1");
    this.#writeSkip = db.prepare("INSERT INTO kv_history_skips (key, mod_revision, sub) VALUES (?, ?, ?)");
    this.#deleteSkip = db.prepare("DELETE FROM kv_history_skips WHERE key = ? AND mod_revision = ? AND sub = ?");
    this.#historyAt = db.prepare(
      "SELECT key, create_revision, mod_revision, version, lease, value, sub, prev_revision, prev_sub FROM kv_history WHERE mod_revision = ? AND sub = ?",
    );
    this.#writeIndex = db.prepare(
      "INSERT INTO kv_index (key, mod_revision, sub, create_revision, version, lease, changes) VALUES (?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET mod_revision = excluded.mod_revision, sub = excluded.sub, " +
        "create_revision = excluded.create_revision, version = excluded.version, lease = excluded.lease, changes = excluded.changes",
    );
    this.#deleteIndex = db.prepare("DELETE FROM kv_index WHERE key = ? AND mod_revision = ? AND sub = ?");
    this.#appendHistory = db.prepare(
      "INSERT INTO kv_history (mod_revision, sub, key, create_revision, version, lease, value, prev_revision, prev_sub) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#historyAfter = db.prepare(
      "SELECT mod_revision, sub, key, version, prev_revision, prev_sub FROM kv_history " +
        "WHERE (mod_revision, sub) > (?, ?) AND mod_revision <= ? ORDER BY mod_revision, sub LIMIT ?",
    );
    this.#deleteHistory = db.prepare("DELETE FROM kv_history WHERE mod_revision = ? AND sub = ?");
    this.#changesFrom = db.prepare(
      "SELECT key, create_revision, mod_revision, version, lease, value, sub, prev_revision, prev_sub FROM kv_history " +
        "WHERE mod_revision >= ? AND mod_revision <= ? ORDER BY mod_revision, sub",
    );
    // Every live key of the page, its value only where the key or the value holds the needle.
    const searchIn = (kind: KeySpan["kind"]) =>
      db.prepare(
        "SELECT i.key, i.create_revision, i.mod_revision, i.version, i.lease, " +
          "(SELECT CASE WHEN instr(i.key, ?) > 0 OR instr(h.value, ?) > 0 THEN h.value END " +
          "FROM kv_history AS h WHERE h.mod_revision = i.mod_revision AND h.sub = i.sub) AS value " +
          `FROM ${LIVE_JOIN} WHERE ${spanWhere(kind)} AND i.version > 0 AND i.key > ? ORDER BY i.key LIMIT ?`,
      );
    this.#search = { single: searchIn("single"), from: searchIn("from"), between: searchIn("between") };
    // The sizes of the values a page would look into (length() reads no value's bytes).
    const sizesIn = (kind: KeySpan["kind"]) =>
      db.prepare(
        "SELECT (SELECT length(h.value) FROM kv_history AS h WHERE h.mod_revision = i.mod_revision AND h.sub = i.sub) AS size " +
          `FROM ${LIVE_JOIN} WHERE ${spanWhere(kind)} AND i.version > 0 AND i.key > ? ORDER BY i.key LIMIT ?`,
      );
    this.#searchSizes = { single: sizesIn("single"), from: sizesIn("from"), between: sizesIn("between") };
    this.#countLive = db.prepare("SELECT count(*) AS n FROM kv_index WHERE version > 0");
    this.#sizesFrom = db.prepare(
      "SELECT mod_revision, length(value) AS size FROM kv_history WHERE mod_revision >= ? AND mod_revision <= ? " +
        "ORDER BY mod_revision, sub LIMIT ?",
    );
    this.#revision = meta.number("revision", 1);
    this.#savedRevision = this.#revision;
    this.#compactRevision = meta.number("compact_revision", -1);
    // A store from before compaction ran in steps was compacted whole at once.
    this.#compacted = {
      revision: meta.number("compacted_revision", Math.max(this.#compactRevision, 0)),
      sub: meta.number("compacted_sub", ALL_SUBS),
    };
  }

  /**
   * While set, every change a write makes is appended here (the watch hub sets it when someone
   * watches); unset, writes record nothing and cost nothing more.
   */
  recorder: MvccChange[] | undefined;

  /** The newest revision; a fresh store starts at 1, as etcd does. */
  get revision(): number {
    return this.#revision;
  }

  /** How many keys are live now (etcd's keys total). The first ask counts them all; writes keep the count after. */
  get liveKeys(): number {
    this.#liveKeys ??= this.#countLive.get<{ n: number }>()?.n ?? 0;
    return this.#liveKeys;
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
    if (rev !== currentRevision) return this.#rangeAt(statements, params, rev, options, currentRevision);
    const count = () => statements.count.get<{ n: number }>(...params)?.n ?? 0;
    if (options.countOnly) return { kvs: [], count: count(), revision: currentRevision };
    const limit = options.limit > 0 ? options.limit : -1;
    const kvs = (span.kind === "single" ? statements.live.all<LiveRow>(...params) : statements.live.all<LiveRow>(...params, limit))
      .map(toKeyValue);
    const truncated = limit > 0 && kvs.length === limit;
    return { kvs, count: truncated ? count() : kvs.length, revision: currentRevision };
  }

  /** A past revision: walk each key's chain of changes back to the newest one at or before it. */
  #rangeAt(statements: SpanStatements, params: SqlValue[], rev: number, options: RangeOptions, currentRevision: number): RangeResult {
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const entry of statements.keys.all<IndexRow>(...params)) {
      const at = this.#versionAt(entry, rev);
      if (at === undefined) continue;
      count++;
      if (options.countOnly || (options.limit > 0 && kvs.length >= options.limit)) continue;
      const row = this.#historyAt.get<HistoryRow>(at.revision, at.sub);
      if (row !== undefined) kvs.push(toKeyValue(row));
    }
    return { kvs, count, revision: currentRevision };
  }

  /**
   * One page of a read of `span` as it was at revision `rev` (not compacted away, not past the
   * current one): the keys after `after` (from the span's start when undefined) in key order, at
   * most `pageKeys` of them and — once a page holds any — about `pageBytes` of keys and values.
   * The first `collect` keys live at `rev` come back whole (without their values unless
   * `values`); the rest are only counted, from the index alone unless changed since `rev`. A read of a whole span in such pages, with the event
   * loop free between them, finds the same as one read at `rev` however the key space changes
   * meanwhile, as long as compaction drops nothing at or after `rev` (the caller sees to it).
   */
  rangePage(span: KeySpan, rev: number, after: Bytes | undefined, collect: number, pageKeys: number, pageBytes: number, values = true): RangePage {
    const rows = this.#bySpan[span.kind].keysAfter.all<IndexRow>(...spanParams(span), after ?? EMPTY_BYTES, pageKeys);
    const kvs: KeyValue[] = [];
    let live = 0;
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const current = row.mod_revision <= rev;
      if (current && row.version === 0) continue;
      const wanted = kvs.length < collect;
      if (current && !wanted) {
        live++;
        continue;
      }
      const at = current ? { revision: row.mod_revision, sub: row.sub } : this.#versionAt(row, rev);
      if (at === undefined) continue;
      live++;
      if (!wanted) continue;
      const found = (values ? this.#historyAt : this.#historyKeyAt).get<HistoryRow>(at.revision, at.sub);
      if (found === undefined) continue;
      const kv = toKeyValue(found);
      if (!values) kv.value = EMPTY_BYTES;
      kvs.push(kv);
      bytes += kv.key.length + kv.value.length;
      if (bytes >= pageBytes && i < rows.length - 1) return { kvs, live, bytes, last: row.key, done: false };
    }
    return { kvs, live, bytes, last: rows.at(-1)?.key, done: rows.length < pageKeys };
  }

  /**
   * Where the version of a key (its index row) in effect at `rev` is — following its chain back,
   * without reading values, from its first skip after `rev` (or its newest change): at most
   * HISTORY_WALK_CHANGES_MAX steps — or undefined when the key was not live then.
   */
  #versionAt(newest: IndexRow, rev: number): { revision: number; sub: number } | undefined {
    // A key changed fewer times than a skip's spacing has none: its chain is short anyway.
    const skip = newest.mod_revision > rev && newest.changes >= HISTORY_WALK_CHANGES_MAX ? this.#skipAfter.get<{ mod_revision: number; sub: number }>(newest.key, rev) : undefined;
    let at = skip ? { revision: skip.mod_revision, sub: skip.sub } : { revision: newest.mod_revision, sub: newest.sub };
    for (;;) {
      const row = this.#chainAt.get<{ mod_revision: number; version: number; prev_revision: number; prev_sub: number }>(at.revision, at.sub);
      // A missing row was compacted away: the key had no live version at `rev`.
      if (row === undefined) return undefined;
      if (row.mod_revision <= rev) return row.version === 0 ? undefined : at;
      if (row.prev_revision === 0) return undefined;
      at = { revision: row.prev_revision, sub: row.prev_sub };
    }
  }


  /**
   * The changes made in revisions `from` … `to`, in order and in whole revisions: at most
   * `maxChanges` changes and `maxBytes` of values, unless the first revision alone has more;
   * `through` is the last revision they cover completely. Compaction must not have passed `from`.
   */
  changesBetween(from: number, to: number, maxChanges: number, maxBytes: number): { changes: MvccChange[]; through: number } {
    // Sizes first (SQLite reads a value's length without its pages), then the values that fit.
    const sizes = this.#sizesFrom.all<{ mod_revision: number; size: number }>(from, to, maxChanges + 1);
    // A revision is never split; when the first one alone is over the limits it is read whole,
    // and nothing after it.
    let through = sizes.length > maxChanges ? sizes[0].mod_revision : to;
    let bytes = 0;
    for (let i = 0; i < sizes.length; i++) {
      bytes += sizes[i].size;
      const revision = sizes[i].mod_revision;
      if ((i === maxChanges || bytes > maxBytes) && revision !== sizes[0].mod_revision) {
        through = revision - 1;
        break;
      }
    }
    const rows = this.#changesFrom.all<HistoryRow>(from, through);
    if (from > this.#compactRevision) return { changes: rows.map(toChange), through };
    // At the compacted revision (a watch may start there) answer as if its history were already
    // dropped, whatever compactStep has reached: no delete, and no previous version.
    const compacted = this.#compactRevision;
    const visible = rows.filter((r) => r.mod_revision > compacted || r.version > 0);
    return { changes: visible.map((r) => toChange(r.mod_revision > compacted ? r : { ...r, prev_revision: 0, prev_sub: 0 })), through };
  }

  /**
   * One page of Concord's search (etcd has none): of the live keys in the span after `after` (from
   * its start when undefined), at most `pageKeys` looked at in key order — fewer when their values
   * pass `pageBytes`, but at least one — those whose key or value holds `needle` (bytes); `last` is
   * the last key looked at, `done` that none is left after it.
   */
  searchPage(
    span: KeySpan,
    needle: Bytes,
    after: Bytes | undefined,
    pageKeys: number,
    pageBytes: number,
  ): { kvs: KeyValue[]; last: Bytes | undefined; done: boolean } {
    const from = after ?? EMPTY_BYTES;
    // As many keys as fit in pageBytes of values (at least one): a page of large values looks into fewer.
    const sizes = this.#searchSizes[span.kind].all<{ size: number }>(...spanParams(span), from, pageKeys);
    let keys = 0;
    for (let bytes = 0; keys < sizes.length && (keys === 0 || bytes + sizes[keys].size <= pageBytes); keys++) bytes += sizes[keys].size;
    const rows = this.#search[span.kind].all<Omit<LiveRow, "value"> & { value: Uint8Array | null }>(needle, needle, ...spanParams(span), from, keys);
    const kvs: KeyValue[] = [];
    for (const row of rows) if (row.value !== null) kvs.push(toKeyValue(row as LiveRow));
    return { kvs, last: rows.at(-1)?.key, done: sizes.length < pageKeys && rows.length === sizes.length };
  }

  /** The key-value a change left (undefined for a delete or a change compacted away). */
  keyValueAt(revision: number, sub: number): KeyValue | undefined {
    if (revision === 0) return undefined;
    const row = this.#historyAt.get<HistoryRow>(revision, sub);
    return row === undefined || row.version === 0 ? undefined : toKeyValue(row);
  }

  /** Starts a write; the caller must hold a SQLite transaction until `end()`. */
  beginWrite(): WriteTxn {
    return new WriteTxn(this, this.#revision);
  }

  /**
   * etcd's compaction: from now on no read below `revision` is served. The history it leaves
   * unreachable is dropped afterwards, a batch at a time (compactStep), as etcd's compactor does in
   * the background — reads at or after `revision` find the same answers whatever has been dropped.
   */
  compact(revision: number): EtcdError | undefined {
    if (revision <= this.#compactRevision) return Errors.compacted;
    if (revision > this.#revision) return Errors.futureRevision;
    this.#compactRevision = revision;
    this.#meta.set("compact_revision", revision);
    // Where dropping stands, written with the revision: a store reopened before the first step
    // must not take the missing position for "all done".
    this.#meta.set("compacted_revision", this.#compacted.revision);
    this.#meta.set("compacted_sub", this.#compacted.sub);
    return undefined;
  }

  /** Whether history below the compacted revision is still to be dropped. */
  get compacting(): boolean {
    const { revision, sub } = this.#compacted;
    return revision < this.#compactRevision || (revision === this.#compactRevision && sub < ALL_SUBS);
  }

  /**
   * Drops the history up to `rows` more changes at or below the compacted revision make
   * unreachable, in revision order: each change's previous version of its key (only the newest at
   * or below the compacted revision stays), and a delete itself (with its index row, if still the
   * key's newest). Answers whether more remains. Writes land in the caller's transaction.
   */
  compactStep(rows: number): boolean {
    if (!this.compacting) return false;
    const page = this.#historyAfter.all<{ mod_revision: number; sub: number; key: Uint8Array; version: number; prev_revision: number; prev_sub: number }>(
      this.#compacted.revision, this.#compacted.sub, this.#compactRevision, rows,
    );
    for (const row of page) {
      if (row.prev_revision > 0) {
        this.#deleteHistory.run(row.prev_revision, row.prev_sub);
        this.#deleteSkip.run(row.key, row.prev_revision, row.prev_sub);
      }
      if (row.version === 0) {
        this.#deleteHistory.run(row.mod_revision, row.sub);
        this.#deleteSkip.run(row.key, row.mod_revision, row.sub);
        this.#deleteIndex.run(row.key, row.mod_revision, row.sub);
      }
    }
    const last = page.at(-1);
    this.#compacted = page.length < rows || !last ? { revision: this.#compactRevision, sub: ALL_SUBS } : { revision: last.mod_revision, sub: last.sub };
    this.#meta.set("compacted_revision", this.#compacted.revision);
    this.#meta.set("compacted_sub", this.#compacted.sub);
    return this.compacting;
  }

  /** Records the revision in the caller's transaction, if it moved since it was last recorded. */
  saveRevision(): void {
    if (this.#revision === this.#savedRevision) return;
    this.#meta.set("revision", this.#revision);
    this.#savedRevision = this.#revision;
  }

  // The primitives below are for WriteTxn only.

  liveKeyValue(key: Bytes): KeyValue | undefined {
    const row = this.#liveOf.get<LiveRow>(key);
    return row === undefined ? undefined : toKeyValue(row);
  }

  writeKey(key: Bytes, value: Bytes, lease: LeaseId, revision: number, sub: number): void {
    const prev = this.#indexOf.get<IndexRow>(key);
    const live = prev !== undefined && prev.version > 0;
    if (!live && this.#liveKeys !== undefined) this.#liveKeys++;
    const createRevision = live ? prev.create_revision : revision;
    const version = live ? prev.version + 1 : 1;
    const lt = leaseText(lease);
    const prevRevision = prev?.mod_revision ?? 0;
    const prevSub = prev?.sub ?? 0;
    const changes = this.#counted(key, (prev?.changes ?? 0) + 1, revision, sub);
    this.#writeIndex.run(key, revision, sub, createRevision, version, lt, changes);
    this.#appendHistory.run(revision, sub, key, createRevision, version, lt, value, prevRevision, prevSub);
    this.recorder?.push({
      type: EventType.PUT,
      kv: { key, createRevision, modRevision: revision, version, value, lease },
      prevRevision,
      prevSub,
    });
  }

  removeSpan(kind: KeySpan, revision: number, firstSub: number): number {
    const statements = this.#bySpan[kind.kind];
    const live = statements.liveKeys.all<IndexRow>(...spanParams(kind));
    live.forEach((prev, i) => {
      const sub = firstSub + i;
      this.#writeIndex.run(prev.key, revision, sub, 0, 0, "0", this.#counted(prev.key, prev.changes + 1, revision, sub));
      this.#appendHistory.run(revision, sub, prev.key, 0, 0, "0", EMPTY_BYTES, prev.mod_revision, prev.sub);
      this.recorder?.push(deleteChange(prev.key, revision, prev.mod_revision, prev.sub));
    });
    if (this.#liveKeys !== undefined) this.#liveKeys -= live.length;
    return live.length;
  }

  /** A key's change count with this change; every HISTORY_WALK_CHANGES_MAX-th change is a skip. */
  #counted(key: Bytes, changes: number, revision: number, sub: number): number {
    if (changes % HISTORY_WALK_CHANGES_MAX === 0) this.#writeSkip.run(key, revision, sub);
    return changes;
  }

  commitRevision(revision: number): void {
    this.#revision = revision;
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
    return this.#mvcc.liveKeyValue(key);
  }

  /** Writes one key; returns the write's revision. */
  put(key: Bytes, value: Bytes, lease: LeaseId): number {
    const revision = this.beginRevision + 1;
    this.#mvcc.writeKey(key, value, lease, revision, this.#changes);
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
