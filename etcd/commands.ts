/**
 * The commands a member replicates through its log, and their byte encoding in a log entry.
 *
 * Owns: what a write is once accepted (a validated etcd request) and how it is stored in the log.
 * A put without a caller — most of what a log holds — is binary (putCodec below): the leader need
 * not base64 and stringify it, nor every member parse it back. Every other command is JSON with
 * bytes as base64 and int64 lease ids as decimal strings, readable with sqlite3. A JSON entry
 * starts with "{", a binary put with PUT_TAG. Never: semantics — the store's applier gives them.
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

/** The first byte of a binary put; a JSON entry's is "{". */
const PUT_TAG = 0x01;
const PREV_KV = 1;
const IGNORE_VALUE = 2;
const IGNORE_LEASE = 4;
const HAS_RID = 8;
/** Tag, flags, lease (int64), key length (uint32); then the key, the value's length (uint32), the value, and a rid's length (uint16) and UTF-8. */
const PUT_HEAD_BYTES = 1 + 1 + 8 + 4;

/**
 * A put as bytes, all integers big-endian: tag, flags (prevKv, ignoreValue, ignoreLease, rid
 * given), lease, key length, key, value length, value, and with a rid its length and text.
 */
const putCodec = {
  encode(put: PutRequest, rid: string | undefined): Uint8Array {
    const ridBytes = rid === undefined ? undefined : encoder.encode(rid);
    const out = new Uint8Array(PUT_HEAD_BYTES + put.key.length + 4 + put.value.length + (ridBytes ? 2 + ridBytes.length : 0));
    const view = new DataView(out.buffer);
    out[0] = PUT_TAG;
    out[1] = (put.prevKv ? PREV_KV : 0) | (put.ignoreValue ? IGNORE_VALUE : 0) | (put.ignoreLease ? IGNORE_LEASE : 0) | (ridBytes ? HAS_RID : 0);
    view.setBigInt64(2, put.lease);
    view.setUint32(10, put.key.length);
    out.set(put.key, PUT_HEAD_BYTES);
    let at = PUT_HEAD_BYTES + put.key.length;
    view.setUint32(at, put.value.length);
    out.set(put.value, at + 4);
    at += 4 + put.value.length;
    if (ridBytes) {
      view.setUint16(at, ridBytes.length);
      out.set(ridBytes, at + 2);
    }
    return out;
  },
  /** Throws on bytes that are not exactly one put. */
  decode(data: Uint8Array): ProposedCommand {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const take = (at: number, length: number) => {
      if (at + length > data.length) throw new Error(`a binary put cut short at byte ${data.length}`);
      return data.slice(at, at + length);
    };
    if (data.length < PUT_HEAD_BYTES) take(0, PUT_HEAD_BYTES);
    const flags = data[1];
    if (flags & ~(PREV_KV | IGNORE_VALUE | IGNORE_LEASE | HAS_RID)) throw new Error(`a binary put with unknown flags ${flags}`);
    const key = take(PUT_HEAD_BYTES, view.getUint32(10));
    let at = PUT_HEAD_BYTES + key.length;
    take(at, 4);
    const value = take(at + 4, view.getUint32(at));
    at += 4 + value.length;
    let rid: string | undefined;
    if (flags & HAS_RID) {
      take(at, 2);
      rid = decoder.decode(take(at + 2, view.getUint16(at)));
      at += 2 + view.getUint16(at);
    }
    if (at !== data.length) throw new Error(`a binary put followed by ${data.length - at} more bytes`);
    const put: PutRequest = {
      key, value, lease: view.getBigInt64(2),
      prevKv: (flags & PREV_KV) !== 0, ignoreValue: (flags & IGNORE_VALUE) !== 0, ignoreLease: (flags & IGNORE_LEASE) !== 0,
    };
    return rid === undefined ? { op: "put", put } : { op: "put", put, rid };
  },
};

export function encodeCommand(command: Command, rid?: string): Uint8Array {
  if (command.op === "put" && !("auth" in command)) return putCodec.encode(command.put, rid);
  const plain = toPlain(command) as Record<string, unknown>;
  if (rid !== undefined) plain.rid = rid;
  return encoder.encode(JSON.stringify(plain));
}

/** Throws on bytes that hold no command. */
export function decodeCommand(data: Uint8Array): ProposedCommand {
  if (data[0] === PUT_TAG) return putCodec.decode(data);
  return fromPlain(JSON.parse(decoder.decode(data))) as ProposedCommand;
}
