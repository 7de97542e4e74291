/**
 * The member runtime: drives the Raft core (raft/) with a clock, the store and (later) the peer
 * transport, and is the only thing the API talks to.
 *
 * Owns: the Ready loop — persist a Ready's entries and hard state (on the log's thread), apply its
 * committed entries here meanwhile (they are durable already), then advance; proposals made while
 * a Ready is being persisted go into the next one (group commit). Each proposer gets the result of
 * applying its own entry. Also when the state's open batch is committed and how far the log may be
 * trimmed. Today the cluster has one voter, this member, which leads as soon as it starts.
 * Never: parses HTTP or JSON, or touches SQLite directly (store/ does).
 */
import { type Command, type CommandResult, decodeCommand, encodeCommand } from "../etcd/commands.ts";
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../etcd/types.ts";
import { decodeConfChange } from "../raft/confchange.ts";
import { Raft } from "../raft/raft.ts";
import type { Entry, Ready } from "../raft/types.ts";
import { range } from "../store/applier.ts";
import { openStore, type Store } from "../store/open.ts";
import { STATE_BATCH_INTERVAL_MS } from "../store/state_machine.ts";
import { clusterIdFor, type Id, idToHex, memberIdFor } from "./identity.ts";

export interface MemberConfig {
  name: string;
  dataDir: string;
  clientUrls: string[];
  peerUrls: string[];
  clusterToken: string;
}

export interface MemberInfo {
  id: Id;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberStatus {
  revision: number;
  leader: Id;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
}

type Pending = { term: number; resolve: (r: CommandResult) => void; reject: (e: unknown) => void };

/** etcd's defaults: a heartbeat every 100 ms, an election after 10 quiet heartbeats. */
const TICK_MS = 100;
const ELECTION_TICKS = 10;
/** Proposals waiting to be applied beyond this are refused, as etcd refuses when it falls behind. */
const MAX_PENDING_PROPOSALS = 20_000;
/** Applied entries the log keeps for members that fall behind, and how many more trigger a trim. */
const LOG_RETAINED_ENTRIES = 5_000;
const LOG_COMPACTION_ENTRIES = 10_000;

const tooManyRequests = new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests");
const noLeader = new EtcdError(GrpcCode.UNAVAILABLE, "etcdserver: no leader");
const leadershipLost = new EtcdError(GrpcCode.UNAVAILABLE, "etcdserver: leader changed");

export class Member {
  readonly id: Id;
  readonly clusterId: Id;
  readonly #config: MemberConfig;
  readonly #store: Store;
  readonly #raft: Raft;
  /** Proposals by log index, waiting for their entry to be applied. */
  readonly #pending = new Map<number, Pending>();
  /** Commands this member proposed, by index, so applying them needs no decoding. */
  readonly #commands = new Map<number, Command>();
  /** A Ready is being persisted; the next one gathers in the core meanwhile. */
  #persisting = false;
  #pumpScheduled = false;
  #failure: Error | undefined;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;
  #header: { clusterId: Id; memberId: Id; raftTerm: number } | undefined;
  /** Resolves whenever a Ready finishes; start-up waits on it. */
  #idle: (() => void)[] = [];

