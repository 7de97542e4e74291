/**
 * etcd's v3 KV model as Concord holds it in memory: requests, responses and key-values with bytes
 * as Uint8Array, revisions as numbers (they stay far below 2^53) and lease ids as bigint (int64).
 *
 * Owns: the shapes every layer agrees on. Never: behaviour, JSON, or anything of SQLite or HTTP.
 */

export type Bytes = Uint8Array;
/** etcd's int64 lease id; 0n means "no lease". */
export type LeaseId = bigint;

export const NO_LEASE: LeaseId = 0n;
export const EMPTY_BYTES: Bytes = new Uint8Array(0);

export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: LeaseId;
}

/** A change to one key as a watcher sees it (etcd's mvccpb.Event). */
export enum EventType { PUT = 0, DELETE = 1 }

/**
 * One change made at a revision: for a delete, `kv` holds only the key and the revision. `prev`
 * points at the key's change before it (revision and sub 0 when there was none), from which a
 * watcher that asks for prev_kv gets the key-value as it was.
 */
export interface MvccChange {
  type: EventType;
  kv: KeyValue;
  prevRevision: number;
  prevSub: number;
}

export enum SortOrder { NONE = 0, ASCEND = 1, DESCEND = 2 }
export enum SortTarget { KEY = 0, VERSION = 1, CREATE = 2, MOD = 3, VALUE = 4 }

export interface RangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  limit: number;
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  lease: LeaseId;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd: Bytes;
  prevKv: boolean;
}

export enum CompareResult { EQUAL = 0, GREATER = 1, LESS = 2, NOT_EQUAL = 3 }
export enum CompareTarget { VERSION = 0, CREATE = 1, MOD = 2, VALUE = 3, LEASE = 4 }

export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Bytes;
  rangeEnd: Bytes;
  /** The operand for the target: a number for VERSION/CREATE/MOD, bytes for VALUE, a lease id for LEASE. */
  version: number;
  createRevision: number;
  modRevision: number;
  value: Bytes;
  lease: LeaseId;
}

/** One operation of a txn branch; `empty` is an op with no request set (etcd rejects it). */
export type RequestOp =
  | { kind: "range"; range: RangeRequest }
  | { kind: "put"; put: PutRequest }
  | { kind: "deleteRange"; deleteRange: DeleteRangeRequest }
  | { kind: "txn"; txn: TxnRequest }
  | { kind: "empty" };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface CompactionRequest {
  revision: number;
  physical: boolean;
}

/** The revision part of etcd's ResponseHeader; the member adds cluster, member and term. */
export interface RevisionHeader {
  /** 0 renders as an empty header, as etcd shows nested txn responses. */
  revision: number;
}

export interface RangeResponse {
  header: RevisionHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutResponse {
  header: RevisionHeader;
  prevKv: KeyValue | undefined;
}

export interface DeleteRangeResponse {
  header: RevisionHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type ResponseOp =
  | { kind: "range"; range: RangeResponse }
  | { kind: "put"; put: PutResponse }
  | { kind: "deleteRange"; deleteRange: DeleteRangeResponse }
  | { kind: "txn"; txn: TxnResponse };

export interface TxnResponse {
  header: RevisionHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionResponse {
  header: RevisionHeader;
}

export interface LeaseGrantResponse {
  header: RevisionHeader;
  id: LeaseId;
  /** The TTL granted, in seconds: the one asked for, or etcd's minimum when that was less. */
  ttl: number;
}

/** Answers a lease revoke and a lease checkpoint alike: the revision after it. */
export interface LeaseRevokeResponse {
  header: RevisionHeader;
}

/**
 * The member's part of every response header. A member hands out the same object until its term
 * changes, so what is rendered of it can be kept.
 */
export interface HeaderContext {
  clusterId: bigint;
  memberId: bigint;
  raftTerm: number;
}

/** What the leader knows of a lease's time: TTL seconds left (truncated, as etcd shows it). */
export interface LeaseTime {
  ttl: number;
  grantedTtl: number;
}

/** A member of the cluster as the replicated state records it. */
export interface MemberRecord {
  /** The member's id in hex, as raft/ names nodes. */
  id: string;
  /** Empty until the member has started and published its name. */
  name: string;
  peerUrls: string[];
  /** Empty until the member has started and published them. */
  clientUrls: string[];
  isLearner: boolean;
}
