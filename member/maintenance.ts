/**
 * The member's maintenance, as etcd runs it: the space quota and the alarms (etcd's Alarm call),
 * defragmenting while serving, auto-compaction on the leader, and the corruption checks (at
 * start-up, and the leader's periodic one) — each part in its own module, wired here to the member.
 *
 * Owns: when each runs and what it is handed. Never: replicates (the member's propose does), reads
 * the state but through the store, or decides what an alarm forbids (etcd/alarms.ts).
 */
import { DEFRAGMENT_STEP_PAGES } from "../config/limits.ts";
import type { AutoCompaction } from "../config/maintenance.ts";
import type { AlarmAction, AlarmMember, AlarmType } from "../etcd/alarms.ts";
import type { Command, CommandResult } from "../etcd/commands.ts";
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { askHashKv, type PeerKvHash } from "../peer/hashkv.ts";
import type { NodeId } from "../raft/types.ts";
import type { Store } from "../store/open.ts";
import { AutoCompactor } from "./auto_compaction.ts";
import { CorruptionCheck } from "./corruption_check.ts";
import { Quota } from "./quota.ts";

export interface MaintenanceConfig {
  /** --quota-backend-bytes (undefined: no quota). */
  quotaBackendBytes?: number;
  autoCompaction?: AutoCompaction;
  /** How often the leader compares the followers' hashes, ms (undefined: never). */
  corruptCheckIntervalMs?: number;
  clusterToken: string;
  peerInit: Record<string, unknown>;
}

export interface MaintenanceHooks {
  readonly self: NodeId;
  store(): Store;
  propose(command: Command): Promise<CommandResult>;
  /** Runs `fn` in the state's open batch, committed in time (the member's reads). */
  read<T>(fn: () => T): T;
  /** Whether the state can be worked on now: not being replaced by a snapshot. */
  installing(): boolean;
  /** Resolves once a compaction's history, if one is being dropped, is gone. */
  compactionFinished(): Promise<void>;
  failed(): boolean;
  /** A storage failure: the member stops taking writes. */
  failStop(e: unknown): void;
  leads(): boolean;
  revision(): number;
  /** Every member's peer URLs, this one's too. */
  peerUrls(): ReadonlyMap<NodeId, string[]>;
  hashKv(revision: number): PeerKvHash | EtcdError;
  requestTimeoutMs: number;
  log(line: string): void;
}

export class Maintenance {
  readonly #hooks: MaintenanceHooks;
  readonly #quota: Quota;
  readonly #autoCompactor: AutoCompactor | undefined;
  readonly #corruption: CorruptionCheck;
  readonly #corruptCheckIntervalMs: number | undefined;
  #corruptionTimer: ReturnType<typeof setInterval> | undefined;
  /** A defragment running, which later ones join. */
  #defragmenting: Promise<EtcdError | undefined> | undefined;

