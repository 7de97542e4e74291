/**
 * The member runtime: owns the store, the log and (for now) the one-member commit rule, and is
 * the only thing the API talks to.
 *
 * Owns: group commit — commands proposed while the previous batch is being made durable wait in a
 * bounded queue and become the next batch: one log transaction, one fsync (on the log's thread),
 * then applied in order on this thread; each proposer gets its own result. With a single member an
 * entry is committed once it is durable. Also when the state's open batch is committed and how far
 * the log may be trimmed.
 * Never: parses HTTP or JSON, or touches SQLite directly (store/ does).
 */
import { type Command, type CommandResult, decodeCommand, encodeCommand } from "../etcd/commands.ts";
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../etcd/types.ts";
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

type Pending = { command: Command; resolve: (r: CommandResult) => void; reject: (e: unknown) => void };

/** At most this many entries go into one batch (one transaction, one fsync). */
const MAX_BATCH_ENTRIES = 1_024;
/** Proposals waiting for a batch beyond this are refused, as etcd refuses when it falls behind. */
const MAX_PENDING_PROPOSALS = 20_000;
/** Applied entries the log keeps for members that fall behind, and how many more trigger a trim. */
const LOG_RETAINED_ENTRIES = 5_000;
const LOG_COMPACTION_ENTRIES = 10_000;
/** Entries replayed per transaction when a member restarts. */
const REPLAY_BATCH_ENTRIES = 1_000;

const tooManyRequests = new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests");

export class Member {
  readonly id: Id;
  readonly clusterId: Id;
  readonly #config: MemberConfig;
  readonly #store: Store;
  /** Proposals not yet handed to the log. */
  #queue: Pending[] = [];
  /** A batch is being made durable; the next one gathers in the queue meanwhile. */
  #persisting = false;
  #batchScheduled = false;
  #failure: Error | undefined;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #header: { clusterId: Id; memberId: Id; raftTerm: number } | undefined;

  private constructor(config: MemberConfig, store: Store, id: Id, clusterId: Id) {
    this.#config = config;
    this.#store = store;
    this.id = id;
    this.clusterId = clusterId;
  }

  static async open(config: MemberConfig): Promise<Member> {
    const store = await openStore(config.dataDir);
    const id = store.identity("member_id", () => memberIdFor(config.peerUrls, config.clusterToken));
    const clusterId = store.identity("cluster_id", () => clusterIdFor([id]));
    const member = new Member(config, store, id, clusterId);
    member.#replayCommitted();
    await member.#startTerm();
    return member;
  }

  get raftTerm(): number {
    return this.#store.log.hardState.term;
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
   * batch is being made durable goes into the next batch: one transaction, one fsync.
   */
  propose(command: Command): Promise<CommandResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#queue.length >= MAX_PENDING_PROPOSALS) return Promise.resolve(tooManyRequests);
    return new Promise((resolve, reject) => {
      this.#queue.push({ command, resolve, reject });
      this.#scheduleBatch();
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
      leader: this.id,
      raftIndex: this.#store.log.lastIndex,
      raftTerm: this.raftTerm,
      raftAppliedIndex: this.#store.stateMachine.appliedIndex,
      dbSizeBytes: size.total,
      dbSizeInUseBytes: size.inUse,
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.#commitTimer);
    await this.#store.close();
  }

  #scheduleBatch(): void {
    if (this.#persisting || this.#batchScheduled || this.#queue.length === 0) return;
    // Wait for the rest of this turn of the event loop: what it proposes joins the batch.
    this.#batchScheduled = true;
    setImmediate(() => {
      this.#batchScheduled = false;
      this.#persistBatch();
    });
  }

  #persistBatch(): void {
    if (this.#persisting || this.#queue.length === 0 || this.#failure) return;
    const batch = this.#queue.splice(0, MAX_BATCH_ENTRIES);
    const { log } = this.#store;
    const first = log.lastIndex + 1;
    const term = this.raftTerm;
    const entries = batch.map((p, i) => ({ index: first + i, term, data: encodeCommand(p.command) }));
    const last = first + entries.length - 1;
    this.#persisting = true;
    log.persist(entries, { term, vote: idToHex(this.id), commit: last }).then(
      () => {
        this.#persisting = false;
        // Start making the next batch durable before applying this one: the fsync runs on the
        // log's thread while this one applies here.
        this.#persistBatch();
        this.#apply(first, batch);
      },
      (e) => this.#failStop(e, batch),
    );
  }

  #apply(first: number, batch: Pending[]): void {
    const { stateMachine } = this.#store;
    let results: CommandResult[];
    try {
      results = stateMachine.apply(batch.map((p, i) => ({ index: first + i, command: p.command })));
    } catch (e) {
      return this.#failStop(e, batch);
    }
    batch.forEach((p, i) => p.resolve(results[i]));
    this.#commitState();
    this.#scheduleBatch();
  }

  /**
   * Commits the state's open batch when it is due, and makes sure an idle member commits it too;
   * trims the log once enough of it is durable in the state.
   */
  #commitState(): void {
    const { stateMachine, checkpointer, log } = this.#store;
    if (checkpointer.failure) return this.#failStop(checkpointer.failure, []);
    try {
      if (stateMachine.due()) {
        stateMachine.commit();
        checkpointer.request(stateMachine.committedIndex);
      }
    } catch (e) {
      return this.#failStop(e, []);
    }
    const keepFrom = Math.min(checkpointer.durableIndex, stateMachine.appliedIndex - LOG_RETAINED_ENTRIES) + 1;
    if (keepFrom - log.firstIndex >= LOG_COMPACTION_ENTRIES - LOG_RETAINED_ENTRIES) {
      log.compactBefore(keepFrom).catch((e) => this.#failStop(e, []));
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
  #failStop(e: unknown, batch: Pending[]): void {
    this.#failure ??= new Error(`concord: member stopped taking writes after a storage failure: ${(e as Error)?.message ?? e}`);
    console.error(this.#failure.message);
    for (const p of [...batch, ...this.#queue.splice(0)]) p.reject(this.#failure);
  }

  /**
   * As the only member, become leader of a new term, and open it as a Raft leader does: with an
   * empty entry, durable and applied before any request is taken.
   */
  async #startTerm(): Promise<void> {
    const { log, stateMachine } = this.#store;
    const term = log.hardState.term + 1;
    const index = log.lastIndex + 1;
    await log.persist([{ index, term, data: new Uint8Array() }], { term, vote: idToHex(this.id), commit: index });
    stateMachine.apply([{ index, command: undefined }]);
    stateMachine.commit();
  }

  /** Applies what the log holds beyond the applied index (a crash between persist and apply). */
  #replayCommitted(): void {
    const { log, stateMachine } = this.#store;
    for (let next = stateMachine.appliedIndex + 1; next <= log.lastIndex; next += REPLAY_BATCH_ENTRIES) {
      const entries = log.entries(next, Math.min(next + REPLAY_BATCH_ENTRIES, log.lastIndex + 1));
      stateMachine.apply(entries.map((e) => ({ index: e.index, command: e.data.length ? decodeCommand(e.data) : undefined })));
      stateMachine.commit();
    }
  }
}
