/**
 * What the client surfaces (the JSON gateway, the console and gRPC) need of a member — the one seam
 * between them and the runtime.
 *
 * Owns: the contract. Never: an implementation (member/ has it).
 */
import type { LimitRefusals } from "../metrics/limit_refusals.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { CallerAuth, Command, CommandResult } from "../etcd/commands.ts";
import type { AlarmAction, AlarmMember, AlarmType } from "../etcd/alarms.ts";
import type { AuthService } from "./auth_service.ts";
import type { EtcdError } from "../etcd/errors.ts";
import type { LeaseId, RangeRequest, RangeResponse } from "../etcd/types.ts";
import type { LeaseService } from "./lease_service.ts";
import type { FolderListing } from "../store/folders.ts";
import type { WatchHub } from "../watch/hub.ts";
import type { SearchAnswer } from "./paged_range.ts";
import type { KvHash, MemberInfo, MemberStatus } from "./member.ts";
import type { StateCopy } from "../store/snapshots.ts";
import type { MembershipRequest, MembershipResult } from "../etcd/membership.ts";
import type { HeaderContext } from "../etcd/types.ts";

export interface ApiMember {
  /** The member's part of every response header, as of now. */
  readonly header: HeaderContext;
  /** The revision applied here so far. */
  readonly revision: number;
  /** The member's watchers. */
  readonly watches: WatchHub;
  /** What /metrics shows: surfaces count into it too. */
  readonly metrics: Metrics;
  /** What the member's limits (and the surfaces') refused. */
  readonly refusals: LimitRefusals;
  /** A learner only serves serializable reads and status, as in etcd. */
  readonly isLearner: boolean;
  /** Replicates a write (checked against `caller` first, and as it applies); resolves once it is applied, with what applying it answered. */
  propose(command: Command, caller?: CallerAuth): Promise<CommandResult>;
  /**
   * For a linearizable read: resolves once every write acknowledged before the call is applied
   * here; undefined when that holds already.
   */
  readBarrier(): Promise<EtcdError | undefined> | undefined;
  /** etcd's health check: undefined when healthy, else why not (storage failed, no leader, no read confirmed in time). */
  health(timeoutMs: number): Promise<EtcdError | undefined>;
  /** Reads from the member's state as applied so far: at once when small, else in pages (a promise; member/paged_range.ts). */
  range(request: RangeRequest, caller?: CallerAuth): RangeResponse | EtcdError | Promise<RangeResponse | EtcdError>;
  /** The children of a prefix by a separator, read locally (Concord's, for the console). */
  folders(prefix: Uint8Array, separator: Uint8Array, start: Uint8Array | undefined, limit: number): (FolderListing & { revision: number }) | EtcdError;
  /** Concord's search over keys and values, read locally. */
  search(request: { key: Uint8Array; rangeEnd: Uint8Array; needle: Uint8Array; limit: number; after?: Uint8Array }): Promise<SearchAnswer | EtcdError>;
  members(): MemberInfo[];
  /** etcd's Auth service, and who a request's token names. */
  readonly auth: AuthService;
  /** The minimum TTL, keep-alives and time-to-live, answered by the leader. */
  readonly leases: Pick<LeaseService, "minTtl" | "renew" | "timeToLive">;
  leaseIds(): LeaseId[];
  leaseKeys(id: LeaseId): Uint8Array[];
  status(): MemberStatus;
  /** etcd's HashKV at a revision (0: now), the number etcd gives for the same history; read locally. */
  hashKv(revision: number): KvHash | EtcdError;
  /** etcd's Hash, Concord's way: of everything replicated, comparable between Concord members. */
  hash(): { hash: number; revision: number } | EtcdError;
  /** A consistent copy of the state now, as a file to send and then release (etcd's Snapshot); made off the member's thread. */
  snapshot(): Promise<StateCopy | EtcdError>;
  /** Hands the state's free pages back to the file system (etcd's Defragment), serving meanwhile; resolves when done. */
  defragment(): Promise<EtcdError | undefined>;
  /** etcd's Alarm (through the log): the alarms listed (`alarm` NONE: all), raised or cleared. */
  alarm(action: AlarmAction, memberId: string, alarm: AlarmType): Promise<AlarmMember[] | EtcdError>;
  /** The alarms raised, as applied here. */
  alarms(): AlarmMember[];
  changeMembership(request: MembershipRequest): Promise<MembershipResult | EtcdError>;
  /** Hands leadership to the member with this id (hex); answers once it moved. */
  moveLeader(to: string): Promise<EtcdError | undefined>;
}
