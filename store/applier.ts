/**
 * etcd's request semantics on top of MVCC: range (sort, limit, filters), put (prev_kv,
 * ignore_value, ignore_lease, lease checks), delete range, txn (compares, branches, nesting) and
 * compaction — the same rules, in the same order, as etcd 3.4's applierV3backend.
 *
 * Owns: what a validated request does to the key space and what it answers. Never: validation of
 * request shape (the API did that), transactions or durability (the state machine holds them).
 */
import { Errors, type EtcdError, isEtcdError } from "../etcd/errors.ts";
import { compareBytes, keySpan } from "../etcd/keys.ts";
import {
  type Compare, CompareResult, CompareTarget, type DeleteRangeRequest, type DeleteRangeResponse, EMPTY_BYTES,
  type KeyValue, type LeaseId, NO_LEASE, type PutRequest, type PutResponse, type RangeRequest, type RangeResponse,
  type RequestOp, type ResponseOp, SortOrder, SortTarget, type TxnRequest, type TxnResponse,
} from "../etcd/types.ts";
import type { KeySpan } from "../etcd/keys.ts";
import type { RangeOptions, RangeResult, WriteTxn } from "./mvcc.ts";

/** Something ranges can be read from: the store's current state, or a write in progress. */
export interface ReadView {
  readonly revision: number;
  range(span: KeySpan, options: RangeOptions): RangeResult | EtcdError;
}

/** Whether a lease exists (store/leases.ts answers). */
export interface LeaseLookup {
  exists(id: LeaseId): boolean;
}

const sortKeys: Record<SortTarget, (a: KeyValue, b: KeyValue) => number> = {
  [SortTarget.KEY]: (a, b) => compareBytes(a.key, b.key),
  [SortTarget.VERSION]: (a, b) => a.version - b.version,
  [SortTarget.CREATE]: (a, b) => a.createRevision - b.createRevision,
  [SortTarget.MOD]: (a, b) => a.modRevision - b.modRevision,
  [SortTarget.VALUE]: (a, b) => compareBytes(a.value, b.value),
};

/** The key-values a range's revision filters let through (etcd's min/max mod and create revision). */
export function filtered(r: RangeRequest, found: KeyValue[]): KeyValue[] {
  let kvs = found;
  if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
  if (r.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
  if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
  if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);
  return kvs;
}

/**
 * How a range orders its answer, when not in key order (the store's): etcd sorts ascending by
 * default when the target is not the key. Sorts stably, so equal ones stay in key order.
 */
export function sortOrder(r: RangeRequest): ((a: KeyValue, b: KeyValue) => number) | undefined {
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  const byTarget = sortKeys[r.sortTarget];
  if (!byTarget) return undefined;
  if (order === SortOrder.ASCEND) return byTarget;
  if (order === SortOrder.DESCEND) return (a, b) => byTarget(b, a);
  return undefined;
}

/** Whether a range must read every key of its span, whatever its limit: it sorts or filters them. */
export function readsWholeSpan(r: RangeRequest): boolean {
  return r.sortOrder !== SortOrder.NONE || r.minModRevision !== 0 || r.maxModRevision !== 0 ||
    r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
}

export function range(view: ReadView, r: RangeRequest): RangeResponse | EtcdError {
  const limit = readsWholeSpan(r) || r.limit <= 0 ? 0 : r.limit + 1;
  const result = view.range(keySpan(r.key, r.rangeEnd), { revision: r.revision, limit, countOnly: r.countOnly });
  if (isEtcdError(result)) return result;
  return finishRange(r, result.kvs, result.count, result.revision);
}

/**
 * etcd's answer from what a range read (in key order, up to its limit plus one unless it reads
 * the whole span): filters, then sort, then the limit, then keys only.
 */
export function finishRange(r: RangeRequest, found: KeyValue[], count: number, revision: number): RangeResponse {
  let kvs = filtered(r, found);
  const order = sortOrder(r);
  if (order) kvs = kvs.slice().sort(order);
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  return { header: { revision }, kvs, more, count };
}

