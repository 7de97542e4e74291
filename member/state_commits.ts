/**
 * When the state's open batch is committed, and how far the log may be trimmed: a batch is
 * committed once due (state_machine.ts says when) and within the batch interval even when no more
 * work comes; the log keeps what the state has not made durable yet (the checkpointer says how
 * far it has), and LOG_RETAINED_ENTRIES more for members that fall behind, and is trimmed a
 * --snapshot-count at a time — or sooner when the Raft core's entries hold more than
 * RAFT_LOG_MEMORY_BYTES_MAX of data, down to half of it.
 *
 * Owns: the commit timer and the trimming decision. Never: applies entries, or touches the Raft
 * core except to tell it how far its log may go (through the hooks).
 */
import { LOG_RETAINED_ENTRIES, RAFT_LOG_MEMORY_BYTES_MAX, STATE_BATCH_INTERVAL_MS } from "../config/limits.ts";
import type { PlantedBug } from "../raft/planted_bugs.ts";
import type { Store } from "../store/open.ts";

/** Where the log is, and what the state has applied and made durable. */
export interface TrimInputs {
  /** The last index whose effect the state has on disk. */
  stateDurable: number;
  stateApplied: number;
  logFirst: number;
  /** Applied entries between trims (--snapshot-count). */
  snapshotCount: number;
  /**
   * The Raft core's log in memory: its entries' data bytes, where entries up to an index fit in a
   * byte budget, and the budget (RAFT_LOG_MEMORY_BYTES_MAX; the simulator draws small ones).
   */
  memory?: { bytes: number; firstWithinBytes(maxBytes: number, upTo: number): number; budgetBytes?: number };
  /** A snapshot at this index is being sent: a follower installing it needs the entries after it. */
  snapshotSending?: number;
}

/**
 * The first index the log must keep, when it is time to trim: it keeps what the state has not made
 * durable, and min(LOG_RETAINED_ENTRIES, snapshotCount) entries more for members that fall behind,
 * and what follows a snapshot being sent (or the follower would need another once it installed it);
 * undefined until a --snapshot-count of entries can go. The simulator trims its logs by the same rule.
 */
export function logKeptFrom(t: TrimInputs, plantedBug?: PlantedBug): number | undefined {
  const retained = Math.min(LOG_RETAINED_ENTRIES, t.snapshotCount);
  const durable = plantedBug === "trimBeyondDurableState" ? t.stateApplied : t.stateDurable;
  let keepFrom = Math.min(durable, t.stateApplied - retained) + 1;
  // Kept while a snapshot is on its way (bytes in memory still bound it, below).
  if (t.snapshotSending !== undefined) keepFrom = Math.min(keepFrom, t.snapshotSending + 1);
  if (keepFrom - t.logFirst >= t.snapshotCount) return keepFrom;
  const budget = t.memory?.budgetBytes ?? RAFT_LOG_MEMORY_BYTES_MAX;
  if (t.memory === undefined || t.memory.bytes <= budget) return undefined;
  // Large entries: keep what fits in half the budget, never what the state has not made durable.
  const byBytes = Math.min(durable + 1, Math.max(keepFrom, t.memory.firstWithinBytes(budget / 2, t.stateApplied)));
  return byBytes > t.logFirst ? byBytes : undefined;
}

export interface StateCommitHooks {
  store(): Store;
  /** Applied entries between trims (--snapshot-count). */
  snapshotCount: number;
  /** The core's log: what is durable and applied there, and dropping what it no longer needs. */
  core(): { stable: number; applied: number; compact(index: number): void; bytes: number; firstWithinBytes(maxBytes: number, upTo: number): number };
  /** A snapshot is replacing the state: no commit may be started meanwhile. */
  installing(): boolean;
  /** The index of a snapshot being sent to a follower, if any. */
  snapshotSending(): number | undefined;
  /** A batch was committed, taking `seconds` (etcd's backend commit duration). */
  committed(seconds: number): void;
  /** A storage failure: the member stops taking writes. */
  failStop(e: unknown): void;
  /** A bug planted on purpose (the chaos harness's proof of its checkers); never set outside tests. */
  plantedBug?: PlantedBug;
}

export class StateCommits {
  readonly #hooks: StateCommitHooks;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(hooks: StateCommitHooks) {
    this.#hooks = hooks;
  }

  /** After applying (or reading into the open batch): commit if due, trim if enough is durable, arm the timer. */
  afterApply(): void {
    const { stateMachine, checkpointer, log } = this.#hooks.store();
    if (checkpointer.failure) return this.#hooks.failStop(checkpointer.failure);
    if (stateMachine.due()) {
      const started = performance.now();
      stateMachine.commit();
      this.#hooks.committed((performance.now() - started) / 1000);
      checkpointer.request(stateMachine.committedIndex);
    }
    const keepFrom = logKeptFrom({
      stateDurable: checkpointer.durableIndex, stateApplied: stateMachine.appliedIndex, logFirst: log.firstIndex,
      snapshotCount: this.#hooks.snapshotCount, memory: this.#hooks.core(), snapshotSending: this.#hooks.snapshotSending(),
    }, this.#hooks.plantedBug);
    if (keepFrom !== undefined) {
      const core = this.#hooks.core();
      core.compact(Math.min(keepFrom - 1, core.stable, core.applied));
      log.compactBefore(keepFrom).catch((e) => this.#hooks.failStop(e));
    }
    this.arm();
  }

  /** An open batch is committed within the batch interval even when no more work comes. */
  arm(): void {
    if (this.#hooks.installing() || this.#timer !== undefined || !this.#hooks.store().stateMachine.batchOpen) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.afterApply();
      } catch (e) {
        this.#hooks.failStop(e);
      }
    }, STATE_BATCH_INTERVAL_MS);
  }

  /** Before the state is replaced or closed. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