  constructor(config: MaintenanceConfig, hooks: MaintenanceHooks) {
    this.#hooks = hooks;
    const { self } = hooks;
    const raise = (memberId: string, alarm: AlarmType) => hooks.propose({ op: "alarm", action: "ACTIVATE", memberId, alarm });
    const raised = (memberId: string, alarm: AlarmType) => hooks.store().alarms.list(alarm).some((a) => a.memberId === memberId);
    this.#quota = new Quota({
      bytesMax: config.quotaBackendBytes,
      stateBytes: () => hooks.store().stateBytes(),
      raised: () => raised(self, "NOSPACE"),
      raise: () => raise(self, "NOSPACE"),
    });
    this.#autoCompactor = config.autoCompaction && new AutoCompactor(config.autoCompaction, {
      revision: hooks.revision,
      leads: hooks.leads,
      compact: async (revision) => {
        const result = await hooks.propose({ op: "compact", compact: { revision, physical: false } });
        return isEtcdError(result) ? result : undefined;
      },
      log: hooks.log,
      now: () => performance.now(),
      after: (ms, fn) => {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      },
    });
    this.#corruptCheckIntervalMs = config.corruptCheckIntervalMs;
    this.#corruption = new CorruptionCheck({
      self,
      peers: () => [...hooks.peerUrls().keys()].filter((id) => id !== self),
      local: hooks.hashKv,
      ask: async (peer, revision) => {
        let answer: Awaited<ReturnType<typeof askHashKv>> = { error: "no peer URLs" };
        for (const url of hooks.peerUrls().get(peer) ?? []) {
          answer = await askHashKv(url, revision, { token: config.clusterToken, from: self, to: peer, timeoutMs: hooks.requestTimeoutMs, init: config.peerInit });
          if (!("error" in answer)) break;
        }
        return answer;
      },
      leads: hooks.leads,
      raised: (member) => raised(member, "CORRUPT"),
      raise: (member) => raise(member, "CORRUPT"),
      log: hooks.log,
    });
  }

  /** Starts auto-compaction and the periodic corruption check, as configured. */
  start(): void {
    this.#autoCompactor?.start();
    if (this.#corruptCheckIntervalMs) {
      this.#corruptionTimer = setInterval(() => {
        this.#corruption.periodic().catch((e) => this.#hooks.log(`the corruption check failed: ${(e as Error).message}`));
      }, this.#corruptCheckIntervalMs);
    }
  }

  stop(): void {
    this.#autoCompactor?.stop();
    clearInterval(this.#corruptionTimer);
  }

  /** etcd's NOSPACE error if `command` would not fit under the quota (the alarm raised then). */
  quotaRefuses(command: Command): EtcdError | undefined {
    // While a snapshot replaces the state there is none to measure; the leader checks such writes.
    return this.#hooks.installing() ? undefined : this.#quota.check(command);
  }

  /** etcd's initial corruption check: why this member must not serve, or undefined. */
  initialCorruptionCheck(): Promise<string | undefined> {
    return this.#corruption.initial();
  }

  /**
   * etcd's Defragment: hands the state's free pages back to the file system, DEFRAGMENT_STEP_PAGES
   * at a time with the member serving between steps (etcd's blocks every request while it runs).
   * A compaction's history still being dropped is waited for first, so a defragment after a
   * compaction frees its space. Resolves once no free page is left; one asked while another runs
   * joins it.
   */
  defragment(): Promise<EtcdError | undefined> {
    this.#defragmenting ??= (async () => {
      try {
        await this.#hooks.compactionFinished();
        while (true) {
          if (this.#hooks.failed()) return MemberErrors.stopped;
          if (!this.#hooks.installing()) {
            try {
              if (this.#hooks.read(() => this.#hooks.store().defragmentStep(DEFRAGMENT_STEP_PAGES))) return undefined;
            } catch (e) {
              // A write to the state that failed (a full disk) leaves it in doubt, as any other.
              this.#hooks.failStop(e);
              return MemberErrors.stopped;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      } finally {
        this.#defragmenting = undefined;
      }
    })();
    return this.#defragmenting;
  }

  /**
   * etcd's Alarm: lists (`alarm` NONE: every type), raises or clears an alarm — through the log,
   * as in etcd, so the answer is the cluster's. Answers the alarms listed, raised or cleared.
   */
  async alarm(action: AlarmAction, memberId: string, alarm: AlarmType): Promise<AlarmMember[] | EtcdError> {
    // Raising NONE crashes etcd 3.4 (an empty key into its alarm bucket); there is no such alarm to raise.
    if (action === "ACTIVATE" && alarm === "NONE") return [];
    const result = await this.#hooks.propose({ op: "alarm", action, memberId, alarm });
    if (isEtcdError(result)) return result;
    return result && "alarms" in result ? result.alarms : [];
  }

  /** The alarms raised, as applied here. */
  alarms(): AlarmMember[] {
    return this.#hooks.store().alarms.list();
  }
}
