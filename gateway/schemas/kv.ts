/**
 * The KV requests of etcd's JSON gateway as valibot schemas, and their conversion to the internal
 * request types with proto3 defaults filled in.
 *
 * Owns: which fields each etcd request has, in proto order, with their kinds and enum names.
 * Never: checks of meaning (empty key, duplicate keys, limits) — request_checks.ts does those,
 * after decoding, as etcd's gRPC layer does.
 */
import * as v from "valibot";
import {
  type Compare, type CompactionRequest, type DeleteRangeRequest, EMPTY_BYTES, NO_LEASE, type PutRequest,
  type RangeRequest, type RequestOp, type TxnRequest,
} from "../../etcd/types.ts";
import { bool, bytes, enumeration, type FieldSchema, int64, int64Number, message, repeated, spec, type WireMessage } from "../compat/proto_json.ts";


const rangeFields = [
  spec("key", bytes),
  spec("range_end", bytes),
  spec("limit", int64Number),
  spec("revision", int64Number),
  spec("sort_order", enumeration("etcdserverpb.RangeRequest_SortOrder", ["NONE", "ASCEND", "DESCEND"])),
  spec("sort_target", enumeration("etcdserverpb.RangeRequest_SortTarget", ["KEY", "VERSION", "CREATE", "MOD", "VALUE"])),
  spec("serializable", bool),
  spec("keys_only", bool),
  spec("count_only", bool),
  spec("min_mod_revision", int64Number),
  spec("max_mod_revision", int64Number),
  spec("min_create_revision", int64Number),
  spec("max_create_revision", int64Number),
];

const putFields = [
  spec("key", bytes),
  spec("value", bytes),
  spec("lease", int64),
  spec("prev_kv", bool),
  spec("ignore_value", bool),
  spec("ignore_lease", bool),
];

const deleteRangeFields = [spec("key", bytes), spec("range_end", bytes), spec("prev_kv", bool)];

const compareSchema = message<WireMessage>(
  [
    spec("result", enumeration("etcdserverpb.Compare_CompareResult", ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"])),
    spec("target", enumeration("etcdserverpb.Compare_CompareTarget", ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"])),
    spec("key", bytes),
    spec("range_end", bytes),
  ],
  [spec("version", int64Number), spec("create_revision", int64Number), spec("mod_revision", int64Number), spec("value", bytes), spec("lease", int64)],
);

export const rangeSchema = message<WireMessage>(rangeFields);
export const putSchema = message<WireMessage>(putFields);
export const deleteRangeSchema = message<WireMessage>(deleteRangeFields);
export const compactionSchema = message<WireMessage>([spec("revision", int64Number), spec("physical", bool)]);
/** Requests with no fields (status, member list): any object, as etcd ignores unknown fields. */
export const emptySchema = message<WireMessage>([]);

const requestOpSchema: FieldSchema<WireMessage> = message<WireMessage>([], [
  spec("request_range", rangeSchema),
  spec("request_put", putSchema),
  spec("request_delete_range", deleteRangeSchema),
  spec("request_txn", v.lazy(() => txnSchema) as unknown as FieldSchema<WireMessage>),
]);

export const txnSchema: FieldSchema<WireMessage> = message<WireMessage>([
  spec("compare", repeated(compareSchema)),
  spec("success", repeated(requestOpSchema)),
  spec("failure", repeated(requestOpSchema)),
]);

// ---- from wire shapes (proto names, only set fields) to internal requests ----

const num = (w: WireMessage, k: string) => (w[k] as number | undefined) ?? 0;
const flag = (w: WireMessage, k: string) => (w[k] as boolean | undefined) ?? false;
const byteField = (w: WireMessage, k: string) => (w[k] as Uint8Array | undefined) ?? EMPTY_BYTES;

export function toRange(w: WireMessage): RangeRequest {
  return {
    key: byteField(w, "key"),
    rangeEnd: byteField(w, "range_end"),
    limit: num(w, "limit"),
    revision: num(w, "revision"),
    sortOrder: num(w, "sort_order"),
    sortTarget: num(w, "sort_target"),
    serializable: flag(w, "serializable"),
    keysOnly: flag(w, "keys_only"),
    countOnly: flag(w, "count_only"),
    minModRevision: num(w, "min_mod_revision"),
    maxModRevision: num(w, "max_mod_revision"),
    minCreateRevision: num(w, "min_create_revision"),
    maxCreateRevision: num(w, "max_create_revision"),
  };
}

export function toPut(w: WireMessage): PutRequest {
  return {
    key: byteField(w, "key"),
    value: byteField(w, "value"),
    lease: (w.lease as bigint | undefined) ?? NO_LEASE,
    prevKv: flag(w, "prev_kv"),
    ignoreValue: flag(w, "ignore_value"),
    ignoreLease: flag(w, "ignore_lease"),
  };
}

export function toDeleteRange(w: WireMessage): DeleteRangeRequest {
  return { key: byteField(w, "key"), rangeEnd: byteField(w, "range_end"), prevKv: flag(w, "prev_kv") };
}

export function toCompaction(w: WireMessage): CompactionRequest {
  return { revision: num(w, "revision"), physical: flag(w, "physical") };
}

const TARGET_UNION = ["version", "create_revision", "mod_revision", "value", "lease"] as const;

function toCompare(w: WireMessage): Compare {
  // The operand is a oneof: only the member that was set counts; the rest are zero.
  const set = TARGET_UNION.filter((k) => w[k] !== undefined).at(-1);
  return {
    result: num(w, "result"),
    target: num(w, "target"),
    key: byteField(w, "key"),
    rangeEnd: byteField(w, "range_end"),
    version: set === "version" ? num(w, "version") : 0,
    createRevision: set === "create_revision" ? num(w, "create_revision") : 0,
    modRevision: set === "mod_revision" ? num(w, "mod_revision") : 0,
    value: set === "value" ? byteField(w, "value") : EMPTY_BYTES,
    lease: set === "lease" ? (w.lease as bigint) : NO_LEASE,
  };
}

function toRequestOp(w: WireMessage): RequestOp {
  // A oneof given twice: the last member in proto order is the one kept.
  if (w.request_txn !== undefined) return { kind: "txn", txn: toTxn(w.request_txn as WireMessage) };
  if (w.request_delete_range !== undefined) return { kind: "deleteRange", deleteRange: toDeleteRange(w.request_delete_range as WireMessage) };
  if (w.request_put !== undefined) return { kind: "put", put: toPut(w.request_put as WireMessage) };
  if (w.request_range !== undefined) return { kind: "range", range: toRange(w.request_range as WireMessage) };
  return { kind: "empty" };
}

export function toTxn(w: WireMessage): TxnRequest {
  return {
    compare: ((w.compare as WireMessage[] | undefined) ?? []).map(toCompare),
    success: ((w.success as WireMessage[] | undefined) ?? []).map(toRequestOp),
    failure: ((w.failure as WireMessage[] | undefined) ?? []).map(toRequestOp),
  };
}
