/**
 * Linearizable reads on any member, by Raft's ReadIndex: a read waits until the member has applied
 * everything the leader had committed when the read arrived (confirmed by a quorum of heartbeats),
 * so it sees every write acknowledged before it. Reads arriving while one ReadIndex is in flight
 * share the next one: one round trip serves a whole batch.
 *
 * Owns: the batches, their contexts and deadlines. Never: talks to peers or reads the state
 * (the member hands it the core's read states and its applied index).
 */
import type { EtcdError } from "../etcd/errors.ts";
import type { ReadState } from "../raft/types.ts";

type Waiter = (err: EtcdError | undefined) => void;

interface Batch {
  context: string;
  waiters: Waiter[];
  /** When the batch's first ReadIndex was asked for, and when it was last asked for. */
  firstAskedMs: number;
  askedMs: number;
  /** The commit index the leader confirmed; the batch is served once it is applied. */
  index: number | undefined;
}

export interface ReadBarrierHooks {
  /** Asks the core for a ReadIndex with this context. */
  ask(context: string): void;
  applied(): number;
  now(): number;
}

export class ReadBarrier {
  readonly #hooks: ReadBarrierHooks;
  readonly #retryMs: number;
  readonly #timeoutMs: number;
  /** Contexts are unique across members: the leader tells reads apart by context alone. */
  readonly #prefix: string;
  #queued: Waiter[] = [];
  #inFlight: Batch | undefined;
  #seq = 0;

  constructor(prefix: string, hooks: ReadBarrierHooks, retryMs: number, timeoutMs: number) {
    // Unique across restarts too: a leader may still answer a read asked before a crash.
    this.#prefix = `${prefix}.${crypto.randomUUID()}`;
    this.#hooks = hooks;
    this.#retryMs = retryMs;
    this.#timeoutMs = timeoutMs;
  }

  wait(): Promise<EtcdError | undefined> {
    return new Promise((resolve) => {
      this.#queued.push(resolve);
      this.#start();
    });
  }

  /** The core confirmed a read index. */
  confirmed(states: readonly ReadState[]): void {
    for (const s of states) {
      if (this.#inFlight && s.context === this.#inFlight.context) this.#inFlight.index = s.index;
    }
    this.applied();
  }

  /** The member applied more entries: serve the batch if it can be. */
  applied(): void {
    const batch = this.#inFlight;
    if (!batch || batch.index === undefined || this.#hooks.applied() < batch.index) return;
    this.#inFlight = undefined;
    for (const w of batch.waiters) w(undefined);
    this.#start();
  }

  /**
   * Called every tick: a ReadIndex unanswered for a while is asked again (its leader may have
   * changed), and a batch waiting too long fails with `timeout`; `fail` ends every read at once
   * (no leader).
   */
  tick(timeout: EtcdError, fail?: EtcdError): void {
    const batch = this.#inFlight;
    if (fail) {
      const waiters = [...(batch?.waiters ?? []), ...this.#queued.splice(0)];
      this.#inFlight = undefined;
      for (const w of waiters) w(fail);
      return;
    }
    if (!batch || batch.index !== undefined) return;
    const now = this.#hooks.now();
    if (now - batch.firstAskedMs >= this.#timeoutMs) {
      this.#inFlight = undefined;
      for (const w of batch.waiters) w(timeout);
      this.#start();
    } else if (now - batch.askedMs >= this.#retryMs) {
      batch.context = `${this.#prefix}:${++this.#seq}`;
      batch.askedMs = now;
      this.#hooks.ask(batch.context);
    }
  }

  #start(): void {
    if (this.#inFlight || this.#queued.length === 0) return;
    const now = this.#hooks.now();
    this.#inFlight = { context: `${this.#prefix}:${++this.#seq}`, waiters: this.#queued.splice(0), firstAskedMs: now, askedMs: now, index: undefined };
    this.#hooks.ask(this.#inFlight.context);
  }
}
