/**
 * etcd's v3lock service (Lock, Unlock) as etcd 3.4 serves it: a lock named N is held by the oldest
 * key under "N/"; a caller's key is "N/" and its session lease in hex, put with that lease (a new
 * 60 s lease when none is given), and it holds the lock once every older key is gone. The key's
 * create revision is the fencing token: a write guarded by a compare on it applies only while the
 * lock is held.
 *
 * Owns: the Lock recipe (clientv3/concurrency's Mutex.Lock: one txn, then waiting for the older
 * keys to be deleted) and Unlock (a delete of the key). Never: keeps a lease alive — the lock lasts
 * as long as its lease or until unlocked.
 */
import { type Bytes, EMPTY_BYTES, type LeaseId, type RangeResponse } from "../etcd/types.ts";
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { asServiceError, byCreation, type CoordinationCall, deleteKey, goHex, joined, rangeOf, sessionLease, txn } from "./client.ts";
import { createRevisionIs } from "./compares.ts";
import { waitDeletes } from "./wait.ts";

export interface Locked {
  /** The revision of the response etcd answers with: the txn's, or the last wait's when the lock was contended. */
  revision: number;
  key: Bytes;
}

/** etcd's Lock: resolves once the caller holds the lock `name` (or with why not). */
export async function lock(call: CoordinationCall, name: Bytes, lease: LeaseId): Promise<Locked | EtcdError> {
  return asServiceError(await locked(call, name, lease));
}

async function locked(call: CoordinationCall, name: Bytes, lease: LeaseId): Promise<Locked | EtcdError> {
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const session = await sessionLease(call, lease);
  if (isEtcdError(session)) return session;
  const prefix = joined(name, "/");
  const myKey = joined(prefix, goHex(session));
  const owner = { kind: "range" as const, range: byCreation(prefix, "first") };
  const answer = await txn(call, {
    compare: [createRevisionIs(myKey, 0)],
    success: [{ kind: "put", put: { key: myKey, value: EMPTY_BYTES, lease: session, prevKv: false, ignoreValue: false, ignoreLease: false } }, owner],
    failure: [{ kind: "range", range: rangeOf({ key: myKey }) }, owner],
  });
  if (isEtcdError(answer)) return answer;
  const rangeAt = (i: number) => (answer.responses[i] as { range: RangeResponse }).range;
  // The caller's key was there already (the session holds or awaits this lock): its own creation counts.
  const myRevision = answer.succeeded ? answer.header.revision : rangeAt(0).kvs[0].createRevision;
  const oldest = rangeAt(1).kvs;
  if (oldest.length === 0 || oldest[0].createRevision === myRevision) return { revision: answer.header.revision, key: myKey };
  const waited = await waitDeletes(call, prefix, myRevision - 1);
  if (isEtcdError(waited)) {
    // Given up (the caller went away, the member stops): the key goes, so no one waits on it.
    await deleteKey(call, myKey);
    return waited;
  }
  return { revision: waited.header.revision, key: myKey };
}

/** etcd's Unlock: deletes the key (whoever's it is, as etcd does); the delete's revision. */
export async function unlock(call: CoordinationCall, key: Bytes): Promise<number | EtcdError> {
  if (call.member.isLearner) return MemberErrors.notForLearner;
  const deleted = await deleteKey(call, key);
  return isEtcdError(deleted) ? asServiceError(deleted) : deleted.header.revision;
}
