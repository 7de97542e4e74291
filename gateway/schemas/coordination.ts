/**
 * The lock and election requests of etcd's JSON gateway as valibot schemas (v3lockpb's and
 * v3electionpb's messages, fields in proto order), and their conversion to what the routes use,
 * with proto3 defaults filled in.
 *
 * Owns: which fields those requests have and their kinds. Never: what the requests do.
 */
import type { LeaderKey } from "../../coordination/election.ts";
import { type Bytes, EMPTY_BYTES, type LeaseId, NO_LEASE } from "../../etcd/types.ts";
import { bytes, int64, int64Number, message, spec, type WireMessage } from "../compat/proto_json.ts";

const leaderKeySchema = message<WireMessage>([spec("name", bytes), spec("key", bytes), spec("rev", int64Number), spec("lease", int64)]);

export const lockSchema = message<WireMessage>([spec("name", bytes), spec("lease", int64)]);
export const unlockSchema = message<WireMessage>([spec("key", bytes)]);
export const campaignSchema = message<WireMessage>([spec("name", bytes), spec("lease", int64), spec("value", bytes)]);
export const leaderSchema = message<WireMessage>([spec("name", bytes)]);
export const resignSchema = message<WireMessage>([spec("leader", leaderKeySchema)]);
export const proclaimSchema = message<WireMessage>([spec("leader", leaderKeySchema), spec("value", bytes)]);

export const bytesOf = (w: WireMessage, field: string): Bytes => (w[field] as Bytes | undefined) ?? EMPTY_BYTES;
export const leaseOf = (w: WireMessage, field: string): LeaseId => (w[field] as LeaseId | undefined) ?? NO_LEASE;

/** The request's LeaderKey, or undefined when it has none. */
export function leaderKeyOf(w: WireMessage): LeaderKey | undefined {
  const l = w.leader as WireMessage | undefined;
  return l === undefined ? undefined : { name: bytesOf(l, "name"), key: bytesOf(l, "key"), rev: (l.rev as number | undefined) ?? 0, lease: leaseOf(l, "lease") };
}
