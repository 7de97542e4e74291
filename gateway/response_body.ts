/**
 * A streamed response body with a bounded queue, for answers that go on (watch, keep-alive): its
 * writer can ask whether the reader has room and wait for it, so a client that reads nothing is
 * sent nothing more and its requests are read no further.
 *
 * Owns: the queue, the waits for room, and closing once. Never: what is written, or when.
 */
const encoder = new TextEncoder();

export interface ResponseBodyHooks {
  /** The reader took from the queue: there is room again. */
  pulled?(): void;
  /** The reader went away. */
  cancelled?(): void;
}

export class ResponseBody {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #waiting: (() => void)[] = [];

  constructor(queuedBytes: number, hooks: ResponseBodyHooks = {}) {
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
      },
      pull: () => {
        this.#resume();
        hooks.pulled?.();
      },
      cancel: () => {
        this.#closed = true;
        this.#resume();
        hooks.cancelled?.();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: queuedBytes }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the reader would take more now. */
  get ready(): boolean {
    return !this.#closed && (this.#controller.desiredSize ?? 0) > 0;
  }

  /** Resolves once the reader has room, or the body is closed. */
  whenWritable(): Promise<void> {
    if (this.#closed || this.ready) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Queues a chunk whatever the queue holds (the writer asks `ready` first where it matters). */
  write(chunk: string): void {
    if (!this.#closed) this.#controller.enqueue(encoder.encode(chunk));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resume();
    this.#controller.close();
  }

  #resume(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}
