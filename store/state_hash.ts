/**
 * Hashes of the replicated state, for telling whether members hold the same data.
 *
 * - kv(): etcd's HashKV exactly — a CRC-32C of the bucket name "key", then of each change up to a
 *   revision as etcd's bbolt holds it (its revision as 8 bytes big-endian, '_', the sub-revision
 *   likewise, and 't' for a delete; then its mvccpb.KeyValue in protobuf, a delete carrying only
 *   its key), in revision order. Changes at or below the compacted revision count only while they
 *   are still their key's newest at that revision (etcd's keep set, which makes the hash the same
 *   before and after a member compacts physically) — unless no key is live at it, where etcd keeps
 *   them all (its keep set is empty then). Concord holds history as etcd does, so a Concord member
 *   and an etcd member that applied the same requests answer the same number.
 * - whole(): Concord's Hash — etcd's covers every bucket of its bbolt file, which Concord does not
 *   have; this covers everything Concord replicates instead (the key space's whole history, the
 *   revisions, the leases with their checkpoints and the members), so members that applied the
 *   same entries answer the same number. It is comparable between Concord members only.
 *
 * Owns: those two computations, read-only over kv_history, kv_index, leases and members (mvcc.ts,
 * leases.ts and members.ts own the tables). Never: writes, or reads more than HASH_READ_ROWS_MAX
 * changes at once (values are up to 1.5 MiB each).
 */
import { HASH_READ_ROWS_MAX } from "../config/limits.ts";
import { Crc32c } from "./crc32c.ts";
import type { Database, Statement } from "./sqlite.ts";

type ChangeRow = {
  mod_revision: number;
  sub: number;
  key: Uint8Array;
  create_revision: number;
  version: number;
  lease: string;
  value: Uint8Array;
};

const encoder = new TextEncoder();

/** A growable buffer for one record's bytes. */
class Bytes {
  #buf = new Uint8Array(256);
  #len = 0;
  reset(): void {
    this.#len = 0;
  }
  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    bigger.set(this.#buf.subarray(0, this.#len));
    this.#buf = bigger;
  }
  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  /** 8 bytes big-endian, as etcd's revToBytes. */
  int64BigEndian(n: number): void {
    const v = BigInt.asUintN(64, BigInt(n));
    for (let shift = 56n; shift >= 0n; shift -= 8n) this.byte(Number((v >> shift) & 0xffn));
  }
  varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  get view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/** mvccpb.KeyValue's fields as gogoproto writes them: in field order, zero values left out. */
function writeKeyValue(out: Bytes, row: ChangeRow): void {
  const tagged = (field: number, wire: number) => out.varint((field << 3) | wire);
  const bytesField = (field: number, b: Uint8Array) => {
    if (b.length === 0) return;
    tagged(field, 2);
    out.varint(b.length);
    out.bytes(b);
  };
  const intField = (field: number, n: number | bigint) => {
    if (n === 0 || n === 0n) return;
    tagged(field, 0);
    out.varint(n);
  };
  bytesField(1, row.key);
  // A delete is stored as KeyValue{Key: key} alone.
  if (row.version === 0) return;
  intField(2, row.create_revision);
  intField(3, row.mod_revision);
  intField(4, row.version);
  bytesField(5, row.value);
  intField(6, BigInt(row.lease));
}

/** One change as etcd's bbolt key bucket holds it: its revision bytes, then its KeyValue. */
function writeChange(out: Bytes, row: ChangeRow): void {
  out.int64BigEndian(row.mod_revision);
  out.byte(0x5f); // '_'
  out.int64BigEndian(row.sub);
  if (row.version === 0) out.byte(0x74); // 't': a tombstone
  writeKeyValue(out, row);
}

export class StateHashes {
  readonly #changesAfter: Statement;
  readonly #keysChanged: Statement;
  readonly #anyLiveNow: Statement;
  readonly #leases: Statement;
  readonly #members: Statement;

  constructor(db: Database) {
    this.#changesAfter = db.prepare(
      "SELECT mod_revision, sub, key, create_revision, version, lease, value FROM kv_history " +
        "WHERE (mod_revision, sub) > (?, ?) AND mod_revision <= ? ORDER BY mod_revision, sub LIMIT ?",
    );
    this.#keysChanged = db.prepare("SELECT DISTINCT key FROM kv_history WHERE mod_revision > ? AND mod_revision <= ?");
    this.#anyLiveNow = db.prepare("SELECT EXISTS (SELECT 1 FROM kv_index WHERE version > 0) AS live");
    this.#leases = db.prepare("SELECT id, ttl, remaining FROM leases ORDER BY id");
    this.#members = db.prepare("SELECT id, name, peer_urls, client_urls, is_learner FROM members ORDER BY id");
  }

  /** Feeds every change up to `revision` to `each`, in revision order, a page at a time. */
  #eachChange(revision: number, each: (row: ChangeRow) => void): void {
    let after = { revision: -1, sub: -1 };
    for (;;) {
      const page = this.#changesAfter.all<ChangeRow>(after.revision, after.sub, revision, HASH_READ_ROWS_MAX);
      for (const row of page) each(row);
      if (page.length < HASH_READ_ROWS_MAX) return;
      const last = page[page.length - 1];
      after = { revision: last.mod_revision, sub: last.sub };
    }
  }

  /**
   * etcd's HashKV at `revision` (already checked: above the compacted revision, at most the
   * current one). `liveAt` answers whether any key is live at `revision`.
   */
  kv(revision: number, compactRevision: number, currentRevision: number, liveAt: (revision: number) => boolean): number {
    // Which changes at or below the compaction still count: those of keys not changed since.
    let counts = (_row: ChangeRow) => true;
    if (compactRevision >= 1) {
      const live = revision === currentRevision ? this.#anyLiveNow.get<{ live: number }>()!.live === 1 : liveAt(revision);
      if (live) {
        const changed = new Set<string>();
        for (const { key } of this.#keysChanged.all<{ key: Uint8Array }>(compactRevision, revision)) changed.add(key.toBase64());
        counts = (row) => row.mod_revision > compactRevision || !changed.has(row.key.toBase64());
      }
    }
    const crc = new Crc32c().update(encoder.encode("key"));
    const record = new Bytes();
    this.#eachChange(revision, (row) => {
      if (!counts(row)) return;
      record.reset();
      writeChange(record, row);
      crc.update(record.view);
    });
    return crc.value;
  }

  /**
   * Concord's Hash of everything replicated, as of now. The revisions come from the caller: the
   * meta table has them only as of the last committed batch.
   */
  whole(revision: number, compactRevision: number): number {
    const crc = new Crc32c();
    const record = new Bytes();
    crc.update(encoder.encode("key"));
    this.#eachChange(Number.MAX_SAFE_INTEGER, (row) => {
      record.reset();
      writeChange(record, row);
      crc.update(record.view);
    });
    // The rest as text rows: every field in a fixed order, each ended so no two rows run together.
    const rows = (name: string, list: Record<string, unknown>[]) => {
      crc.update(encoder.encode(`\n${name}\n`));
      for (const row of list) crc.update(encoder.encode(`${JSON.stringify(Object.values(row))}\n`));
    };
    rows("revisions", [{ revision, compactRevision }]);
    rows("leases", this.#leases.all());
    rows("members", this.#members.all());
    return crc.value;
  }
}
