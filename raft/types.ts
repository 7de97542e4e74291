/**
 * Raft's vocabulary: node ids, log entries, messages, hard state and the Ready a node hands out.
 *
 * Owns: shapes only. Never: behaviour, I/O, or anything outside raft/.
 */

/** A member's id, as etcd prints it (hex). */
export type NodeId = string;
export const NO_NODE: NodeId = "";
export const TRANSFER_CONTEXT = "leader-transfer";

export interface Entry {
  index: number;
  term: number;
  /** A command's bytes; empty for a leader's first entry of its term. */
  data: Uint8Array;
  /** Set on entries that change the membership; their data is an encoded ConfChange. */
  type?: "confChange";
}

/** One membership change; changes are made one at a time. Adding a learner as a voter promotes it. */
export interface ConfChange {
  kind: "addVoter" | "addLearner" | "removeNode";
  node: NodeId;
  /** Opaque to Raft: what the runtime needs to know about the member (etcd's ConfChange.Context). */
  context?: string;
}

/** Who is in the cluster: voters decide, learners only receive the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export type MessageType =
  | "app" | "appResp"
  | "vote" | "voteResp" | "preVote" | "preVoteResp"
  | "heartbeat" | "heartbeatResp"
  | "readIndex" | "readIndexResp"
  | "timeoutNow"
  | "snap";

/** The runtime's state as of a log index: what replaces the entries up to it. */
export interface Snapshot {
  index: number;
  term: number;
  /** The membership as of `index`. */
  conf: ConfState;
  /** Opaque to Raft: the runtime's encoding of its state. */
  data: Uint8Array;
}

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** app: the term of the entry before `entries`; vote: the candidate's last term; appResp: hint term. */
  logTerm: number;
  /** app: the index before `entries`; vote: the candidate's last index; appResp: the index acked or rejected. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** appResp on reject: where the follower suggests the leader look for a match. */
  rejectHint: number;
  /**
   * readIndex and heartbeats: which read request a message belongs to ("" for none); vote
   * requests: TRANSFER_CONTEXT when a leader handed over, so voters answer despite their lease.
   */
  context: string;
  /** snap: the leader's snapshot, for a follower that needs entries the leader compacted away. */
  snapshot?: Snapshot;
}

/** A linearizable read that may be served once the state has applied `index`. */
export interface ReadState {
  index: number;
  context: string;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/**
 * What a node asks its runtime to do, in order: install `snapshot` (replacing its state and log);
 * persist `entries` (replacing any at or after the first one's index) and `hardState`; then send
 * `messages`; then apply `committed`; then serve `readStates` once applied up to their index.
 * Then call advance().
 */
export interface Ready {
  snapshot: Snapshot | undefined;
  hardState: HardState | undefined;
  entries: Entry[];
  messages: Message[];
  committed: Entry[];
  readStates: ReadState[];
}
