/**
 * What the peer port needs of the member it serves: the one seam between peer requests and the
 * member runtime, so peer/ never imports member/ (the member implements this and calls peer/'s
 * clients; the arrows point one way).
 *
 * Owns: the contract. Never: an implementation (member/ has it).
 */
import type { EtcdError } from "../etcd/errors.ts";
import type { MembershipRequest, MembershipResult } from "../etcd/membership.ts";
import type { Message, NodeId } from "../raft/types.ts";
import type { ChunkOutcome, ClusterInfo, ForwardedProposal, LeaseAnswer, LeaseQuestion, Placement, SnapshotChunk, StreamFrame } from "./types.ts";

export interface PeerService {
  readonly clusterToken: string;
  /** This member's id: the proofs it accepts are addressed to it. */
  readonly self: NodeId;
  readonly isLeader: boolean;
  /** Raft messages from other members. */
  step(messages: readonly Message[]): void;
  /** Writes a follower handed over: proposed here if this member leads; where each landed. */
  acceptForwarded(proposals: readonly ForwardedProposal[]): Placement[];
  /** Sends a frame on this member's stream to `to`; false when none is open. */
  sendFrame(to: NodeId, frame: StreamFrame): boolean;
  /** Where the leader placed writes this member handed it on the stream. */
  placed(placements: readonly Placement[]): void;
  /** A chunk of a snapshot arriving from the leader (store/snapshots.ts checks its bounds and digest). */
  receiveSnapshotChunk(chunk: SnapshotChunk, bytes: Uint8Array): ChunkOutcome;
  changeMembership(request: MembershipRequest): Promise<MembershipResult | EtcdError>;
  /** The leader's answers about lease time. */
  answerLease(question: LeaseQuestion): Promise<LeaseAnswer | EtcdError>;
  clusterInfo(): ClusterInfo;
  /** etcd's HashKV of this member's key space at `revision` (0: now), for another member to compare. */
  hashKv(revision: number): { hash: number; revision: number; compactRevision: number } | EtcdError;
}
