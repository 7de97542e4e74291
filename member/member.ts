/**
 * The member runtime: owns the store, the log and (for now) the one-member commit rule, and is
 * the only thing the API talks to.
 *
 * Owns: group commit — every command proposed in one turn of the event loop becomes one batch of
 * log entries, persisted in one transaction with one fsync, then applied in one transaction; each
 * proposer gets its own result. With a single member an entry is committed once it is durable.
 * Never: parses HTTP or JSON, or touches SQLite directly (store/ does).
 */
import { type Command, type CommandResult, encodeCommand } from "../etcd/commands.ts";
import { type EtcdError } from "../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../etcd/types.ts";
import { range } from "../store/applier.ts";
import { openStore, type Store } from "../store/open.ts";
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

/** The term of the one-member log; Raft replaces this with real elections. */
const SOLO_TERM = 1;

export class Member {
  readonly id: Id;
  readonly clusterId: Id;
  readonly #config: MemberConfig;
  readonly #store: Store;
  #pending: Pending[] = [];
  #flushScheduled = false;

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
    return member;
  }

  get raftTerm(): number {
    return Math.max(this.#store.log.hardState.term, SOLO_TERM);
  }

  /** The member's part of every response header. */
  get header(): { clusterId: Id; memberId: Id; raftTerm: number } {
    return { clusterId: this.clusterId, memberId: this.id, raftTerm: this.raftTerm };
  }

  get revision(): number {
    return this.#store.mvcc.revision;
  }

  /** Replicates a write and resolves with what applying it answered. */
  propose(command: Command): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ command, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** A read of the local state; with one member every acknowledged write is already applied. */
  range(request: RangeRequest): RangeResponse | EtcdError {
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

  close(): void {
    this.#store.close();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    try {
      const { log, stateMachine } = this.#store;
      const first = log.lastIndex + 1;
      const entries = batch.map((p, i) => ({ index: first + i, term: this.raftTerm, data: encodeCommand(p.command) }));
      const last = first + entries.length - 1;
      log.persist(entries, { term: this.raftTerm, vote: idToHex(this.id), commit: last });
      const results = stateMachine.apply(entries);
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (e) {
      batch.forEach((p) => p.reject(e));
    }
  }

  /** Applies what the log holds beyond the applied index (a crash between persist and apply). */
  #replayCommitted(): void {
    const { log, stateMachine } = this.#store;
    const REPLAY_BATCH_ENTRIES = 1_000;
    for (let next = stateMachine.appliedIndex + 1; next <= log.lastIndex; next += REPLAY_BATCH_ENTRIES) {
      stateMachine.apply(log.entries(next, Math.min(next + REPLAY_BATCH_ENTRIES, log.lastIndex + 1)));
    }
  }
}