  private constructor(config: MemberConfig, store: Store, id: Id, clusterId: Id) {
    this.#config = config;
    this.#store = store;
    this.id = id;
    this.clusterId = clusterId;
    const { log, stateMachine } = store;
    const self = idToHex(id);
    this.#raft = new Raft({
      id: self, voters: [self], electionTicks: ELECTION_TICKS, heartbeatTicks: 1,
      // The runtime may use ambient randomness; the core only ever sees this function.
      random: Math.random,
      preVote: true, checkQuorum: true, maxInflight: 256, maxEntriesPerAppend: 64,
    }, {
      hardState: log.hardState,
      entries: log.entries(log.firstIndex, log.lastIndex + 1),
      start: log.start,
      applied: stateMachine.appliedIndex,
    });
    this.#ticker = setInterval(() => {
      this.#raft.tick();
      this.#pump();
    }, TICK_MS);
  }

  static async open(config: MemberConfig): Promise<Member> {
    const store = await openStore(config.dataDir);
    const id = store.identity("member_id", () => memberIdFor(config.peerUrls, config.clusterToken));
    const clusterId = store.identity("cluster_id", () => clusterIdFor([id]));
    const member = new Member(config, store, id, clusterId);
    await member.#lead();
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

  /**
   * Replicates a write and resolves with what applying it answered. Everything proposed while a
   * Ready is being persisted goes into the next one: one transaction, one fsync.
   */
  propose(command: Command): Promise<CommandResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending.size >= MAX_PENDING_PROPOSALS) return Promise.resolve(tooManyRequests);
    if (!this.#raft.propose(encodeCommand(command))) return Promise.resolve(noLeader);
    const index = this.#raft.log.lastIndex;
    this.#commands.set(index, command);
    const term = this.#raft.term;
    return new Promise((resolve, reject) => {
      this.#pending.set(index, { term, resolve, reject });
      this.#schedulePump();
    });
  }

  /** A read of the local state; with one member every acknowledged write is already applied. */
  range(request: RangeRequest): RangeResponse | EtcdError {
    this.#store.stateMachine.openBatch();
    this.#armCommitTimer();
    return range(this.#store.mvcc, request);
  }

  members(): MemberInfo[] {
    return [{
      id: this.id,
      name: this.#config.name,
      peerUrls: this.#config.peerUrls,
      clientUrls: this.#config.clientUrls,
      isLearner: false,
    }];
  }

  status(): MemberStatus {
    const size = this.#store.sizeBytes();
    return {
      revision: this.revision,
      leader: this.#raft.lead ? BigInt(`0x${this.#raft.lead}`) : 0n,
      raftIndex: this.#raft.log.lastIndex,
      raftTerm: this.raftTerm,
      raftAppliedIndex: this.#store.stateMachine.appliedIndex,
      dbSizeBytes: size.total,
      dbSizeInUseBytes: size.inUse,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    clearTimeout(this.#commitTimer);
    await this.#store.close();
  }

  /** Becomes leader (a lone voter wins at once) and waits until everything committed is applied. */
  async #lead(): Promise<void> {
    this.#raft.campaign();
    while (this.#raft.role !== "leader" || this.#raft.log.applied < this.#raft.log.committed || this.#raft.hasReady()) {
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        this.#pump();
      });
      if (this.#failure) throw this.#failure;
    }
  }

  #schedulePump(): void {
    if (this.#persisting || this.#pumpScheduled) return;
    // Wait for the rest of this turn of the event loop: what it proposes joins the Ready.
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Runs one Ready, if the core has one and none is being persisted. */
  #pump(): void {
    if (this.#persisting || this.#failure) return;
    if (!this.#raft.hasReady()) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    const rd = this.#raft.ready();
    this.#persisting = true;
    // Only new entries, a new term or a new vote must be synced before going on (etcd's
    // MustSync); a moved commit index alone rides along with the next write, saving an fsync per
    // request when requests come one at a time.
    const saved = this.#store.log.hardState;
    const mustSync = rd.entries.length > 0 ||
      (rd.hardState !== undefined && (rd.hardState.term !== saved.term || rd.hardState.vote !== saved.vote));
    const durable = mustSync ? this.#store.log.persist(rd.entries, rd.hardState) : Promise.resolve();
    // Committed entries are durable already: apply them while this Ready's entries are synced.
    if (!this.#apply(rd.committed)) return;
    durable.then(
      () => this.#advance(rd),
      (e) => this.#failStop(e),
    );
  }

  #advance(rd: Ready): void {
    // Messages go out only now, after the Ready is durable. A lone voter has no one to send to;
    // the peer transport comes with the cluster (issue 4).
    if (rd.messages.length > 0) throw new Error(`member: raft sent ${rd.messages.length} messages with no peers configured (a bug)`);
    this.#raft.advance(rd);
    this.#persisting = false;
    this.#pump();
  }

  /** Applies committed entries in order and answers their proposers; false if the member stopped. */
  #apply(entries: Entry[]): boolean {
    if (entries.length === 0) return true;
    const { stateMachine } = this.#store;
    let results: CommandResult[];
    try {
      results = stateMachine.apply(entries.map((e) => {
        if (e.type === "confChange") {
          // Membership lives in the core; persisting it in the state comes with the cluster (issue 4).
          this.#raft.applyConfChange(decodeConfChange(e));
          return { index: e.index, command: undefined };
        }
        const command = this.#commands.get(e.index) ?? (e.data.length > 0 ? decodeCommand(e.data) : undefined);
        this.#commands.delete(e.index);
        return { index: e.index, command };
      }));
    } catch (e) {
      this.#failStop(e);
      return false;
    }
    entries.forEach((e, i) => {
      const waiting = this.#pending.get(e.index);
      if (!waiting) return;
      this.#pending.delete(e.index);
      // Another leader's entry took this index: the proposal was lost with the old leadership.
      if (waiting.term !== e.term) waiting.resolve(leadershipLost);
      else waiting.resolve(results[i]);
    });
    this.#commitState();
    return true;
  }

  /**
   * Commits the state's open batch when it is due, and makes sure an idle member commits it too;
   * trims the log once enough of it is durable in the state.
   */
  #commitState(): void {
    const { stateMachine, checkpointer, log } = this.#store;
    if (checkpointer.failure) return this.#failStop(checkpointer.failure);
    try {
      if (stateMachine.due()) {
        stateMachine.commit();
        checkpointer.request(stateMachine.committedIndex);
      }
    } catch (e) {
      return this.#failStop(e);
    }
    const keepFrom = Math.min(checkpointer.durableIndex, stateMachine.appliedIndex - LOG_RETAINED_ENTRIES) + 1;
    if (keepFrom - log.firstIndex >= LOG_COMPACTION_ENTRIES - LOG_RETAINED_ENTRIES) {
      this.#raft.compact(Math.min(keepFrom - 1, this.#raft.log.stable));
      log.compactBefore(keepFrom).catch((e) => this.#failStop(e));
    }
    this.#armCommitTimer();
  }

  /** An open batch is committed within the batch interval even when no more work comes. */
  #armCommitTimer(): void {
    if (this.#commitTimer !== undefined || !this.#store.stateMachine.batchOpen) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.#commitState();
    }, STATE_BATCH_INTERVAL_MS);
  }

  /**
   * A write that failed leaves the log or the state in doubt, so the member stops taking writes
   * rather than guess; restarting it replays the log.
   */
  #failStop(e: unknown): void {
    this.#failure ??= new Error(`concord: member stopped taking writes after a storage failure: ${(e as Error)?.message ?? e}`);
    console.error(this.#failure.message);
    for (const p of this.#pending.values()) p.reject(this.#failure);
    this.#pending.clear();
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
