/**
 * The member runtime: drives the Raft core (raft/) with a clock, the store and the peer transport,
 * and is the only thing the surfaces talk to (client_api.ts for clients, peer/service.ts for peers).
 *
 * Owns: wiring the core to the store, the peers and the clock: the Ready loop's ports
 * (ready_loop.ts has the order of persist, send and apply, and group commit), ticks, and applying
 * committed entries. Each proposer gets the result of applying its own entry: on the leader by
 * index (proposals.ts), on a follower — which hands its writes to the leader — by a request id
 * carried in the entry (forwarded_writes.ts). Membership (membership.ts), leases
 * (lease_service.ts), linearizable reads (read_barrier.ts), reads of the state and compaction's
 * dropping (state_reads.ts), state commits and log trimming (state_commits.ts), snapshots for
 * followers (follower_snapshots.ts) and maintenance — quota, alarms, defragment, auto-compaction,
 * corruption checks (maintenance.ts) — are parts it wires through hooks.
 * Never: parses HTTP or JSON, or touches SQLite directly (store/ does).
 */
import {
  PENDING_PROPOSALS_MAX, RAFT_APPEND_BYTES_MAX, RAFT_APPEND_ENTRIES_MAX, RAFT_INFLIGHT_APPENDS_MAX, REQUEST_TIMEOUT_BASE_MS,
  TICKS_PER_HEARTBEAT,
} from "../config/limits.ts";
import { DEFAULT_AUTH_TOKEN_TTL_S, DEFAULT_WATCH_PROGRESS_NOTIFY_MS } from "../config/defaults.ts";
import { type CallerAuth, type Command, type CommandResult, encodeCommand } from "../etcd/commands.ts";
import { readCommand } from "../etcd/command_check.ts";
import { type AlarmAction, type AlarmMember, type AlarmType, alarmStatusText } from "../etcd/alarms.ts";
import { Maintenance } from "./maintenance.ts";
import { FollowerSnapshots } from "./follower_snapshots.ts";
import type { AutoCompaction } from "../config/maintenance.ts";
import { EtcdError, Errors as StoreErrors, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { type LeaseId, type RangeRequest, type RangeResponse, type TxnRequest } from "../etcd/types.ts";
import { decodeConfChange } from "../raft/confchange.ts";
import { type PlantedBug, raftPlant } from "./planted_bugs.ts";
import { Raft } from "../raft/raft.ts";
import { type ConfChange, type Entry, type Message, NO_NODE, type NodeId, type Snapshot } from "../raft/types.ts";
import { isReadOnly, isSerializableTxn } from "../store/applier.ts";
import type { SearchAnswer } from "./paged_range.ts";
import { type KvHash, StateReads } from "./state_reads.ts";
import type { MemberRecord } from "../etcd/types.ts";
import { openStore, type Store } from "../store/open.ts";
import type { StateCopy } from "../store/snapshots.ts";
import type { FolderListing } from "../store/folders.ts";
import { PeerSender } from "../peer/sender.ts";
import { type BootstrapConfig, bootstrap } from "./bootstrap.ts";
import { type Id, idToHex } from "./identity.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { confChangeCommand, Membership } from "./membership.ts";
import type { MembershipRequest, MembershipResult } from "../etcd/membership.ts";
import type { PeerService } from "../peer/service.ts";
import {
  type ChunkOutcome, type ClusterInfo, type SnapshotChunk, type ForwardedProposal, type LeaseAnswer, type LeaseQuestion, type Placement, REFUSED_BUSY,
  REFUSED_NOT_LEADER, type StreamFrame,
} from "../peer/types.ts";
import { ForwardedWrites } from "./forwarded_writes.ts";
import { LeaseService } from "./lease_service.ts";
import { AuthService } from "./auth_service.ts";
import { SimpleTokens } from "./auth_tokens.ts";
import type { JwtTokens } from "./jwt_tokens.ts";
import { isAuthCommand } from "../etcd/auth.ts";
import { commandNeeds, rangeNeeds } from "../etcd/auth_needs.ts";
import { Proposals } from "./proposals.ts";
import { ReadBarrier } from "./read_barrier.ts";
import { ReadyLoop } from "./ready_loop.ts";
import { StateCommits } from "./state_commits.ts";
import { WatchHub } from "../watch/hub.ts";
import { Metrics } from "../metrics/registry.ts";
import { LimitRefusals } from "../metrics/limit_refusals.ts";
import { type ServerMetrics, serverMetrics } from "./server_metrics.ts";

/** A write that ends with one of these was not applied for want of the cluster (etcd's failed proposals). */
const FAILED_PROPOSALS = new Set([MemberErrors.noLeader, MemberErrors.leaderChanged, MemberErrors.timeout, MemberErrors.stopped].map((e) => e.message));

export interface MemberConfig extends BootstrapConfig {
  dataDir: string;
  heartbeatMs: number;
  electionMs: number;
  /** Applied entries that trigger trimming the log (etcd's --snapshot-count). */
  snapshotCount: number;
  /** How often watchers that asked for it get a progress notification, ms (0: never). */
  watchProgressNotifyMs?: number;
  /** --auth-token jwt: tokens signed with the cluster's key; simple ones otherwise. */
  jwtTokens?: JwtTokens;
  /** --auth-token-ttl: a simple token unused this long is forgotten, ms (default etcd's 300 s). */
  authTokenTtlMs?: number;
  /** --quota-backend-bytes: the most the state may take, bytes (undefined: no quota). */
  quotaBackendBytes?: number;
  /** --auto-compaction-mode and --auto-compaction-retention (undefined: none). */
  autoCompaction?: AutoCompaction;
  /** --experimental-initial-corrupt-check: compare hashes with the peers before serving. */
  initialCorruptCheck?: boolean;
  /** --experimental-corrupt-check-time: how often the leader compares the followers' hashes, ms (undefined: never). */
  corruptCheckIntervalMs?: number;
  /** --strict-reconfig-check (default true): refuse membership changes that could cost the quorum. */
  strictReconfigCheck?: boolean;
  /** Proposals waiting to be applied at most (default PENDING_PROPOSALS_MAX; tests turn it down). */
  pendingProposalsMax?: number;
  /** Called once this member has been removed from the cluster. */
  onRemoved?: () => void;
  /**
   * A bug planted on purpose (raft/planted_bugs.ts), for the chaos harness to prove its checkers
   * find it in real processes; never set outside tests (server.ts warns loudly when it is).
   */
  plantedBug?: PlantedBug;
  log?: (line: string) => void;
}

export interface MemberInfo {
  id: Id;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** etcd's HashKV: the hash, the current revision (the header's) and the compacted one. */
export type { KvHash };

export interface MemberStatus {
  revision: number;
  leader: Id;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  isLearner: boolean;
  /** What etcd's status lists as errors: "etcdserver: no leader" while there is none. */
  errors: string[];
  /** Data bytes of the log entries the Raft core holds in memory (bounded by RAFT_LOG_MEMORY_BYTES_MAX). */
  raftLogMemoryBytes: number;
  /** Log entries the Raft core holds in memory. */
  raftLogEntries: number;
}




export class Member implements PeerService {
  readonly id: Id;
  readonly clusterId: Id;
  readonly #self: NodeId;
  readonly #config: MemberConfig;
  readonly #store: Store;
  readonly #raft: Raft;
  readonly #sender: PeerSender;
  readonly #reads: ReadBarrier;
  readonly #leases: LeaseService;
  readonly #auth: AuthService;
  /** Every watcher on this member, fed by what it applies. */
  readonly watches: WatchHub;
  /** What /metrics shows; every part of the member, and each surface, counts into it. */
  readonly metrics = new Metrics();
  /** What the member's limits refused (concord_limit_refusals_total). */
  readonly refusals = new LimitRefusals(this.metrics);
  /** etcd's server, disk and mvcc metrics, fed as the member works. */
  readonly #serverMetrics: ServerMetrics;
  /** The leader last seen (etcd counts each change to a new one). */
  #seenLeader: NodeId = NO_NODE;
  /** When the last heartbeat to each peer left, for its round trip. */
  readonly #heartbeatSentAt = new Map<NodeId, number>();
  /** etcd's request timeout: REQUEST_TIMEOUT_BASE_MS plus two election timeouts. */
  readonly #requestTimeoutMs: number;
  /** Writes waiting here to be applied: this member's proposals as leader, and those handed to it. */
  readonly #proposals: Proposals;
  /** Writes this member handed to the leader, waiting to be applied here. */
  readonly #forwarded: ForwardedWrites;
  readonly #membership: Membership;
  readonly #commits: StateCommits;
  /** Quota and alarms, defragment, auto-compaction, corruption checks (maintenance.ts). */
  readonly #maintenance: Maintenance;
  /** Snapshots for members behind the log, made off this thread (follower_snapshots.ts). */
  readonly #followerSnapshots: FollowerSnapshots;
  /** Every member's peer URLs, and whether this one is a learner: as of the last membership change. */
  #peerUrls = new Map<NodeId, string[]>();
  #learner = false;
  /** The write path: persist, send and apply each Ready in the right order (ready_loop.ts). */
  readonly #loop: ReadyLoop;
  #failure: Error | undefined;
  /** Compactions asked with `physical`, waiting for their history to be dropped. */
  readonly #stateReads: StateReads;
  #removed = false;
  #published = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #header: { clusterId: Id; memberId: Id; raftTerm: number } | undefined;

  private constructor(config: MemberConfig, store: Store, id: Id, clusterId: Id) {
    this.#config = config;
    this.#store = store;
    this.id = id;
    this.clusterId = clusterId;
    this.#self = idToHex(id);
    this.#requestTimeoutMs = REQUEST_TIMEOUT_BASE_MS + 2 * config.electionMs;
    this.#proposals = new Proposals(this.#requestTimeoutMs);
    const { log, stateMachine } = store;
    const members = store.members.list();
    this.#raft = new Raft({
      id: this.#self, voters: [this.#self],
      electionTicks: Math.max(2, Math.round(config.electionMs / config.heartbeatMs)) * TICKS_PER_HEARTBEAT,
      heartbeatTicks: TICKS_PER_HEARTBEAT,
      // The runtime may use ambient randomness; the core only ever sees this function.
      random: Math.random,
      preVote: true, checkQuorum: true, maxInflight: RAFT_INFLIGHT_APPENDS_MAX, maxEntriesPerAppend: RAFT_APPEND_ENTRIES_MAX, maxAppendBytes: RAFT_APPEND_BYTES_MAX,
      snapshot: () => this.#followerSnapshots.latest(),
      ...(raftPlant(config.plantedBug) ? { plantedBug: raftPlant(config.plantedBug) } : {}),
    }, {
      hardState: log.hardState,
      entries: log.entries(log.firstIndex, log.lastIndex + 1),
      start: log.start,
      applied: stateMachine.appliedIndex,
      conf: { voters: members.filter((m) => !m.isLearner).map((m) => m.id), learners: members.filter((m) => m.isLearner).map((m) => m.id) },
    });
    this.#sender = new PeerSender({
      self: this.#self,
      clusterToken: config.clusterToken,
      dial: config.peerDial,
      snapshotFile: (s) => store.snapshots.outgoing(s.index),
      log: (line) => this.#log(line),
    });
    this.#loop = new ReadyLoop(this.#raft, {
      persist: (entries, hardState, done) => {
        this.#noteLeader();
        const started = performance.now();
        this.#store.log.persist(entries, hardState).then(() => {
          this.#serverMetrics.logSync.observe((performance.now() - started) / 1000);
          done();
        }, (e) => done(e ?? new Error("the log write failed")));
      },
      savedHardState: () => this.#store.log.hardState,
      send: (messages) => {
        for (const m of messages) if (m.type === "heartbeat") this.#heartbeatSentAt.set(m.to, performance.now());
        this.#sender.send(messages);
      },
      apply: (entries) => {
        this.#noteLeader();
        this.#apply(entries);
      },
      installSnapshot: (snapshot, done) => {
        this.#installSnapshot(snapshot).then(() => done(), (e) => done(e ?? new Error("installing the snapshot failed")));
      },
      readsConfirmed: (readStates) => this.#reads.confirmed(readStates),
      defer: (fn) => setImmediate(fn),
      alone: () => this.#peerUrls.size <= 1,
      stopped: () => this.#failure !== undefined,
      failStop: (e) => this.#failStop(e),
    }, raftPlant(config.plantedBug));
    this.#forwarded = new ForwardedWrites({
      self: this.#self,
      clusterToken: config.clusterToken,
      peerInit: config.peerDial.init,
      timeoutMs: this.#requestTimeoutMs,
      leader: () => {
        const urls = this.#peerUrls.get(this.#raft.lead);
        return urls ? { id: this.#raft.lead, urls } : undefined;
      },
      sendFrame: (to, frame) => this.#sender.sendFrame(to, frame),
      appliedIndex: () => this.#store.stateMachine.appliedIndex,
    });
    this.#reads = new ReadBarrier(this.#self, {
      ask: (context) => {
        this.#raft.readIndex(context);
        this.#loop.schedule();
      },
      applied: () => this.#store.stateMachine.appliedIndex,
      now: () => performance.now(),
    }, config.electionMs, this.#requestTimeoutMs);
    const current = () => this.#store;
    const readable = () => !this.#loop.installing && this.#failure === undefined;
    this.watches = new WatchHub({
      get revision() {
        return current().mvcc.revision;
      },
      get compactRevision() {
        return current().mvcc.compactRevision;
      },
      get readable() {
        return readable();
      },
      changesBetween: (from, to, max, bytes) => this.#read(() => this.#store.mvcc.changesBetween(from, to, max, bytes)),
      keyValueAt: (revision, sub) => this.#read(() => this.#store.mvcc.keyValueAt(revision, sub)),
    }, {
      progressNotifyMs: config.watchProgressNotifyMs ?? DEFAULT_WATCH_PROGRESS_NOTIFY_MS,
      ...(config.plantedBug === "watchStartsOneEarly" ? { plantedStartsOneEarly: true } : {}),
    });
    store.stateMachine.listener = this.watches;
    this.#stateReads = new StateReads({
      store: () => this.#store,
      failed: () => this.#failure !== undefined,
      installing: () => this.#loop.installing,
      openForRead: () => this.#read(() => undefined),
      requestTimeoutMs: () => this.#requestTimeoutMs,
      failStop: (e) => this.#failStop(e),
      refused: (limit) => this.refusals.count(limit),
    });
    this.#serverMetrics = serverMetrics(this.metrics, {
      id: this.#self,
      leader: () => this.#raft.lead,
      isLeader: () => this.#raft.role === "leader",
      committedIndex: () => this.#raft.log.committed,
      appliedIndex: () => this.#store.stateMachine.appliedIndex,
      pendingProposals: () => this.#waitingProposals(),
      dbSizeBytes: () => this.#store.sizeBytes(),
      quotaBytes: () => config.quotaBackendBytes,
      liveKeys: () => this.#store.mvcc.liveKeys,
      watchers: () => ({ total: this.watches.size, catchingUp: this.watches.catchingUp }),
      revision: () => this.revision,
      raftLog: () => ({ bytes: this.#raft.log.bytes, entries: this.#raft.log.lastIndex - this.#raft.log.firstIndex + 1 }),
    });
    this.#auth = new AuthService({
      store: () => this.#store.auth,
      propose: (command, caller) => this.propose(command, caller),
      now: () => performance.now(),
      wallClockMs: () => Date.now(),
    }, config.jwtTokens ?? new SimpleTokens(config.authTokenTtlMs ?? DEFAULT_AUTH_TOKEN_TTL_S * 1_000));
    this.#leases = new LeaseService({
      leases: () => this.#store.leases,
      propose: (command) => this.propose(command),
      heartbeatMs: config.heartbeatMs,
      electionMs: config.electionMs,
      requestTimeoutMs: this.#requestTimeoutMs,
      leads: () => this.#raft.role === "leader",
      term: () => this.#raft.term,
      confirmLeadership: () => this.readBarrier() ?? Promise.resolve(undefined),
      caughtUpAsLeader: () => {
        const log = this.#raft.log;
        return this.#raft.role === "leader" && !this.#loop.installing && log.applied >= log.committed &&
          log.term(log.committed) === this.#raft.term;
      },
      stopped: () => this.#failure !== undefined,
      leaderUrls: () => {
        const urls = this.#raft.role === "leader" ? undefined : this.#peerUrls.get(this.#raft.lead);
        return urls && { id: this.#raft.lead, urls };
      },
      hasLeader: () => this.#raft.lead !== NO_NODE,
      until: (check, timeoutMs) => this.until(check, timeoutMs),
      peer: { token: config.clusterToken, self: this.#self, init: config.peerDial.init },
      ...(config.plantedBug === "leaseExpiresOnFollowerClock" ? { plantedFollowerKeepsTime: true } : {}),
    });
    this.#commits = new StateCommits({
      store: () => this.#store,
      snapshotCount: config.snapshotCount,
      ...(raftPlant(config.plantedBug) ? { plantedBug: raftPlant(config.plantedBug) } : {}),
      core: () => ({
        stable: this.#raft.log.stable,
        applied: this.#raft.log.applied,
        compact: (index) => this.#raft.compact(index),
        bytes: this.#raft.log.bytes,
        firstWithinBytes: (maxBytes, upTo) => this.#raft.log.firstWithinBytes(maxBytes, upTo),
      }),
      installing: () => this.#loop.installing,
      snapshotSending: () => this.#sender.snapshotSending(),
      committed: (seconds) => this.#serverMetrics.stateCommit.observe(seconds),
      failStop: (e) => this.#failStop(e),
    });
    this.#membership = new Membership({
      isLeader: () => this.isLeader,
      leader: () => this.#raft.lead,
      members: () => this.memberRecords(),
      connectedFor: (node) => (node === this.#self ? Infinity : this.#sender.activeFor(node)),
      replicatedTo: (node) => {
        const match = this.#raft.matchOf(node);
        return match === undefined ? undefined : { match, leaderLast: this.#raft.log.lastIndex };
      },
      proposeConfChange: (change) => this.#proposeConfChange(change),
      propose: (command) => this.propose(command),
      transferLeadership: (to) => {
        const started = this.#raft.transferLeadership(to);
        if (started) this.#loop.schedule();
        return started;
      },
      until: (check, timeoutMs) => this.until(check, timeoutMs),
      requestTimeoutMs: this.#requestTimeoutMs,
      strictReconfigCheck: config.strictReconfigCheck ?? true,
      peer: { token: config.clusterToken, self: this.#self, init: config.peerDial.init },
    });
    this.#followerSnapshots = new FollowerSnapshots({
      store: () => this.#store,
      termAt: (index) => this.#raft.log.term(index),
      installing: () => this.#loop.installing,
      ready: () => {
        this.#raft.snapshotReady();
        this.#loop.schedule();
      },
      log: (line) => this.#log(line),
    });
    this.#maintenance = new Maintenance({ ...config, peerInit: config.peerDial.init }, {
      self: this.#self,
      store: () => this.#store,
      propose: (command) => this.propose(command),
      read: (fn) => this.#read(fn),
      installing: () => this.#loop.installing,
      compactionFinished: () => this.#stateReads.compactionFinished(),
      failed: () => this.#failure !== undefined,
      failStop: (e) => this.#failStop(e),
      leads: () => this.isLeader,
      revision: () => this.revision,
      peerUrls: () => this.#peerUrls,
      hashKv: (revision) => this.hashKv(revision),
      requestTimeoutMs: this.#requestTimeoutMs,
      log: (line) => this.#log(line),
    });
    this.#syncPeers();
  }

  static async open(config: MemberConfig): Promise<Member> {
    const store = await openStore(config.dataDir, config.plantedBug === "logAppendUnsynced");
    const ids = await bootstrap(store, config);
    if ("error" in ids) {
      await store.close();
      throw new Error(ids.error);
    }
    const self = idToHex(ids.id);
    if (!store.members.get(self) && store.members.list().length > 0) {
      // As etcd: a member that applied its own removal does not come back by restarting.
      await store.close();
      throw new Error(`member ${self} has been permanently removed from the cluster (add it again with member add and a new data dir)`);
    }
    const member = new Member(config, store, ids.id, ids.clusterId);
    await member.#start();
    if (config.initialCorruptCheck) {
      const inconsistent = await member.#maintenance.initialCorruptionCheck();
      if (inconsistent) {
        await member.close();
        throw new Error(inconsistent);
      }
    }
    return member;
  }

  get raftTerm(): number {
    return this.#raft.term;
  }

  /** The member's part of every response header: the same object until the term changes. */
  get header(): { clusterId: Id; memberId: Id; raftTerm: number } {
    if (this.#header?.raftTerm !== this.raftTerm) {
      this.#header = { clusterId: this.clusterId, memberId: this.id, raftTerm: this.raftTerm };
    }
    return this.#header;
  }

  get revision(): number {
    return this.#store.mvcc.revision;
  }

  get self(): NodeId {
    return this.#self;
  }

  get clusterToken(): string {
    return this.#config.clusterToken;
  }

  get isLearner(): boolean {
    return this.#learner;
  }

  /** The leader's id in hex, or "" while there is none. */
  get leader(): NodeId {
    return this.#raft.lead;
  }

  get isLeader(): boolean {
    return this.#raft.role === "leader";
  }

  /**
   * Replicates a write and resolves with what applying it answered. On the leader, everything
   * proposed while a Ready is being persisted goes into the next one: one transaction, one fsync.
   * A follower hands the write to the leader and waits to apply it itself. With a `caller` (auth
   * on, or a token given) it is checked first and carries the caller, checked again as it applies.
   * A txn that only reads is not replicated: it is served like a range.
   */
  propose(asked: Command, caller?: CallerAuth): Promise<CommandResult> {
    if (asked.op === "compact" && asked.compact.physical) {
      // etcd answers a physical compaction once its history is gone, not when it is scheduled.
      return this.#replicate(asked, caller).then(async (result) => {
        if (!isEtcdError(result)) await this.#stateReads.compactionFinished();
        return result;
      });
    }
    return this.#replicate(asked, caller).then((result) => {
      if (isEtcdError(result)) this.#failed(result);
      return result;
    });
  }

  /** Counts a write that failed: etcd's failed proposals (the member could not get it applied), or a refusal. */
  #failed(error: EtcdError): void {
    // LEASES_MAX is checked as a grant applies: its answer says whether it refused.
    if (error.message === StoreErrors.tooManyLeases.message) this.refusals.count("LEASES_MAX");
    if (FAILED_PROPOSALS.has(error.message)) this.#serverMetrics.proposalsFailed.inc();
  }

  /** A peer answered a heartbeat: the time since the last one left is its round trip. */
  #roundTrip(peer: NodeId): void {
    const sent = this.#heartbeatSentAt.get(peer);
    if (sent === undefined) return;
    this.#heartbeatSentAt.delete(peer);
    this.#serverMetrics.peerRoundTrip.observe((performance.now() - sent) / 1000, { To: peer });
  }

  /** Notes the leader now, counting a change to a new one as etcd does. */
  #noteLeader(): void {
    const lead = this.#raft.lead;
    if (lead !== NO_NODE && lead !== this.#seenLeader) this.#serverMetrics.leaderChanges.inc();
    this.#seenLeader = lead;
  }

  #replicate(asked: Command, caller?: CallerAuth): Promise<CommandResult> {
    // etcd's answer once a server stopped (a client tries another member); the log says why.
    if (this.#failure) return Promise.resolve(MemberErrors.stopped);
    // As etcd's quota server: before anything else, even a txn that only reads.
    const noSpace = this.#maintenance.quotaRefuses(asked);
    if (noSpace) return Promise.resolve(noSpace);
    if (asked.op === "txn" && isReadOnly(asked.txn)) return this.#readOnlyTxn(asked.txn, caller);
    if (caller) {
      const denied = this.#auth.check(caller, commandNeeds(asked, (id) => this.#store.leases.keys(id)));
      if (denied) return Promise.resolve(denied);
    }
    const command: Command = caller ? { ...asked, auth: caller } as Command & { auth: CallerAuth } : asked;
    if (this.#waitingProposals() >= (this.#config.pendingProposalsMax ?? PENDING_PROPOSALS_MAX)) {
      this.refusals.count("PENDING_PROPOSALS_MAX");
      return Promise.resolve(MemberErrors.tooManyRequests);
    }
    if (this.#raft.role === "leader") {
      if (!this.#raft.propose(encodeCommand(command))) return Promise.resolve(MemberErrors.leaderChanged);
      return this.#awaitIndex(this.#raft.log.lastIndex, command);
    }
    if (this.#raft.lead === NO_NODE) return Promise.resolve(MemberErrors.noLeader);
    return this.#forwarded.forward(command);
  }

  /** Proposals waiting to be applied: this member's own, those it handed over, those handed to it. */
  #waitingProposals(): number {
    return this.#proposals.size + this.#forwarded.size;
  }

  /** Proposes a membership change (this member leads); resolves once it is applied. */
  #proposeConfChange(change: ConfChange): Promise<CommandResult> | undefined {
    if (!this.#raft.proposeConfChange(change)) return undefined;
    return this.#awaitIndex(this.#raft.log.lastIndex);
  }

  /**
   * Waits, for a linearizable read, until every write acknowledged before now is applied here
   * (ReadIndex). Undefined when nothing need be awaited: a lone voter has applied all it acked.
   */
  readBarrier(): Promise<EtcdError | undefined> | undefined {
    if (this.#raft.role === "leader" && this.#raft.conf.voters.length === 1) return undefined;
    if (this.#failure) return Promise.resolve(MemberErrors.stopped);
    if (this.#raft.lead === NO_NODE) return Promise.resolve(MemberErrors.noLeader);
    return this.#reads.wait();
  }

  /**
   * etcd's health check (3.4's /health): a member whose storage failed, that knows no leader, or
   * that cannot confirm a linearizable read within `timeoutMs` is not healthy — answered with why.
   */
  async health(timeoutMs: number): Promise<EtcdError | undefined> {
    if (this.#failure) return MemberErrors.stopped;
    if (this.#raft.lead === NO_NODE) return MemberErrors.noLeader;
    const barrier = this.readBarrier();
    if (barrier === undefined) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<EtcdError>((resolve) => (timer = setTimeout(() => resolve(MemberErrors.timeout), timeoutMs)));
    try {
      return await Promise.race([barrier, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A read of the local state (state_reads.ts), its permissions checked first. */
  range(request: RangeRequest, caller?: CallerAuth): RangeResponse | EtcdError | Promise<RangeResponse | EtcdError> {
    if (this.#failure) return MemberErrors.stopped;
    const denied = caller && (this.#auth.check(caller, rangeNeeds(request)) ?? this.#auth.staleRead(caller));
    return denied || this.#stateReads.range(request);
  }

  /**
   * A txn that only reads is served as etcd serves it: like a range — after a ReadIndex unless
   * every op is a serializable range — from this member's state, with no log entry, so it costs
   * the cluster nothing and other members no work.
   */
  async #readOnlyTxn(txn: TxnRequest, caller: CallerAuth | undefined): Promise<CommandResult> {
    if (!isSerializableTxn(txn)) {
      const failed = await this.readBarrier();
      if (failed) return failed;
    }
    if (this.#failure) return MemberErrors.stopped;
    // Checked once the read has waited (etcd's doSerialize): a permission revoked before it arrived has been applied here.
    if (caller) {
      const denied = this.#auth.check(caller, commandNeeds({ op: "txn", txn }, () => [])) ?? this.#auth.staleRead(caller);
      if (denied) return denied;
    }
    return this.#stateReads.readOnlyTxn(txn);
  }

  /** Concord's search: live keys in a span whose key or value holds `needle`, read locally. */
  search(request: { key: Uint8Array; rangeEnd: Uint8Array; needle: Uint8Array; limit: number; after?: Uint8Array }): Promise<SearchAnswer | EtcdError> {
    return this.#stateReads.search(request);
  }

  /** The console's key browser: the children of a prefix, read locally (store/folders.ts). */
  folders(prefix: Uint8Array, separator: Uint8Array, start: Uint8Array | undefined, limit: number): (FolderListing & { revision: number }) | EtcdError {
    return this.#stateReads.folders(prefix, separator, start, limit);
  }

  /** etcd's HashKV, read locally (state_reads.ts). */
  hashKv(revision: number): KvHash | EtcdError {
    return this.#stateReads.hashKv(revision);
  }

  /** etcd's Hash, Concord's way, read locally (state_reads.ts). */
  hash(): { hash: number; revision: number } | EtcdError {
    return this.#stateReads.hash();
  }

  /**
   * A consistent copy of the state as of now (etcd's Snapshot call): a SQLite file for the caller
   * to send and then release, made on the checkpoint worker's thread while the member serves.
   */
  async snapshot(): Promise<StateCopy | EtcdError> {
    if (this.#loop.installing || this.#failure) return MemberErrors.stopped;
    const copy = await this.#store.copyState();
    return "error" in copy ? new EtcdError(GrpcCode.UNKNOWN, `concord: the state could not be copied: ${copy.error}`) : copy;
  }

  /** etcd's Defragment, serving meanwhile (maintenance.ts). */
  defragment(): Promise<EtcdError | undefined> {
    return this.#maintenance.defragment();
  }

  /** etcd's Alarm, through the log (maintenance.ts). */
  alarm(action: AlarmAction, memberId: string, alarm: AlarmType): Promise<AlarmMember[] | EtcdError> {
    return this.#maintenance.alarm(action, memberId, alarm);
  }

  /** The alarms raised, as applied here. */
  alarms(): AlarmMember[] {
    return this.#maintenance.alarms();
  }

  /** Reads run inside the state's open batch (see state_machine.ts), which is then committed in time. */
  #read<T>(fn: () => T): T {
    this.#store.stateMachine.openBatch();
    this.#commits.arm();
    return fn();
  }

  members(): MemberInfo[] {
    return this.#store.members.list().map((m) => ({ ...m, id: BigInt(`0x${m.id}`) }));
  }

  memberRecords(): MemberRecord[] {
    return this.#store.members.list();
  }

  /** etcd's member add, remove, update and promote (membership.ts has the rules). */
  changeMembership(request: MembershipRequest): Promise<MembershipResult | EtcdError> {
    return this.#membership.change(request);
  }

  /** etcd's MoveLeader: hands leadership to `to` and answers once it has moved. */
  moveLeader(to: NodeId): Promise<EtcdError | undefined> {
    return this.#membership.moveLeader(to);
  }

  /** Resolves when `check` holds after some Ready, or with false once `timeoutMs` passed. */
  async until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() >= deadline || this.#failure) return false;
      await new Promise((r) => setTimeout(r, this.#config.heartbeatMs / 2));
    }
    return true;
  }

  status(): MemberStatus {
    const size = this.#store.sizeBytes();
    return {
      revision: this.revision,
      leader: this.#raft.lead ? BigInt(`0x${this.#raft.lead}`) : 0n,
      raftIndex: this.#raft.log.committed,
      raftTerm: this.raftTerm,
      raftAppliedIndex: this.#store.stateMachine.appliedIndex,
      dbSizeBytes: size.total,
      dbSizeInUseBytes: size.inUse,
      isLearner: this.isLearner,
      errors: [...(this.#raft.lead === NO_NODE ? [MemberErrors.noLeader.message] : []), ...this.alarms().map(alarmStatusText)],
      raftLogMemoryBytes: this.#raft.log.bytes,
      raftLogEntries: this.#raft.log.lastIndex - this.#raft.log.firstIndex + 1,
    };
  }

  get requestTimeoutMs(): number {
    return this.#requestTimeoutMs;
  }

  // ---- leases ----

  /** Leases as clients reach them (lease_service.ts). */
  get leases(): LeaseService {
    return this.#leases;
  }

  /** etcd's Auth service, and who a token names (auth_service.ts). */
  get auth(): AuthService {
    return this.#auth;
  }

  /** Leases granted so far, in no particular order. */
  leaseIds(): LeaseId[] {
    return this.#store.leases.list().map((l) => l.id);
  }

  /** The keys attached to a lease here, in key order. */
  leaseKeys(id: LeaseId): Uint8Array[] {
    return this.#read(() => this.#store.leases.keys(id));
  }

  // ---- the peer port's side ----

  /** Raft messages from other members. */
  step(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.to !== this.#self) continue;
      if (m.type === "heartbeatResp") this.#roundTrip(m.from);
      if (m.type === "snap" && !this.#store.snapshots.received(m.snapshot!.index)) {
        this.#log(`snapshot at index ${m.snapshot!.index} announced by ${m.from} has not fully arrived; ignored`);
        continue;
      }
      this.#raft.step(m);
    }
    this.#loop.schedule();
  }

  receiveSnapshotChunk(chunk: SnapshotChunk, bytes: Uint8Array): ChunkOutcome {
    return this.#store.snapshots.receiveChunk(chunk, bytes);
  }

  /**
   * Writes a follower handed over: proposed here if this member leads, each counted against the
   * proposal limit until applied or due; where each landed.
   */
  acceptForwarded(proposals: readonly ForwardedProposal[]): Placement[] {
    const placements = proposals.map(({ rid, data }): Placement => {
      if (this.#waitingProposals() >= (this.#config.pendingProposalsMax ?? PENDING_PROPOSALS_MAX)) {
        this.refusals.count("PENDING_PROPOSALS_MAX");
        return { rid, index: REFUSED_BUSY, term: 0 };
      }
      if (!this.#raft.propose(data)) return { rid, index: REFUSED_NOT_LEADER, term: 0 };
      this.#proposals.accepted(this.#raft.log.lastIndex);
      return { rid, index: this.#raft.log.lastIndex, term: this.#raft.term };
    });
    this.#loop.schedule();
    return placements;
  }

  sendFrame(to: NodeId, frame: StreamFrame): boolean {
    return this.#sender.sendFrame(to, frame);
  }

  /** Where the leader placed writes this member handed it. */
  placed(placements: readonly Placement[]): void {
    this.#forwarded.placed(placements);
  }

  answerLease(question: LeaseQuestion): Promise<LeaseAnswer | EtcdError> {
    return this.#leases.answer(question);
  }

  clusterInfo(): ClusterInfo {
    return { clusterId: idToHex(this.clusterId), members: this.#store.members.list() };
  }

  async close(): Promise<void> {
    this.watches.close();
    this.#maintenance.stop();
    clearInterval(this.#ticker);
    this.#commits.cancel();
    this.#sender.close();
    await this.#store.close();
  }

  // ---- internals ----

  #log(line: string): void {
    (this.#config.log ?? console.log)(`concord: ${line}`);
  }

  async #start(): Promise<void> {
    this.#ticker = setInterval(() => this.#tick(), this.#config.heartbeatMs / TICKS_PER_HEARTBEAT);
    this.#maintenance.start();
    // A lone voter leads at once and has applied everything before it serves.
    const { voters } = this.#raft.conf;
    if (voters.length !== 1 || voters[0] !== this.#self) return;
    this.#raft.campaign();
    while (this.#raft.role !== "leader" || this.#raft.log.applied < this.#raft.log.committed || this.#raft.hasReady()) {
      await new Promise<void>((resolve) => {
        this.#loop.whenIdle(resolve);
      });
      if (this.#failure) throw this.#failure;
    }
    // As etcd, a lone member serves clients only once its name and client URLs are published.
    await this.#publish();
  }

  #tick(): void {
    this.#raft.tick();
    const now = performance.now();
    this.#proposals.expire(now);
    this.#forwarded.expire(now);
    this.#reads.tick(MemberErrors.timeout, this.#raft.lead === NO_NODE ? MemberErrors.noLeader : undefined);
    if (!this.#failure) this.#leases.tick(now);
    this.#stateReads.tick();
    this.#publish();
    this.#loop.pump();
  }

  #awaitIndex(index: number, command?: Command): Promise<CommandResult> {
    const applied = this.#proposals.await(index, this.#raft.term, command);
    this.#loop.schedule();
    return applied;
  }

  /** Announces this member's name and client URLs once it has a leader to tell (etcd's publish). */
  #publish(): Promise<unknown> | undefined {
    if (this.#published || this.#removed || this.#raft.lead === NO_NODE) return;
    const record = this.#store.members.get(this.#self);
    if (!record) return;
    const { name, clientUrls } = this.#config;
    if (record.name === name && record.clientUrls.join(",") === clientUrls.join(",")) {
      this.#published = true;
      return;
    }
    this.#published = true;
    return this.propose({ op: "publish", id: this.#self, name, clientUrls }).then((r) => {
      if (r instanceof EtcdError) this.#published = false;
    }, () => {});
  }

  async #installSnapshot(snapshot: Snapshot): Promise<void> {
    this.#log(`installing snapshot at index ${snapshot.index} (term ${snapshot.term})`);
    this.#commits.cancel();
    const revisionBefore = this.revision;
    await this.#store.installSnapshot(snapshot.index, snapshot.term);
    this.#stateReads.installed();
    this.#syncPeers();
    // The leases are the snapshot's now: a leader counts their time afresh.
    this.#leases.reset();
    // Watchers read what the snapshot brought from its history.
    this.#store.stateMachine.listener = this.watches;
    this.watches.reset(revisionBefore);
    this.#log(`installed snapshot at index ${snapshot.index}; revision ${this.revision}`);
  }

  /** Applies committed entries in order and answers whoever waits for them. */
  #apply(entries: Entry[]): void {
    if (entries.length === 0) return;
    const changes: (ConfChange | undefined)[] = [];
    let membership = false;
    const commands = entries.map((e) => {
      if (e.type === "confChange") {
        const change = decodeConfChange(e);
        changes.push(change);
        membership = true;
        return { index: e.index, command: confChangeCommand(change) as Command, rid: undefined };
      }
      changes.push(undefined);
      const own = this.#proposals.takeCommand(e.index, e.term);
      if (own) {
        // A member update this member proposed moves where it sends, as one from a peer does.
        if (own.op === "publish" || own.op === "updatePeers") membership = true;
        return { index: e.index, command: own, rid: undefined };
      }
      if (e.data.length === 0) return { index: e.index, command: undefined, rid: undefined };
      // Whatever an entry holds, applying it never throws: one this member cannot apply changes
      // nothing (the peer port refuses such writes; this guards entries from anywhere else).
      const read = readCommand(e.data);
      if ("error" in read) {
        this.#log(`entry ${e.index} holds no command this member can apply (${read.error}); it changes nothing`);
        return { index: e.index, command: undefined, rid: undefined };
      }
      const { rid, ...command } = read;
      if (command.op === "publish" || command.op === "updatePeers") membership = true;
      return { index: e.index, command: command as Command, rid };
    });
    const results = this.#store.stateMachine.apply(commands);
    // The core's membership follows the state's: a change the state refused (a promotion of a
    // member removed meanwhile) is not made.
    changes.forEach((change, i) => {
      if (change && !isEtcdError(results[i])) this.#raft.applyConfChange(change);
    });
    entries.forEach((e, i) => {
      this.#proposals.applied(e.index, e.term, results[i]);
      this.#forwarded.applied(e.index, commands[i].rid, results[i]);
      const command = commands[i].command;
      if ((command?.op === "leaseGrant" || command?.op === "leaseRevoke") && !isEtcdError(results[i])) this.#leases.applied(command);
      if (command && isAuthCommand(command)) this.#auth.applied(command, results[i]);
      if (command?.op === "alarm" && command.action !== "GET") this.#log(`alarm ${command.alarm} ${command.action === "ACTIVATE" ? "raised" : "disarmed"} for member ${command.memberId}`);
    });
    if (membership) this.#membershipChanged();
    this.#reads.applied();
    this.#commits.afterApply();
  }

  #membershipChanged(): void {
    this.#syncPeers();
    if (!this.#removed && !this.#store.members.get(this.#self) && this.#store.members.list().length > 0) {
      this.#removed = true;
      this.#log("this member has been removed from the cluster; stopping");
      // As etcd: stop after ten heartbeats, so answers in flight (the removal's own) go out first.
      setTimeout(() => this.#config.onRemoved?.(), 10 * this.#config.heartbeatMs);
    }
  }

  #syncPeers(): void {
    const members = this.#store.members.list();
    this.#peerUrls = new Map(members.map((m) => [m.id, m.peerUrls]));
    this.#learner = members.some((m) => m.id === this.#self && m.isLearner);
    this.#sender.setPeers(this.#peerUrls);
  }

  /**
   * A write that failed leaves the log or the state in doubt, so the member stops taking writes
   * rather than guess; restarting it replays the log.
   */
  #failStop(e: unknown): void {
    this.#failure ??= new Error(`concord: member stopped taking writes after a storage failure: ${(e as Error)?.message ?? e}`);
    console.error(this.#failure.message, (e as Error)?.stack ?? "");
    this.#proposals.failAll(MemberErrors.stopped);
    this.#forwarded.failAll(MemberErrors.stopped);
    this.#loop.releaseIdle();
  }
}
