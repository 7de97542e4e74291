/**
 * Makes applied state durable in the background: asks the checkpoint worker to checkpoint
 * state.db after commits, one checkpoint at a time, and knows up to which applied index the
 * state is on disk for good.
 *
 * Owns: `durableIndex` — every entry at or below it survives power loss in state.db, so the log
 * may forget it — and asking the worker for copies of the state. Never: commits (the state
 * machine does) or trims the log (the member does).
 */
import type { CheckpointRequest } from "./checkpoint_worker.ts";
import type { CopyResult } from "./snapshots.ts";
import { WorkerChannel } from "./worker_channel.ts";

export class Checkpointer {
  readonly #channel: WorkerChannel<CheckpointRequest>;
  #durableIndex: number;
  /** The committed index the next checkpoint should cover, when one is wanted. */
  #wanted: number | undefined;
  #running = false;

  constructor(statePath: string, durableIndex: number) {
    this.#channel = new WorkerChannel<CheckpointRequest>(new URL("./checkpoint_worker.ts", import.meta.url), "checkpointer", "checkpointer", statePath);
    this.#durableIndex = durableIndex;
  }

  get durableIndex(): number {
    return this.#durableIndex;
  }

  get failure(): Error | undefined {
    return this.#channel.failure;
  }

  /** Asks for a checkpoint covering everything committed up to `committedIndex`. */
  request(committedIndex: number): void {
    this.#wanted = Math.max(this.#wanted ?? 0, committedIndex);
    this.#run();
  }

  /**
   * Copies what is committed of the state into `to` on the worker's thread (with its SHA-256 when
   * `digest`); checkpoints wait meanwhile, so the log is not trimmed past what the copy holds.
   */
  copy(to: string, digest: boolean): Promise<CopyResult> {
    return this.#channel.ask({ kind: "copy", seq: 0, to, digest }).then((r) => r as CopyResult, (e: Error) => ({ error: e.message }));
  }

  close(): Promise<void> {
    return this.#channel.close({ kind: "close", seq: 0 });
  }

  #run(): void {
    if (this.#running || this.#wanted === undefined || this.#channel.failure) return;
    const covers = this.#wanted;
    this.#wanted = undefined;
    this.#running = true;
    // The WAL is synced when the checkpoint starts, so all commits made before it are durable.
    this.#channel.request({ kind: "checkpoint", seq: 0 }).then(
      () => {
        this.#durableIndex = Math.max(this.#durableIndex, covers);
        this.#running = false;
        this.#run();
      },
      () => {
        this.#running = false;
      },
    );
  }
}
