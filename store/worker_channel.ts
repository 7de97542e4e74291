/**
 * A request/answer channel to a store worker thread (the log writer, the checkpointer).
 *
 * Owns: numbering requests, matching answers, and fail-stop — once the worker fails or crashes,
 * every waiting and later request fails with that first error. Answers come in request order.
 * Never: what the requests mean.
 */
import { startWorker, type WorkerRole } from "../runtime/workers.ts";

/** A worker's answer: done (with what it made, for requests that make something), or failed — which fails the channel. */
export type WorkerReply = { seq: number; ok: true; result?: unknown } | { seq: number; ok: false; error: string };

type Waiter = { resolve: (result: unknown) => void; reject: (e: Error) => void };

export class WorkerChannel<Request extends { kind: string }> {
  readonly #worker: Worker;
  readonly #name: string;
  readonly #waiting = new Map<number, Waiter>();
  #seq = 0;
  #failure: Error | undefined;

  /** `options`: what the worker opens its database with, beside the path. */
  constructor(script: URL, role: WorkerRole, name: string, path: string, options: Record<string, unknown> = {}) {
    this.#name = name;
    this.#worker = startWorker(script, role);
    this.#worker.onmessage = (e: MessageEvent) => this.#settle(e.data as WorkerReply);
    this.#worker.onerror = (e: ErrorEvent) => this.#fail(new Error(`${name} worker crashed: ${e.message}`));
    this.#worker.postMessage({ ...options, kind: "open", path });
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Sends a request; buffers in `transfer` move to the worker (they are unusable here after). */
  request(request: Request, transfer: Transferable[] = []): Promise<void> {
    return this.ask(request, transfer).then(() => undefined);
  }

  /** Sends a request and resolves with what the worker answered it (its `result`). */
  ask(request: Request, transfer: Transferable[] = []): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(seq, { resolve, reject });
      this.#worker.postMessage({ ...request, seq }, transfer);
    });
  }

  /** Asks the worker to close its database, then ends the thread. */
  async close(closeRequest: Request): Promise<void> {
    if (!this.#failure) await this.request(closeRequest).catch(() => {});
    this.#worker.terminate();
  }

  #settle(reply: WorkerReply): void {
    const waiter = this.#waiting.get(reply.seq);
    if (!waiter) return;
    this.#waiting.delete(reply.seq);
    if (reply.ok) return waiter.resolve(reply.result);
    this.#fail(new Error(`${this.#name} failed: ${reply.error}`));
    waiter.reject(this.#failure!);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const w of this.#waiting.values()) w.reject(this.#failure);
    this.#waiting.clear();
  }
}
