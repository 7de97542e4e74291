/**
 * etcd's request messages as decoded from the wire, turned into the requests every surface hands
 * the member (etcd/types.ts), proto3's zero values filled in for absent fields.
 *
 * Owns: reading each request field by its proto name and kind; a oneof given more than once is the
 * last member in proto order (as the gateway reads it). Never: checks of meaning (empty keys,
 * duplicate keys, sizes — etcd/request_checks.ts) or what a request does.
 */
import {
  type Bytes, type Compare, type CompactionRequest, type DeleteRangeRequest, EMPTY_BYTES, type LeaseId, NO_LEASE,
  type PutRequest, type RangeRequest, type RequestOp, type TxnRequest,
} from "../etcd/types.ts";
import type { ProtoMessage } from "./protos.ts";

/** An int64 field (a decimal string on the wire side) as a number: revisions and counts stay far below 2^53. */
export const int = (m: ProtoMessage, field: string): number => (m[field] === undefined ? 0 : Number(m[field]));
/** An int64 or uint64 field kept exact: lease and member ids use all 64 bits. */
export const int64 = (m: ProtoMessage, field: string): bigint => (m[field] === undefined ? 0n : BigInt(m[field] as string));
export const bool = (m: ProtoMessage, field: string): boolean => m[field] === true;
/**
 * A bytes field as a plain Uint8Array over the decoded Buffer's memory: a Buffer's slice() is a
 * view, not a copy, and code below this surface slices keys and changes the copy (prefixEnd).
 */
export function bytes(m: ProtoMessage, field: string): Bytes {
  const b = m[field] as Uint8Array | undefined;
  return b === undefined || b.length === 0 ? EMPTY_BYTES : new Uint8Array(b.buffer, b.byteOffset, b.length);
}
export const strings = (m: ProtoMessage, field: string): string[] => (m[field] as string[] | undefined) ?? [];
const messages = (m: ProtoMessage, field: string): ProtoMessage[] => (m[field] as ProtoMessage[] | undefined) ?? [];
export const lease = (m: ProtoMessage, field: string): LeaseId => (m[field] === undefined ? NO_LEASE : BigInt(m[field] as string));

export function toRange(m: ProtoMessage): RangeRequest {
  return {
    key: bytes(m, "key"),
    rangeEnd: bytes(m, "range_end"),
    limit: int(m, "limit"),
    revision: int(m, "revision"),
    sortOrder: int(m, "sort_order"),
    sortTarget: int(m, "sort_target"),
    serializable: bool(m, "serializable"),
    keysOnly: bool(m, "keys_only"),
    countOnly: bool(m, "count_only"),
    minModRevision: int(m, "min_mod_revision"),
    maxModRevision: int(m, "max_mod_revision"),
    minCreateRevision: int(m, "min_create_revision"),
    maxCreateRevision: int(m, "max_create_revision"),
  };
}

export function toPut(m: ProtoMessage): PutRequest {
  return {
    key: bytes(m, "key"),
    value: bytes(m, "value"),
    lease: lease(m, "lease"),
    prevKv: bool(m, "prev_kv"),
    ignoreValue: bool(m, "ignore_value"),
    ignoreLease: bool(m, "ignore_lease"),
  };
}

export function toDeleteRange(m: ProtoMessage): DeleteRangeRequest {
  return { key: bytes(m, "key"), rangeEnd: bytes(m, "range_end"), prevKv: bool(m, "prev_kv") };
}

export function toCompaction(m: ProtoMessage): CompactionRequest {
  return { revision: int(m, "revision"), physical: bool(m, "physical") };
}

/** Compare's target_union, in proto order. */
const TARGET_UNION = ["version", "create_revision", "mod_revision", "value", "lease"] as const;

function toCompare(m: ProtoMessage): Compare {
  // Only the member of the oneof that was set counts (etcd reads the operand from it); the rest are zero.
  const set = TARGET_UNION.filter((k) => m[k] !== undefined).at(-1);
  return {
    result: int(m, "result"),
    target: int(m, "target"),
    key: bytes(m, "key"),
    rangeEnd: bytes(m, "range_end"),
    version: set === "version" ? int(m, "version") : 0,
    createRevision: set === "create_revision" ? int(m, "create_revision") : 0,
    modRevision: set === "mod_revision" ? int(m, "mod_revision") : 0,
    value: set === "value" ? bytes(m, "value") : EMPTY_BYTES,
    lease: set === "lease" ? lease(m, "lease") : NO_LEASE,
  };
}

function toRequestOp(m: ProtoMessage): RequestOp {
  const op = (field: string) => m[field] as ProtoMessage;
  if (m.request_txn !== undefined) return { kind: "txn", txn: toTxn(op("request_txn")) };
  if (m.request_delete_range !== undefined) return { kind: "deleteRange", deleteRange: toDeleteRange(op("request_delete_range")) };
  if (m.request_put !== undefined) return { kind: "put", put: toPut(op("request_put")) };
  if (m.request_range !== undefined) return { kind: "range", range: toRange(op("request_range")) };
  return { kind: "empty" };
}

export function toTxn(m: ProtoMessage): TxnRequest {
  return {
    compare: messages(m, "compare").map(toCompare),
    success: messages(m, "success").map(toRequestOp),
    failure: messages(m, "failure").map(toRequestOp),
  };
}
