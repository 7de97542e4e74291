/**
 * etcd's v3election service (Campaign, Proclaim, Leader, Observe, Resign) as etcd 3.4 serves it:
 * candidates for election N put "N/" and their session lease in hex, with their value; the oldest
 * such key is the leader; a leader is named by its key and that key's create revision (LeaderKey),
 * so a proclamation or a resignation by a leader that lost its key applies nothing.
 *
 * Owns: the recipes (clientv3/concurrency's Election: Campaign, Proclaim, Resign, Leader, observe)
 * and etcd's errors for them. Never: keeps a lease alive.
 */
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { compareBytes, prefixEnd } from "../etcd/keys.ts";
import { type Bytes, EMPTY_BYTES, EventType, type KeyValue, type LeaseId, type RangeResponse } from "../etcd/types.ts";
import { asServiceError, byCreation, type CoordinationCall, get, goHex, joined, rangeOf, sessionLease, txn } from "./client.ts";
import { createRevisionIs } from "./compares.ts";
import { CANCELLED, waitDeletes, watchFrom, watchUntil } from "./wait.ts";

/** etcd's errors of its election server, plain Go errors there: gRPC's Unknown with their text. */
export const ElectionErrors = {
  notLeader: new EtcdError(GrpcCode.UNKNOWN, "election: not leader"),
  noLeader: new EtcdError(GrpcCode.UNKNOWN, "election: no leader"),
  missingLeaderKey: new EtcdError(GrpcCode.UNKNOWN, `"leader" field must be provided`),
} as const;

/** Who leads an election, as a campaign answers it and a proclamation or resignation names it. */
export interface LeaderKey {
  name: Bytes;
  key: Bytes;
  /** The key's create revision: the leadership's identity. */
  rev: number;
  lease: LeaseId;
}

const rangeAt = (answer: { responses: unknown[] }, i: number) => (answer.responses[i] as { range: RangeResponse }).range;

/** A txn that puts or deletes the leader's key if it is still the same key (its create revision). */
async function asLeader(call: CoordinationCall, leader: LeaderKey, then: "put" | "delete", value: Bytes, lease: LeaseId) {
  return await txn(call, {
    compare: [createRevisionIs(leader.key, leader.rev)],
    success: [then === "put"
      ? { kind: "put", put: { key: leader.key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } }
      : { kind: "deleteRange", deleteRange: { key: leader.key, rangeEnd: EMPTY_BYTES, prevKv: false } }],
    failure: [],
  });
}

/** Proclaim by a known leader (its session's lease): the txn's revision, or not-leader. */
async function proclaimAs(call: CoordinationCall, leader: LeaderKey, value: Bytes): Promise<number | EtcdError> {
  const answer = await asLeader(call, leader, "put", value, leader.lease);
  if (isEtcdError(answer)) return answer;
  return answer.succeeded ? answer.header.revision : ElectionErrors.notLeader;
}

async function resignAs(call: CoordinationCall, leader: LeaderKey): Promise<number | EtcdError> {
  const answer = await asLeader(call, leader, "delete", EMPTY_BYTES, 0n);
  return isEtcdError(answer) ? answer : answer.header.revision;
}

/** etcd's Campaign: resolves once the caller leads `name` (its value proclaimed), or with why not. */
export async function campaign(call: CoordinationCall, name: Bytes, lease: LeaseId, value: Bytes): Promise<{ revision: number; leader: LeaderKey } | EtcdError> {
  return asServiceError(await campaigned(call, name, lease, value));
}

