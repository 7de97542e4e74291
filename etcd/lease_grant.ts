/**
 * etcd's rules for a lease grant before it is proposed, for every surface: a TTL over the maximum
 * is refused, one under the minimum is raised to it, and a grant that names no id gets a random
 * positive one (etcd's come from its request id generator).
 *
 * Owns: turning a grant request into the command proposed. Never: keeps time or knows whether the
 * id is taken (the applier answers "lease already exists").
 */
import { LEASE_TTL_SECONDS_MAX } from "../config/limits.ts";
import type { LeaseCommand } from "./commands.ts";
import { type EtcdError, Errors } from "./errors.ts";
import { type LeaseId, NO_LEASE } from "./types.ts";

/** A new lease id: random, positive and never 0. */
function newLeaseId(): LeaseId {
  for (;;) {
    const id = crypto.getRandomValues(new BigUint64Array(1))[0] & 0x7fff_ffff_ffff_ffffn;
    if (id !== 0n) return id;
  }
}

/** The grant to propose for a request of `ttlSeconds` and `id` (0: pick one), or etcd's refusal. */
export function leaseGrantCommand(request: { id: LeaseId; ttlSeconds: bigint }, minTtlSeconds: number): LeaseCommand | EtcdError {
  if (request.ttlSeconds > LEASE_TTL_SECONDS_MAX) return Errors.leaseTtlTooLarge;
  const ttl = Math.max(Number(request.ttlSeconds), minTtlSeconds);
  return { op: "leaseGrant", id: request.id === NO_LEASE ? newLeaseId() : request.id, ttl };
}