/** A put inside a write; the lease was checked before the write began. */
export function put(txn: WriteTxn, p: PutRequest): PutResponse | EtcdError {
  const prev = p.ignoreValue || p.ignoreLease || p.prevKv ? txn.get(p.key) : undefined;
  if ((p.ignoreValue || p.ignoreLease) && prev === undefined) return Errors.keyNotFound;
  const value = p.ignoreValue ? prev!.value : p.value;
  const lease = p.ignoreLease ? prev!.lease : p.lease;
  const revision = txn.put(p.key, value, lease);
  return { header: { revision }, prevKv: p.prevKv ? prev : undefined };
}

export function deleteRange(txn: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse | EtcdError {
  const span = keySpan(d.key, d.rangeEnd);
  let prevKvs: KeyValue[] = [];
  if (d.prevKv) {
    const found = txn.range(span, { revision: 0, limit: 0, countOnly: false });
    if (isEtcdError(found)) return found;
    prevKvs = found.kvs;
  }
  const { deleted, revision } = txn.deleteRange(span);
  return { header: { revision }, deleted, prevKvs };
}

/** A top-level put: the lease must exist, as etcd checks before it writes. */
export function putRequest(txn: WriteTxn, leases: LeaseLookup, p: PutRequest): PutResponse | EtcdError {
  if (p.lease !== NO_LEASE && !leases.exists(p.lease)) return Errors.leaseNotFound;
  return put(txn, p);
}

// ---- txn ----

function compareOne(view: ReadView, c: Compare): boolean {
  const found = view.range(keySpan(c.key, c.rangeEnd), { revision: 0, limit: 0, countOnly: false });
  if (isEtcdError(found)) return false;
  if (found.kvs.length === 0) {
    // A missing key has no value to compare: etcd fails every VALUE compare on it.
    if (c.target === CompareTarget.VALUE) return false;
    return compareKeyValue(c, undefined);
  }
  return found.kvs.every((kv) => compareKeyValue(c, kv));
}

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

function compareKeyValue(c: Compare, kv: KeyValue | undefined): boolean {
  let result = 0;
  switch (c.target) {
    case CompareTarget.VALUE: result = sign(compareBytes(kv?.value ?? EMPTY_BYTES, c.value)); break;
    case CompareTarget.CREATE: result = sign((kv?.createRevision ?? 0) - c.createRevision); break;
    case CompareTarget.MOD: result = sign((kv?.modRevision ?? 0) - c.modRevision); break;
    case CompareTarget.VERSION: result = sign((kv?.version ?? 0) - c.version); break;
    case CompareTarget.LEASE: result = sign((kv?.lease ?? NO_LEASE) - c.lease); break;
  }
  switch (c.result) {
    case CompareResult.EQUAL: return result === 0;
    case CompareResult.NOT_EQUAL: return result !== 0;
    case CompareResult.GREATER: return result > 0;
    case CompareResult.LESS: return result < 0;
  }
  return true;
}

/**
 * Which branch each txn takes, outer first then nested ones in order, all decided on the state
 * before the txn writes anything (as etcd's compareToPath).
 */
function branchPath(view: ReadView, t: TxnRequest, path: boolean[] = []): boolean[] {
  const succeeded = t.compare.every((c) => compareOne(view, c));
  path.push(succeeded);
  for (const op of succeeded ? t.success : t.failure) {
    if (op.kind === "txn") branchPath(view, op.txn, path);
  }
  return path;
}

/** Whether a txn only reads, in every branch (etcd serves such a txn without the log; auth treats it as a read). */
export function isReadOnly(t: TxnRequest): boolean {
  const readOnly = (ops: RequestOp[]) =>
    ops.every((op) => op.kind === "range" || (op.kind === "txn" && isReadOnly(op.txn)));
  return readOnly(t.success) && readOnly(t.failure);
}

/** Whether every op of a txn is a serializable range (etcd's isTxnSerializable): then it waits for no ReadIndex. */
export function isSerializableTxn(t: TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => op.kind === "range" && op.range.serializable);
}

type Cursor = { path: boolean[]; at: number };

/** Visits the non-txn ops of the branches the path takes, in order; stops at the first error. */
function checkOps(t: TxnRequest, cursor: Cursor, check: (op: RequestOp) => EtcdError | undefined): EtcdError | undefined {
  const ops = cursor.path[cursor.at++] ? t.success : t.failure;
  for (const op of ops) {
    const err = op.kind === "txn" ? checkOps(op.txn, cursor, check) : check(op);
    if (err) return err;
  }
  return undefined;
}

