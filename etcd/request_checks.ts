/**
 * The checks etcd's gRPC layer makes before a request reaches the server, in etcd's order and
 * words: empty keys, ignore_value/ignore_lease misuse, the txn op limit, puts and deletes that
 * overlap inside a txn, and the size limits.
 *
 * Owns: rejecting requests that must change nothing. Never: anything that needs the store's state
 * (a missing lease, a compacted revision) — the applier answers those.
 */
import { GRPC_OVERHEAD_BYTES, REQUEST_BYTES_MAX, TXN_OPS_MAX } from "../config/limits.ts";
import { EtcdError, Errors, GrpcCode } from "./errors.ts";
import { compareBytes } from "./keys.ts";
import {
  type Bytes, type DeleteRangeRequest, NO_LEASE, type PutRequest, type RangeRequest, type RequestOp, SortTarget,
  type TxnRequest,
} from "./types.ts";

/** etcd 3.4 crashes on a sort target it does not know; Concord answers as etcd 3.5 does. */
const invalidSortOption = new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: invalid sort option");

export function checkRange(r: RangeRequest): EtcdError | undefined {
  if (r.key.length === 0) return Errors.emptyKey;
  if (SortTarget[r.sortTarget] === undefined) return invalidSortOption;
  return undefined;
}

export function checkPut(p: PutRequest): EtcdError | undefined {
  if (p.key.length === 0) return Errors.emptyKey;
  if (p.ignoreValue && p.value.length !== 0) return Errors.valueProvided;
  if (p.ignoreLease && p.lease !== NO_LEASE) return Errors.leaseProvided;
  return undefined;
}

export function checkDeleteRange(d: DeleteRangeRequest): EtcdError | undefined {
  return d.key.length === 0 ? Errors.emptyKey : undefined;
}

function checkOp(op: RequestOp, maxOps: number): EtcdError | undefined {
  switch (op.kind) {
    case "range": return checkRange(op.range);
    case "put": return checkPut(op.put);
    case "deleteRange": return checkDeleteRange(op.deleteRange);
    case "txn": return checkTxnOps(op.txn, maxOps);
    case "empty": return Errors.keyNotFound;
  }
}

function checkTxnOps(t: TxnRequest, maxOps: number): EtcdError | undefined {
  const ops = Math.max(t.compare.length, t.success.length, t.failure.length);
  if (ops > maxOps) return Errors.tooManyOps;
  if (t.compare.some((c) => c.key.length === 0)) return Errors.emptyKey;
  for (const op of [...t.success, ...t.failure]) {
    const err = checkOp(op, maxOps - ops);
    if (err) return err;
  }
  return undefined;
}

export function checkTxn(t: TxnRequest): EtcdError | undefined {
  return checkTxnOps(t, TXN_OPS_MAX) ?? overlaps(t.success) ?? overlaps(t.failure);
}

// ---- puts and deletes that touch the same key in one txn (etcd's checkIntervals) ----

/** A key interval [begin, end) where an empty end is +infinity (etcd's string-affine intervals). */
type Interval = { begin: Bytes; end: Bytes };

function affineCompare(a: Bytes, b: Bytes): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return compareBytes(a, b);
}

function pointOf(key: Bytes): Interval {
  const end = new Uint8Array(key.length + 1);
  end.set(key);
  return { begin: key, end };
}

function intersects(a: Interval, b: Interval): boolean {
  return affineCompare(a.begin, b.end) < 0 && affineCompare(b.begin, a.end) < 0;
}

const keyString = (k: Bytes) => k.toBase64();

type Writes = { puts: Map<string, Bytes>; dels: Interval[] };

function overlapsIn(ops: RequestOp[]): Writes | EtcdError {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (op.kind !== "deleteRange") continue;
    const d = op.deleteRange;
    dels.push(d.rangeEnd.length !== 0 ? { begin: d.key, end: d.rangeEnd } : pointOf(d.key));
  }
  const deleted = (k: Bytes) => dels.some((iv) => intersects(iv, pointOf(k)));
  const puts = new Map<string, Bytes>();
  for (const op of ops) {
    if (op.kind !== "txn") continue;
    const then = overlapsIn(op.txn.success);
    if (then instanceof EtcdError) return then;
    const otherwise = overlapsIn(op.txn.failure);
    if (otherwise instanceof EtcdError) return otherwise;
    for (const [s, k] of then.puts) {
      if (puts.has(s) || deleted(k)) return Errors.duplicateKey;
      puts.set(s, k);
    }
    for (const [s, k] of otherwise.puts) {
      // The same key in both branches of one nested txn is fine: only one branch runs.
      if (puts.has(s) && !then.puts.has(s)) return Errors.duplicateKey;
      if (deleted(k)) return Errors.duplicateKey;
      puts.set(s, k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.kind !== "put") continue;
    const s = keyString(op.put.key);
    if (puts.has(s) || deleted(op.put.key)) return Errors.duplicateKey;
    puts.set(s, op.put.key);
  }
  return { puts, dels };
}

function overlaps(ops: RequestOp[]): EtcdError | undefined {
  const r = overlapsIn(ops);
  return r instanceof EtcdError ? r : undefined;
}

// ---- size limits ----

/** gRPC's limit on one request message, before etcd sees it. */
export function checkMessageSize(sizeBytes: number): EtcdError | undefined {
  return sizeBytes <= REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES ? undefined : messageTooLarge(sizeBytes);
}

/** gRPC's refusal of a message over its limit, measured in bytes (or, for a body too large to parse, characters). */
export function messageTooLarge(size: number): EtcdError {
  return new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES})`);
}

/** etcd's limit on a proposal (the request as it enters the log). */
export function checkProposalSize(sizeBytes: number): EtcdError | undefined {
  return sizeBytes > REQUEST_BYTES_MAX ? Errors.requestTooLarge : undefined;
}
