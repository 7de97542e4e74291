/**
 * The watch and lease requests of etcd's JSON gateway as valibot schemas (etcdserverpb's
 * WatchRequest and Lease* messages, fields in proto order), and their conversion to what the
 * routes use, with proto3 defaults filled in.
 *
 * Owns: which fields those requests have and their kinds. Never: what the requests do.
 */
import { EMPTY_BYTES, type LeaseId } from "../../etcd/types.ts";
import { bool, bytes, enumeration, int64, int64Number, message, repeated, spec, type WireMessage } from "../compat/proto_json.ts";
import type { WatchCreate } from "../../watch/session.ts";


/** WatchCreateRequest.FilterType: NOPUT = 0, NODELETE = 1. */
const filterType = enumeration("etcdserverpb.WatchCreateRequest_FilterType", ["NOPUT", "NODELETE"]);

const createSchema = message<WireMessage>([
  spec("key", bytes),
  spec("range_end", bytes),
  spec("start_revision", int64Number),
  spec("progress_notify", bool),
  spec("filters", repeated(filterType)),
  spec("prev_kv", bool),
  spec("watch_id", int64Number),
  spec("fragment", bool),
]);

export const watchRequestSchema = message<WireMessage>([], [
  spec("create_request", createSchema),
  spec("cancel_request", message<WireMessage>([spec("watch_id", int64Number)])),
  spec("progress_request", message<WireMessage>([])),
]);

export type WatchRequest =
  | { kind: "create"; create: WatchCreate }
  | { kind: "cancel"; watchId: number }
  | { kind: "progress" }
  | { kind: "none" };

export function toWatchCreate(w: WireMessage): WatchCreate {
  const filters = (w.filters as number[] | undefined) ?? [];
  return {
    key: (w.key as Uint8Array | undefined) ?? EMPTY_BYTES,
    rangeEnd: (w.range_end as Uint8Array | undefined) ?? EMPTY_BYTES,
    startRevision: (w.start_revision as number | undefined) ?? 0,
    progressNotify: (w.progress_notify as boolean | undefined) ?? false,
    noPut: filters.includes(0),
    noDelete: filters.includes(1),
    prevKv: (w.prev_kv as boolean | undefined) ?? false,
    watchId: (w.watch_id as number | undefined) ?? 0,
  };
}

/**
 * The request a decoded WatchRequest makes. When one object sets several members of the oneof,
 * etcd's gateway keeps one of them, which one varying from run to run (seen: a cancel, and in
 * another run the create); Concord always keeps the last in proto order (progress, then cancel,
 * then create).
 */
export function toWatchRequest(w: WireMessage): WatchRequest {
  if (w.progress_request !== undefined) return { kind: "progress" };
  if (w.cancel_request !== undefined) return { kind: "cancel", watchId: ((w.cancel_request as WireMessage).watch_id as number | undefined) ?? 0 };
  if (w.create_request !== undefined) return { kind: "create", create: toWatchCreate(w.create_request as WireMessage) };
  return { kind: "none" };
}

// ---- leases ----

export const leaseGrantSchema = message<WireMessage>([spec("TTL", int64), spec("ID", int64)]);
export const leaseIdSchema = message<WireMessage>([spec("ID", int64)]);
export const leaseTimeToLiveSchema = message<WireMessage>([spec("ID", int64), spec("keys", bool)]);

export const leaseIdOf = (w: WireMessage): LeaseId => (w.ID as bigint | undefined) ?? 0n;
export const ttlOf = (w: WireMessage): bigint => (w.TTL as bigint | undefined) ?? 0n;
export const wantsKeys = (w: WireMessage): boolean => (w.keys as boolean | undefined) ?? false;
