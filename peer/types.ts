/**
 * The peer protocol's vocabulary: what members say to each other, as values, whichever carrier
 * (stream frame or request) takes it.
 *
 * Owns: the shapes. Never: their encoding (codec.ts and each call's module) or behaviour.
 */
import type { LeaseId, LeaseTime, MemberRecord } from "../etcd/types.ts";
import type { Message } from "../raft/types.ts";

/** A write a follower hands to the leader: its request id and the encoded command. */
export interface ForwardedProposal {
  rid: string;
  data: Uint8Array;
}

/** A placement's index when the leader did not take the write: it does not lead, or has too many waiting. */
export const REFUSED_NOT_LEADER = 0;
export const REFUSED_BUSY = -1;

/** Where the leader put a forwarded write in its log, or REFUSED_NOT_LEADER / REFUSED_BUSY. */
export interface Placement {
  rid: string;
  index: number;
  term: number;
}

/** The cluster as a member knows it: how a member started with `existing` finds it. */
export interface ClusterInfo {
  clusterId: string;
  members: MemberRecord[];
}

/** Whether a snapshot chunk was taken, or why not. */
export type ChunkOutcome = "more" | "complete" | { error: string };

/** Where a snapshot chunk belongs: the snapshot's index, size and SHA-256 (hex) as announced, the chunk's offset. */
export interface SnapshotChunk {
  index: number;
  offset: number;
  total: number;
  sha256: string;
}

/** A question for the leader: renew a lease, or tell its TTL. */
export type LeaseQuestion = { op: "renew"; id: LeaseId } | { op: "timeToLive"; id: LeaseId };
/** The leader's answer: the renewed TTL (0: no such lease), or the TTL left (undefined: no such lease). */
export type LeaseAnswer = { ttl: number } | { time: LeaseTime | undefined };

/**
 * What travels on a peer stream (one WebSocket per pair of members), a kind byte first: Raft
 * messages; writes a follower hands to the leader, each with its request id; and where the leader
 * placed them in its log (Placement, above).
 */
export type StreamFrame =
  | { kind: "raft"; messages: Message[] }
  | { kind: "propose"; proposals: ForwardedProposal[] }
  | { kind: "placed"; placements: Placement[] };
