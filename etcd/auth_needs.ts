/**
 * What a request needs of its user while auth is on — read or write on keys and ranges, or root —
 * as etcd 3.4 asks it: one list, checked where the request arrives (before it is proposed or
 * read) and again where it is applied, against the auth store as it is then.
 *
 * Where 3.4.23 checks less and Concord does not follow: a txn nested in a txn is checked like any
 * other (3.4.23 never looks inside: a bypass etcd fixed later), and a put's prev_kv inside a txn
 * needs read as it does outside one.
 *
 * Owns: the list for each request. Never: decides whether a user has them (store/auth.ts).
 */
import type { Command } from "./commands.ts";
import type { Bytes, LeaseId, RangeRequest, RequestOp, TxnRequest } from "./types.ts";

export type Need = { kind: "read" | "write"; key: Bytes; rangeEnd: Bytes } | { kind: "admin" };

const EMPTY = new Uint8Array(0);
const read = (key: Bytes, rangeEnd: Bytes): Need => ({ kind: "read", key, rangeEnd });
const write = (key: Bytes, rangeEnd: Bytes): Need => ({ kind: "write", key, rangeEnd });

export const rangeNeeds = (r: RangeRequest): Need[] => [read(r.key, r.rangeEnd)];

function opNeeds(op: RequestOp, leaseKeys: (id: LeaseId) => Bytes[]): Need[] {
  switch (op.kind) {
    case "range": return rangeNeeds(op.range);
    case "put": return putNeeds(op.put.key, op.put.prevKv, op.put.lease, leaseKeys);
    case "deleteRange": return [write(op.deleteRange.key, op.deleteRange.rangeEnd), ...(op.deleteRange.prevKv ? [read(op.deleteRange.key, op.deleteRange.rangeEnd)] : [])];
    case "txn": return txnNeeds(op.txn, leaseKeys);
    case "empty": return [];
  }
}

/** A put writes its key, reads it for prev_kv, and — with a lease — must be able to write every key the lease holds (etcd's checkLeasePuts). */
function putNeeds(key: Bytes, prevKv: boolean, lease: LeaseId, leaseKeys: (id: LeaseId) => Bytes[]): Need[] {
  const needs = [write(key, EMPTY)];
  if (prevKv) needs.push(read(key, EMPTY));
  if (lease !== 0n) for (const k of leaseKeys(lease)) needs.push(write(k, EMPTY));
  return needs;
}

/** Every compare reads its key or range; every op of both branches needs what it needs alone. */
function txnNeeds(t: TxnRequest, leaseKeys: (id: LeaseId) => Bytes[]): Need[] {
  return [
    ...t.compare.map((c) => read(c.key, c.rangeEnd)),
    ...t.success.flatMap((op) => opNeeds(op, leaseKeys)),
    ...t.failure.flatMap((op) => opNeeds(op, leaseKeys)),
  ];
}

/**
 * What proposing `command` needs; `leaseKeys` names the keys a lease holds now. Commands only
 * members make (lease checkpoints, membership records) and etcd's unchecked ones (a lease grant,
 * a compaction, an alarm — 3.4 checks none) need nothing.
 */
export function commandNeeds(command: Command, leaseKeys: (id: LeaseId) => Bytes[]): Need[] {
  switch (command.op) {
    case "put": return putNeeds(command.put.key, command.put.prevKv, command.put.lease, leaseKeys);
    case "deleteRange": return opNeeds({ kind: "deleteRange", deleteRange: command.deleteRange }, leaseKeys);
    case "txn": return txnNeeds(command.txn, leaseKeys);
    case "leaseRevoke": return leaseKeys(command.id).map((k) => write(k, EMPTY));
    case "compact":
    case "leaseGrant":
    case "leaseCheckpoint":
    case "conf":
    case "publish":
    case "updatePeers":
    case "authenticate":
    case "alarm":
      return [];
    case "authEnable":
    case "authDisable":
    case "userAdd":
    case "userDelete":
    case "userChangePassword":
    case "userGrantRole":
    case "userRevokeRole":
    case "roleAdd":
    case "roleDelete":
    case "roleGrantPermission":
    case "roleRevokePermission":
      return [{ kind: "admin" }];
  }
}
