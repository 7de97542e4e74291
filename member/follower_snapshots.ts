/**
 * Snapshots for members behind the log: the Raft core asks for one when a follower needs entries
 * the log no longer has. The latest one made is handed out while the log still reaches it; else a
 * new one is made on the checkpoint worker's thread — the core hears "none yet" (etcd-io/raft's
 * ErrSnapshotTemporarilyUnavailable) and is told once it is ready — so a member's own disk work
 * never holds its thread, whatever the size of the state.
 *
 * Owns: when a snapshot is made, one at a time. Never: copies the state (the checkpoint worker
 * does) or sends it (peer/sender.ts).
 */
import type { Snapshot } from "../raft/types.ts";
import type { Store } from "../store/open.ts";

export interface FollowerSnapshotHooks {
  store(): Store;
  /** The log's term at `index`; 0 once the log no longer holds it. */
  termAt(index: number): number;
  installing(): boolean;
  /** A snapshot was made: the core can send it now. */
  ready(): void;
  log(line: string): void;
}

export class FollowerSnapshots {
  readonly #hooks: FollowerSnapshotHooks;
  #making = false;

  constructor(hooks: FollowerSnapshotHooks) {
    this.#hooks = hooks;
  }

  /** The latest snapshot the log still reaches, or none yet (one is then being made). */
  latest(): Snapshot | undefined {
    const file = this.#hooks.store().snapshots.latestOutgoing();
    const term = file ? this.#hooks.termAt(file.index) : 0;
    if (file && term > 0) return { index: file.index, term, conf: file.conf, data: new Uint8Array() };
    if (!this.#making && !this.#hooks.installing()) void this.#make();
    return undefined;
  }

  /** Makes one; a failure (a full disk) is logged and the next request for one tries again. */
  async #make(): Promise<void> {
    this.#making = true;
    const started = performance.now();
    try {
      const made = await this.#hooks.store().makeSnapshot();
      if ("error" in made) return this.#hooks.log(`making a snapshot for a follower failed (${made.error}); trying again when one is needed`);
      this.#hooks.log(`made a snapshot at index ${made.index} (${made.bytes} bytes) in ${Math.round(performance.now() - started)} ms`);
      this.#hooks.ready();
    } catch (e) {
      this.#hooks.log(`making a snapshot for a follower failed (${(e as Error).message}); trying again when one is needed`);
    } finally {
      this.#making = false;
    }
  }
}