async function campaigned(call: CoordinationCall, name: Bytes, lease: LeaseId, value: Bytes): Promise<{ revision: number; leader: LeaderKey } | EtcdError> {
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const session = await sessionLease(call, lease);
  if (isEtcdError(session)) return session;
  const prefix = joined(name, "/");
  const key = joined(prefix, goHex(session));
  const answer = await txn(call, {
    compare: [createRevisionIs(key, 0)],
    success: [{ kind: "put", put: { key, value, lease: session, prevKv: false, ignoreValue: false, ignoreLease: false } }],
    failure: [{ kind: "range", range: rangeOf({ key }) }],
  });
  if (isEtcdError(answer)) return answer;
  const leader: LeaderKey = { name, key, rev: answer.header.revision, lease: session };
  if (!answer.succeeded) {
    // The session campaigned already: its key's creation counts, and its value is made this one.
    const kv = rangeAt(answer, 0).kvs[0];
    leader.rev = kv.createRevision;
    if (compareBytes(kv.value, value) !== 0) {
      const proclaimed = await proclaimAs(call, leader, value);
      if (isEtcdError(proclaimed)) {
        await resignAs(call, leader);
        return proclaimed;
      }
    }
  }
  const waited = await waitDeletes(call, prefix, leader.rev - 1);
  if (isEtcdError(waited)) {
    // A caller that went away takes its candidacy with it; any other failure leaves it standing.
    if (waited === CANCELLED) await resignAs(call, leader);
    return waited;
  }
  return { revision: answer.header.revision, leader };
}

/** etcd's Proclaim: the leader's new value, if `leader` still leads. */
export async function proclaim(call: CoordinationCall, leader: LeaderKey | undefined, value: Bytes): Promise<number | EtcdError> {
  if (!leader) return ElectionErrors.missingLeaderKey;
  if (call.member.isLearner) return MemberErrors.notForLearner;
  // As etcd's server: the session of the lease named (a new one for none), whose lease the value gets.
  const session = await sessionLease(call, leader.lease);
  if (isEtcdError(session)) return asServiceError(session);
  return asServiceError(await proclaimAs(call, { ...leader, lease: session }, value));
}

/** etcd's Resign: the leader's key deleted if it still leads; answered alike either way. */
export async function resign(call: CoordinationCall, leader: LeaderKey | undefined): Promise<number | EtcdError> {
  if (!leader) return ElectionErrors.missingLeaderKey;
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const session = await sessionLease(call, leader.lease);
  if (isEtcdError(session)) return asServiceError(session);
  return asServiceError(await resignAs(call, leader));
}

/** etcd's Leader: the oldest candidate's key-value, or no-leader. */
export async function leader(call: CoordinationCall, name: Bytes): Promise<{ revision: number; kv: KeyValue } | EtcdError> {
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const found = await get(call, byCreation(joined(name, "/"), "first"));
  if (isEtcdError(found)) return asServiceError(found);
  return found.kvs.length === 0 ? ElectionErrors.noLeader : { revision: found.header.revision, kv: found.kvs[0] };
}

/**
 * etcd's Observe: hands `emit` the leader now (or, with none, the first one to come), then each
 * value it proclaims, then the next leader once its key is gone, and so on; while `ready()` is
 * false nothing is handed over (the watch catches up later). Resolves once the caller goes away
 * (cancelled) or the member stops; as in etcd, a read or watch that fails ends it without an error.
 */
export async function observe(
  call: CoordinationCall,
  name: Bytes,
  emit: (revision: number, kv: KeyValue) => void,
  ready: () => boolean,
): Promise<EtcdError | undefined> {
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const prefix = joined(name, "/");
  const ended = (e: EtcdError | undefined) => (e === CANCELLED || e === MemberErrors.stopped ? e : undefined);
  for (;;) {
    const found = await get(call, byCreation(prefix, "first"));
    if (isEtcdError(found)) return ended(found);
    let current: { revision: number; kv: KeyValue } | undefined = found.kvs.length > 0 ? { revision: found.header.revision, kv: found.kvs[0] } : undefined;
    if (!current) {
      const waited = await watchUntil(call, watchFrom(prefix, prefixEnd(prefix), found.header.revision), (events) => {
        const put = events.find((e) => e.change.type === EventType.PUT);
        if (put) current = { revision: put.change.kv.modRevision, kv: put.change.kv };
        return put !== undefined;
      });
      if (waited || !current) return ended(waited);
    }
    const { revision, kv } = current;
    emit(revision, kv);
    const gone = await watchUntil(call, watchFrom(kv.key, EMPTY_BYTES, revision + 1), (events, at) => {
      for (const e of events) {
        if (e.change.type === EventType.DELETE) return true;
        emit(at, e.change.kv);
      }
      return false;
    }, ready);
    if (gone) return ended(gone);
  }
}
