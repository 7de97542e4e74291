/**
 * The peer port's paths and headers, shared by both ends of each call (peer/).
 *
 * Owns: paths and header names of member-to-member requests. Never: behaviour.
 */

/** Raft messages, a binary batch (codec.ts) per POST. */
export const MESSAGES_PATH = "/raft/messages";
/** Raft messages over a WebSocket, a binary batch per frame: one connection per pair of members. */
export const STREAM_PATH = "/raft/stream";
/** One chunk of a snapshot: `?index=&offset=&total=`, the chunk's bytes as the body. */
export const SNAPSHOT_PATH = "/raft/snapshot";
/** Writes a follower hands to the leader: a batch of encoded commands; answers where each landed. */
export const PROPOSE_PATH = "/raft/propose";
/** Membership changes a follower hands to the leader (JSON), answered once applied. */
export const CONF_CHANGE_PATH = "/raft/confchange";
/** Lease keep-alives and TTL questions a follower hands to the leader (JSON; lease.ts). */
export const LEASE_PATH = "/raft/lease";
/** etcd's HashKV of a member's key space at a revision (JSON; hashkv.ts), for corruption checks. */
export const HASHKV_PATH = "/raft/hashkv";
/** The cluster as this member knows it (JSON): how a member started with `existing` finds it. */
export const CLUSTER_PATH = "/raft/cluster";

/** Every peer request carries proof that its sender holds the cluster's token (proof.ts); a member refuses requests without. */
export const PROOF_HEADER = "x-concord-peer-proof";
/** The sending member's id (hex); empty for a member still finding its cluster. */
export const FROM_HEADER = "x-concord-from";

