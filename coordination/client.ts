/**
 * What etcd's v3lock and v3election servers ask of etcd through their embedded client, asked of
 * the member's client API instead: linearizable gets, txns, deletes and a session's lease — each
 * with the caller's auth, as etcd's embedded client carries the caller's token.
 *
 * Owns: those calls as the recipes need them, and etcd's names for a session's keys. Never: the
 * recipes' rules (lock.ts, election.ts), or waiting (wait.ts).
 */
import type { CallerAuth } from "../etcd/commands.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { prefixEnd } from "../etcd/keys.ts";
import { leaseGrantCommand } from "../etcd/lease_grant.ts";
import { checkDeleteRange, checkTxn } from "../etcd/request_checks.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import {
  type Bytes, type DeleteRangeResponse, EMPTY_BYTES, type LeaseGrantResponse, type LeaseId, NO_LEASE, type RangeRequest,
  type RangeResponse, SortOrder, SortTarget, type TxnRequest, type TxnResponse,
} from "../etcd/types.ts";
import type { ApiMember } from "../member/client_api.ts";

/**
 * What a recipe answers with an error of the calls it made: etcd's lock and election servers call
 * etcd through a client that hands them every error as a plain Go error, which gRPC then sends as
 * Unknown with its text ("etcdserver: requested lease not found" is NotFound from the Lease
 * service, Unknown from Lock). A learner's refusal comes before, with its own code.
 */
export function asServiceError<T>(result: T | EtcdError): T | EtcdError {
  if (!isEtcdError(result) || result.code === GrpcCode.UNKNOWN || result.code === GrpcCode.CANCELLED) return result;
  return result === MemberErrors.notForLearner ? result : new EtcdError(GrpcCode.UNKNOWN, result.message);
}

/** The TTL of the lease a session grants when the request names none, seconds (concurrency's defaultSessionTTL). */
export const SESSION_TTL_SECONDS = 60;

/** One request's view of the member: who asks, and until when (the client's going away aborts it). */
export interface CoordinationCall {
  readonly member: ApiMember;
  readonly caller: CallerAuth | undefined;
  readonly signal: AbortSignal;
}

const encoder = new TextEncoder();
export const bytes = (s: string): Bytes => encoder.encode(s);

/** Go's %x of an int64 lease id (a session's key ends with it). */
export const goHex = (lease: LeaseId): string => (lease < 0n ? `-${(-lease).toString(16)}` : lease.toString(16));

/** `prefix` followed by `suffix`. */
export function joined(prefix: Bytes, suffix: string): Bytes {
  const tail = bytes(suffix);
  const out = new Uint8Array(prefix.length + tail.length);
  out.set(prefix);
  out.set(tail, prefix.length);
  return out;
}

/** A range request with etcd's defaults for every field not given. */
export function rangeOf(fields: Partial<RangeRequest> & { key: Bytes }): RangeRequest {
  return {
    rangeEnd: EMPTY_BYTES, limit: 0, revision: 0, sortOrder: SortOrder.NONE, sortTarget: SortTarget.KEY, serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0, ...fields,
  };
}

/** clientv3's WithFirstCreate (`first`) and WithLastCreate: the prefix's oldest or newest key by creation. */
export function byCreation(prefix: Bytes, which: "first" | "last", maxCreateRevision = 0): RangeRequest {
  return rangeOf({
    key: prefix, rangeEnd: prefixEnd(prefix), limit: 1, sortTarget: SortTarget.CREATE,
    sortOrder: which === "first" ? SortOrder.ASCEND : SortOrder.DESCEND, maxCreateRevision,
  });
}

/** A linearizable get, as the embedded client's: once every write acknowledged before it is applied here. */
export async function get(call: CoordinationCall, request: RangeRequest): Promise<RangeResponse | EtcdError> {
  const failed = await call.member.readBarrier();
  if (failed) return failed;
  return await call.member.range(request, call.caller);
}

export async function txn(call: CoordinationCall, request: TxnRequest): Promise<TxnResponse | EtcdError> {
  const refused = checkTxn(request);
  if (refused) return refused;
  return await call.member.propose({ op: "txn", txn: request }, call.caller) as TxnResponse | EtcdError;
}

export async function deleteKey(call: CoordinationCall, key: Bytes): Promise<DeleteRangeResponse | EtcdError> {
  const request = { key, rangeEnd: EMPTY_BYTES, prevKv: false };
  const refused = checkDeleteRange(request);
  if (refused) return refused;
  return await call.member.propose({ op: "deleteRange", deleteRange: request }, call.caller) as DeleteRangeResponse | EtcdError;
}

/**
 * The lease of etcd's concurrency.Session for a request: the one it names, or (none named) a new
 * one of SESSION_TTL_SECONDS, left to expire — the servers orphan their sessions, keeping no lease alive.
 */
export async function sessionLease(call: CoordinationCall, lease: LeaseId): Promise<LeaseId | EtcdError> {
  if (lease !== NO_LEASE) return lease;
  const command = leaseGrantCommand({ id: NO_LEASE, ttlSeconds: BigInt(SESSION_TTL_SECONDS) }, call.member.leases.minTtl);
  if (isEtcdError(command)) return command;
  const granted = await call.member.propose(command, call.caller);
  return isEtcdError(granted) ? granted : (granted as LeaseGrantResponse).id;
}