function applyBranch(txn: WriteTxn, t: TxnRequest, cursor: Cursor): TxnResponse {
  const succeeded = cursor.path[cursor.at++];
  const responses: ResponseOp[] = [];
  for (const op of succeeded ? t.success : t.failure) {
    responses.push(applyOp(txn, op, cursor));
  }
  return { header: { revision: 0 }, succeeded, responses };
}

function applyOp(txn: WriteTxn, op: RequestOp, cursor: Cursor): ResponseOp {
  // Every check that can fail ran before the first write, so an error here is a bug.
  const must = <T>(r: T | EtcdError): T => {
    if (isEtcdError(r)) throw new Error(`applier: txn op failed after its checks passed: ${r.message}`);
    return r;
  };
  switch (op.kind) {
    case "range": return { kind: "range", range: must(range(txn, op.range)) };
    case "put": return { kind: "put", put: must(put(txn, op.put)) };
    case "deleteRange": return { kind: "deleteRange", deleteRange: must(deleteRange(txn, op.deleteRange)) };
    case "txn": return { kind: "txn", txn: applyBranch(txn, op.txn, cursor) };
    case "empty": throw new Error("applier: an empty txn op reached the store (the API must reject it)");
  }
}

/**
 * What a txn that only reads (isReadOnly) reads: the branches its compares take at `view`, and the
 * ranges of those branches in order. etcd serves such a txn without the log; the member reads the
 * ranges (member/paged_range.ts) and readOnlyTxnAnswer puts the answer together.
 */
export function readOnlyTxnPlan(view: ReadView, t: TxnRequest): { path: boolean[]; ranges: RangeRequest[] } {
  const path = branchPath(view, t);
  const ranges: RangeRequest[] = [];
  checkOps(t, { path, at: 0 }, (op) => {
    if (op.kind !== "range") throw new Error(`applier: a ${op.kind} in a txn taken as read-only`);
    ranges.push(op.range);
    return undefined;
  });
  return { path, ranges };
}

/**
 * A read-only txn's answer from its plan and what its ranges found, in the plan's order (up to
 * the first that failed: the first failure answers for the txn, as etcd's does), at `revision`.
 */
export function readOnlyTxnAnswer(t: TxnRequest, path: boolean[], found: (RangeResponse | EtcdError)[], revision: number): TxnResponse | EtcdError {
  const failed = found.find(isEtcdError);
  if (failed) return failed;
  const results = found as RangeResponse[];
  let next = 0;
  const cursor: Cursor = { path, at: 0 };
  const answer = (txn: TxnRequest): TxnResponse => {
    const succeeded = cursor.path[cursor.at++];
    const responses: ResponseOp[] = (succeeded ? txn.success : txn.failure).map((op): ResponseOp =>
      op.kind === "txn" ? { kind: "txn", txn: answer(op.txn) } : { kind: "range", range: results[next++] }
    );
    return { header: { revision: 0 }, succeeded, responses };
  };
  const response = answer(t);
  response.header.revision = revision;
  return response;
}

/** A txn inside a write; the caller ends the write whatever this answers. */
export function txnRequest(txn: WriteTxn, leases: LeaseLookup, t: TxnRequest): TxnResponse | EtcdError {
  const path = branchPath(txn, t);
  if (!isReadOnly(t)) {
    const err = checkOps(t, { path, at: 0 }, (op) => {
      if (op.kind !== "put") return undefined;
      const p = op.put;
      if ((p.ignoreValue || p.ignoreLease) && txn.get(p.key) === undefined) return Errors.keyNotFound;
      if (p.lease !== NO_LEASE && !leases.exists(p.lease)) return Errors.leaseNotFound;
      return undefined;
    });
    if (err) return err;
  }
  const err = checkOps(t, { path, at: 0 }, (op) => {
    if (op.kind !== "range" || op.range.revision === 0) return undefined;
    if (op.range.revision > txn.revision) return Errors.futureRevision;
    if (op.range.revision < txn.compactRevision) return Errors.compacted;
    return undefined;
  });
  if (err) return err;
  const response = applyBranch(txn, t, { path, at: 0 });
  response.header.revision = txn.revision;
  return response;
}
