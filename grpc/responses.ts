/**
 * etcd's response messages as protobufjs serializes them, from what the member answered: etcd's
 * field names, 64-bit integers as numbers (or 32-bit halves past 2^53), and every zero, false or empty scalar left unset
 * (as Go's encoder leaves it off the wire), so what a client decodes is what etcd would have sent.
 *
 * Owns: the shapes going out, the response header (cluster and member id, revision, raft term)
 * included. Never: decides what a response contains.
 */
import type {
  CompactionResponse, DeleteRangeResponse, HeaderContext, KeyValue, PutResponse, RangeResponse, ResponseOp, TxnResponse,
} from "../etcd/types.ts";

export type ProtoObject = Record<string, unknown>;

/** A 64-bit integer as protobufjs takes it without parsing text: its two 32-bit halves. */
type LongBits = { low: number; high: number; unsigned: boolean };

/** The halves of the few large ids a member answers with again and again (its own, its cluster's, leases'). */
const halvesOf = new Map<bigint, LongBits>();
const HALVES_KEPT_MAX = 1_024;

/** An integer field's value: a number when it is one exactly, else its halves (no decimal text to parse). */
function int64(n: number | bigint): number | LongBits {
  if (typeof n === "number") return n;
  if (n >= -0x1fffffffffffffn && n <= 0x1fffffffffffffn) return Number(n);
  let halves = halvesOf.get(n);
  if (halves === undefined) {
    const bits = BigInt.asUintN(64, n);
    halves = { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: n > 0n };
    if (halvesOf.size >= HALVES_KEPT_MAX) halvesOf.clear();
    halvesOf.set(n, halves);
  }
  return halves;
}

/** Builds a message field by field, leaving out zero scalars; nested messages are always kept. */
class Fields {
  readonly #o: ProtoObject = {};
  int(name: string, n: number | bigint): this {
    if (n !== 0 && n !== 0n) this.#o[name] = int64(n);
    return this;
  }
  bytes(name: string, b: Uint8Array): this {
    if (b.length !== 0) this.#o[name] = b;
    return this;
  }
  str(name: string, s: string): this {
    if (s !== "") this.#o[name] = s;
    return this;
  }
  bool(name: string, b: boolean): this {
    if (b) this.#o[name] = true;
    return this;
  }
  message(name: string, m: ProtoObject | undefined): this {
    if (m !== undefined) this.#o[name] = m;
    return this;
  }
  list(name: string, items: readonly unknown[]): this {
    if (items.length !== 0) this.#o[name] = items;
    return this;
  }
  done(): ProtoObject {
    return this.#o;
  }
}

export const fields = () => new Fields();

/**
 * The header of a top-level response, as etcd's fill: the member's ids and term, and the revision
 * the answer is as of (0 left out: cluster calls carry none).
 */
export function header(ctx: HeaderContext, revision: number): ProtoObject {
  return fields().int("cluster_id", ctx.clusterId).int("member_id", ctx.memberId).int("revision", revision)
    .int("raft_term", ctx.raftTerm).done();
}

/** A header inside a txn response: etcd fills in only the revision there (an empty header when 0). */
const innerHeader = (revision: number) => fields().int("revision", revision).done();

type HeaderOf = (revision: number) => ProtoObject;

export function keyValue(kv: KeyValue): ProtoObject {
  return fields().bytes("key", kv.key).int("create_revision", kv.createRevision).int("mod_revision", kv.modRevision)
    .int("version", kv.version).bytes("value", kv.value).int("lease", kv.lease).done();
}

function range(r: RangeResponse, h: HeaderOf): ProtoObject {
  return fields().message("header", h(r.header.revision)).list("kvs", r.kvs.map(keyValue)).bool("more", r.more)
    .int("count", r.count).done();
}

function put(r: PutResponse, h: HeaderOf): ProtoObject {
  return fields().message("header", h(r.header.revision)).message("prev_kv", r.prevKv && keyValue(r.prevKv)).done();
}

function deleteRange(r: DeleteRangeResponse, h: HeaderOf): ProtoObject {
  return fields().message("header", h(r.header.revision)).int("deleted", r.deleted).list("prev_kvs", r.prevKvs.map(keyValue))
    .done();
}

function responseOp(op: ResponseOp): ProtoObject {
  switch (op.kind) {
    case "range": return { response_range: range(op.range, innerHeader) };
    case "put": return { response_put: put(op.put, innerHeader) };
    case "deleteRange": return { response_delete_range: deleteRange(op.deleteRange, innerHeader) };
    case "txn": return { response_txn: txn(op.txn, innerHeader) };
  }
}

function txn(r: TxnResponse, h: HeaderOf): ProtoObject {
  return fields().message("header", h(r.header.revision)).bool("succeeded", r.succeeded)
    .list("responses", r.responses.map(responseOp)).done();
}

/** The KV responses, each with the member's header at the revision the answer carries. */
export const kvResponse = {
  /**
   * A range response in parts whose encodings, concatenated, are the whole one's (proto fields in
   * order: the header, each key-value, then more and count): for a long answer encoded a slice at a time.
   */
  rangeParts: (ctx: HeaderContext, r: RangeResponse) => ({
    head: fields().message("header", header(ctx, r.header.revision)).done(),
    kvs: (slice: readonly KeyValue[]) => fields().list("kvs", slice.map(keyValue)).done(),
    tail: fields().bool("more", r.more).int("count", r.count).done(),
  }),
  range: (ctx: HeaderContext, r: RangeResponse) => range(r, (rev) => header(ctx, rev)),
  put: (ctx: HeaderContext, r: PutResponse) => put(r, (rev) => header(ctx, rev)),
  deleteRange: (ctx: HeaderContext, r: DeleteRangeResponse) => deleteRange(r, (rev) => header(ctx, rev)),
  txn: (ctx: HeaderContext, r: TxnResponse) => txn(r, (rev) => header(ctx, rev)),
  compaction: (ctx: HeaderContext, r: CompactionResponse) => fields().message("header", header(ctx, r.header.revision)).done(),
};
