/**
 * etcd's Lease service over gRPC, its unary calls: LeaseGrant, LeaseRevoke, LeaseTimeToLive and
 * LeaseLeases (LeaseKeepAlive, a stream, is lease_keepalive.ts).
 *
 * Owns: each call's path from a decoded request to its response message. Never: keeps time (the
 * leader's lessor does), changes leases except by proposing, or rules of its own (a grant's bounds
 * and id are every surface's: etcd/lease_grant.ts).
 */
import { isEtcdError } from "../etcd/errors.ts";
import { leaseGrantCommand } from "../etcd/lease_grant.ts";
import type { LeaseGrantResponse, LeaseRevokeResponse } from "../etcd/types.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ServiceImplementation } from "./calls.ts";
import { bool, int64 } from "./requests.ts";
import { fields, header } from "./responses.ts";
import { unary, type UnaryHandler } from "./unary.ts";

const grant: UnaryHandler = async (member, m, caller) => {
  if (isEtcdError(caller)) return caller;
  const command = leaseGrantCommand({ id: int64(m, "ID"), ttlSeconds: int64(m, "TTL") }, member.leases.minTtl);
  if (isEtcdError(command)) return command;
  const result = await member.propose(command, caller);
  if (isEtcdError(result)) return result;
  const granted = result as LeaseGrantResponse;
  return fields().message("header", header(member.header, granted.header.revision)).int("ID", granted.id).int("TTL", granted.ttl)
    .done();
};

const revoke: UnaryHandler = async (member, m, caller) => {
  if (isEtcdError(caller)) return caller;
  const result = await member.propose({ op: "leaseRevoke", id: int64(m, "ID") }, caller);
  if (isEtcdError(result)) return result;
  return fields().message("header", header(member.header, (result as LeaseRevokeResponse).header.revision)).done();
};

const timeToLive: UnaryHandler = async (member, m) => {
  const id = int64(m, "ID");
  const time = await member.leases.timeToLive(id);
  if (isEtcdError(time)) return time;
  const out = fields().message("header", header(member.header, member.revision)).int("ID", id);
  // etcd answers a lease it does not know with TTL -1 and nothing else.
  if (time === undefined) return out.int("TTL", -1).done();
  const keys = bool(m, "keys") ? member.leaseKeys(id) : [];
  return out.int("TTL", time.ttl).int("grantedTTL", time.grantedTtl).list("keys", keys).done();
};

const leases: UnaryHandler = (member) =>
  fields().message("header", header(member.header, member.revision))
    .list("leases", member.leaseIds().map((id) => fields().int("ID", id).done())).done();

export function leaseService(member: ApiMember): ServiceImplementation {
  return {
    LeaseGrant: unary(member, grant),
    LeaseRevoke: unary(member, revoke),
    LeaseTimeToLive: unary(member, timeToLive),
    LeaseLeases: unary(member, leases),
  };
}
