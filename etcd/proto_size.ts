/**
 * The size of a KV request in protobuf encoding — what etcd's limits are measured in: gRPC refuses
 * a message over max-request-bytes + 512 KiB, and etcd refuses a proposal over max-request-bytes.
 * Every surface measures with these (the JSON gateway before gRPC's limit and the proposal's, gRPC
 * before the proposal's: its library measures the message itself), so a request is refused alike
 * whichever way it came.
 *
 * Owns: byte counting of protobuf fields and of the KV requests. Never: encoding them.
 */
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./types.ts";

function varint(n: number | bigint): number {
  let v = BigInt(n);
  if (v < 0n) return 10;
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

const tag = (field: number) => varint(field << 3);

/** One field's bytes on the wire, zero values left out as proto3 does. */
export const fieldSize = {
  bytes: (field: number, b: Uint8Array) => (b.length === 0 ? 0 : tag(field) + varint(b.length) + b.length),
  int: (field: number, n: number | bigint) => (n === 0 || n === 0n ? 0 : tag(field) + varint(n)),
  bool: (field: number, b: boolean) => (b ? tag(field) + 1 : 0),
  message: (field: number, size: number) => tag(field) + varint(size) + size,
};

const { bytes: bytesField, int: intField, bool: boolField, message: messageField } = fieldSize;

export function rangeSize(r: RangeRequest): number {
  return bytesField(1, r.key) + bytesField(2, r.rangeEnd) + intField(3, r.limit) + intField(4, r.revision) +
    intField(5, r.sortOrder) + intField(6, r.sortTarget) + boolField(7, r.serializable) + boolField(8, r.keysOnly) +
    boolField(9, r.countOnly) + intField(10, r.minModRevision) + intField(11, r.maxModRevision) +
    intField(12, r.minCreateRevision) + intField(13, r.maxCreateRevision);
}

export function putSize(p: PutRequest): number {
  return bytesField(1, p.key) + bytesField(2, p.value) + intField(3, p.lease) + boolField(4, p.prevKv) +
    boolField(5, p.ignoreValue) + boolField(6, p.ignoreLease);
}

export function deleteRangeSize(d: DeleteRangeRequest): number {
  return bytesField(1, d.key) + bytesField(2, d.rangeEnd) + boolField(3, d.prevKv);
}

function compareSize(c: Compare): number {
  return intField(1, c.result) + intField(2, c.target) + bytesField(3, c.key) + intField(4, c.version) +
    intField(5, c.createRevision) + intField(6, c.modRevision) + bytesField(7, c.value) + intField(8, c.lease) +
    bytesField(64, c.rangeEnd);
}

function requestOpSize(op: RequestOp): number {
  switch (op.kind) {
    case "range": return messageField(1, rangeSize(op.range));
    case "put": return messageField(2, putSize(op.put));
    case "deleteRange": return messageField(3, deleteRangeSize(op.deleteRange));
    case "txn": return messageField(4, txnSize(op.txn));
    case "empty": return 0;
  }
}

export function txnSize(t: TxnRequest): number {
  let size = 0;
  for (const c of t.compare) size += messageField(1, compareSize(c));
  for (const op of t.success) size += messageField(2, requestOpSize(op));
  for (const op of t.failure) size += messageField(3, requestOpSize(op));
  return size;
}

/**
 * What etcd measures against max-request-bytes: the request wrapped as a raft proposal (a request
 * header with a 64-bit id, then the request as field `field` of InternalRaftRequest).
 */
export function proposalSize(field: number, requestSize: number): number {
  const RAFT_REQUEST_HEADER_BYTES = 14;
  return RAFT_REQUEST_HEADER_BYTES + messageField(field, requestSize);
}

/** InternalRaftRequest's field numbers for the requests that are proposed. */
export const ProposalField = { deleteRange: 5, put: 4, txn: 6, compaction: 7 } as const;
