/**
 * etcd's JSON for responses, as its gateway writes them: proto field order, snake_case names
 * (with etcd's own exceptions such as `dbSize`, `ID`, `peerURLs`), 64-bit integers as strings,
 * bytes as padded base64, enums by name, and every zero, false or empty field left out.
 *
 * Owns: the one JSON codec for etcd shapes going out. Never: decides what a response contains.
 */
import type { EtcdError } from "../etcd/errors.ts";
import type {
  HeaderContext,
  CompactionResponse, DeleteRangeResponse, KeyValue, PutResponse, RangeResponse, ResponseOp, TxnResponse,
} from "../etcd/types.ts";



/** A JSON string as Go writes it: HTML-significant characters and line separators escaped. */
export function goString(s: string): string {
  const json = JSON.stringify(s);
  return /[<>&\u2028\u2029]/.test(json)
    ? json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : json;
}

/** Writes an object field by field, leaving out zero values as proto3 JSON does. */
class Obj {
  #parts: string[] = [];
  raw(name: string, json: string | undefined): this {
    if (json !== undefined) this.#parts.push(`"${name}":${json}`);
    return this;
  }
  int(name: string, n: number | bigint): this {
    return n === 0 || n === 0n ? this : this.raw(name, `"${n}"`);
  }
  bytes(name: string, b: Uint8Array): this {
    return b.length === 0 ? this : this.raw(name, `"${b.toBase64()}"`);
  }
  str(name: string, s: string): this {
    return s === "" ? this : this.raw(name, goString(s));
  }
  bool(name: string, b: boolean): this {
    return b ? this.raw(name, "true") : this;
  }
  list<T>(name: string, items: readonly T[], each: (t: T) => string): this {
    return items.length === 0 ? this : this.raw(name, `[${items.map(each).join(",")}]`);
  }
  toString(): string {
    return `{${this.#parts.join(",")}}`;
  }
}

export const jsonObject = () => new Obj();

/** The JSON of each member header, rendered once: ids are bigints and slow to print. */
const renderedIds = new WeakMap<HeaderContext, { leading: string; term: string }>();

export function header(ctx: HeaderContext, revision: number): string {
  let ids = renderedIds.get(ctx);
  if (ids === undefined) {
    ids = {
      leading: jsonObject().int("cluster_id", ctx.clusterId).int("member_id", ctx.memberId).toString().slice(1, -1),
      term: ctx.raftTerm === 0 ? "" : `,"raft_term":"${ctx.raftTerm}"`,
    };
    renderedIds.set(ctx, ids);
  }
  const rev = revision === 0 ? "" : `,"revision":"${revision}"`;
  return `{${ids.leading}${rev}${ids.term}}`;
}

/** A header inside a txn response: etcd fills in only the revision there. */
function innerHeader(revision: number): string {
  return jsonObject().int("revision", revision).toString();
}

export function keyValue(kv: KeyValue): string {
  return jsonObject().bytes("key", kv.key).int("create_revision", kv.createRevision).int("mod_revision", kv.modRevision)
    .int("version", kv.version).bytes("value", kv.value).int("lease", kv.lease).toString();
}

type HeaderWriter = (revision: number) => string;

function range(r: RangeResponse, h: HeaderWriter): string {
  return jsonObject().raw("header", h(r.header.revision)).list("kvs", r.kvs, keyValue).bool("more", r.more)
    .int("count", r.count).toString();
}

function put(r: PutResponse, h: HeaderWriter): string {
  return jsonObject().raw("header", h(r.header.revision)).raw("prev_kv", r.prevKv && keyValue(r.prevKv)).toString();
}

function deleteRange(r: DeleteRangeResponse, h: HeaderWriter): string {
  return jsonObject().raw("header", h(r.header.revision)).int("deleted", r.deleted).list("prev_kvs", r.prevKvs, keyValue)
    .toString();
}

function responseOp(op: ResponseOp): string {
  switch (op.kind) {
    case "range": return `{"response_range":${range(op.range, innerHeader)}}`;
    case "put": return `{"response_put":${put(op.put, innerHeader)}}`;
    case "deleteRange": return `{"response_delete_range":${deleteRange(op.deleteRange, innerHeader)}}`;
    case "txn": return `{"response_txn":${txn(op.txn, innerHeader)}}`;
  }
}

function txn(r: TxnResponse, h: HeaderWriter): string {
  return jsonObject().raw("header", h(r.header.revision)).bool("succeeded", r.succeeded).list("responses", r.responses, responseOp)
    .toString();
}

/**
 * encode.range for a long answer (at least one key-value): the same JSON as a stream, its
 * key-values encoded `slice` at a time as the reader takes them, with `pause` awaited between
 * slices, so neither the encoding nor the whole answer holds the member at once.
 */
function rangeInSlices(ctx: HeaderContext, r: RangeResponse, slice: number, pause: () => Promise<void>): ReadableStream<Uint8Array> {
  const utf8 = new TextEncoder();
  const head = jsonObject().raw("header", header(ctx, r.header.revision)).toString().slice(0, -1);
  const tail = jsonObject().bool("more", r.more).int("count", r.count).toString().slice(1);
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // The member's other work gets a turn between slices, however fast the reader takes them.
      if (next > 0) await pause();
      const from = next;
      next = Math.min(r.kvs.length, from + slice);
      const kvs = r.kvs.slice(from, next).map(keyValue).join(",");
      const text = `${from === 0 ? `${head},"kvs":[` : ","}${kvs}${next === r.kvs.length ? `]${tail === "}" ? "}" : `,${tail}`}` : ""}`;
      controller.enqueue(utf8.encode(text));
      if (next === r.kvs.length) controller.close();
    },
  }, { highWaterMark: 0 });
}

export const encode = {
  rangeInSlices,
  range: (ctx: HeaderContext, r: RangeResponse) => range(r, (rev) => header(ctx, rev)),
  put: (ctx: HeaderContext, r: PutResponse) => put(r, (rev) => header(ctx, rev)),
  deleteRange: (ctx: HeaderContext, r: DeleteRangeResponse) => deleteRange(r, (rev) => header(ctx, rev)),
  txn: (ctx: HeaderContext, r: TxnResponse) => txn(r, (rev) => header(ctx, rev)),
  compaction: (ctx: HeaderContext, r: CompactionResponse) => jsonObject().raw("header", header(ctx, r.header.revision)).toString(),
  error: (e: EtcdError) => jsonObject().str("error", e.message).str("message", e.message).raw("code", String(e.code)).toString(),
};
