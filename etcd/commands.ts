/**
 * The commands a member replicates through its log, and their byte encoding in a log entry.
 *
 * Owns: what a write is once accepted (a validated etcd request) and how it is stored in the log.
 * The encoding is JSON with bytes as base64 and int64 lease ids as decimal strings, so a log is
 * readable with sqlite3 and survives any runtime. Never: semantics — the store's applier gives them.
 */
import type { AlarmCommand, AlarmMember } from "./alarms.ts";
import type { AuthCommand } from "./auth.ts";
import type { EtcdError } from "./errors.ts";
import type {
  CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantResponse, LeaseId,
  LeaseRevokeResponse, PutRequest, PutResponse, TxnRequest, TxnResponse,
} from "./types.ts";

export type Command =
  | { op: "put"; put: PutRequest }
  | { op: "deleteRange"; deleteRange: DeleteRangeRequest }
  | { op: "txn"; txn: TxnRequest }
  | { op: "compact"; compact: CompactionRequest }
  | LeaseCommand
  | MembershipCommand
  | AuthCommand
  | AlarmCommand;

/**
 * Leases: a grant names its id (the proposer picks one when the client did not) and its TTL
 * (already raised to the minimum); a revoke deletes the lease and its keys; a checkpoint records
 * the remaining TTLs the leader counted (0: the whole TTL again; -1: none left but a new leader's
 * extension), so a new leader does not start every lease afresh.
 */
export type LeaseCommand =
  | { op: "leaseGrant"; id: LeaseId; ttl: number }
  | { op: "leaseRevoke"; id: LeaseId }
  | { op: "leaseCheckpoint"; checkpoints: { id: LeaseId; remaining: number }[] };

/**
 * Changes to the cluster's member list. `conf` comes from a membership entry (raft/'s ConfChange,
 * whose context carries the peer URLs of a member being added); `publish` is a member announcing
 * its name and client URLs once it runs; `updatePeers` is etcd's member update.
 */
export type MembershipCommand =
  | { op: "conf"; kind: "addVoter" | "addLearner" | "removeNode"; id: string; peerUrls: string[] | undefined }
  | { op: "publish"; id: string; name: string; clientUrls: string[] }
  | { op: "updatePeers"; id: string; peerUrls: string[] };

/**
 * Who asked for a command, while auth is on: the user and the auth revision its request was
 * checked against (0: no user given). Commands members make on their own carry none.
 */
export interface CallerAuth {
  user: string;
  revision: number;
}

/** A command as it travels in an entry: `rid` names the request a follower waits for; `auth` who asked. */
export type ProposedCommand = Command & { rid?: string; auth?: CallerAuth };

/** What applying a command answers; undefined for entries that carry no command. */
export type CommandResult =
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | { header: { revision: number }; token?: string; authRevision?: number }
  | { header: { revision: number }; alarms: AlarmMember[] }
  | EtcdError
  | undefined;

const BYTES = "$b";
const INT64 = "$i";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The command as plain JSON values; a walk of our own is several times faster than a replacer. */
function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES]: value.toBase64() };
  if (typeof value === "bigint") return { [INT64]: value.toString() };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key in value) out[key] = toPlain((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** The inverse of toPlain, in place; a walk of our own is several times faster than a reviver. */
function fromPlain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromPlain(value[i]);
    return value;
  }
  const tagged = value as Record<string, unknown>;
  if (typeof tagged[BYTES] === "string") return Uint8Array.fromBase64(tagged[BYTES] as string);
  if (typeof tagged[INT64] === "string") return BigInt(tagged[INT64] as string);
  for (const key in tagged) tagged[key] = fromPlain(tagged[key]);
  return tagged;
}

export function encodeCommand(command: Command, rid?: string): Uint8Array {
  const plain = toPlain(command) as Record<string, unknown>;
  if (rid !== undefined) plain.rid = rid;
  return encoder.encode(JSON.stringify(plain));
}

export function decodeCommand(data: Uint8Array): ProposedCommand {
  return fromPlain(JSON.parse(decoder.decode(data))) as ProposedCommand;
}
