/**
 * Test support: reading etcd's streamed answers — the gateway's `{"result":…}` lines (watch,
 * keep-alive) and Server-Sent Events — one item at a time, with a deadline on each.
 *
 * Owns: the client side of a long response, and closing it. Never: asserts anything.
 */

export interface WatchResult {
  header: { revision?: string };
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: string; kv: Record<string, string>; prev_kv?: Record<string, string> }[];
}

/** A streamed response read piece by piece; `next` fails if nothing comes within its deadline. */
class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #abort: AbortController;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #ended = false;
  readonly status: number;
  readonly contentType: string;

  constructor(response: Response, abort: AbortController) {
    this.#reader = response.body!.getReader();
    this.#abort = abort;
    this.status = response.status;
    this.contentType = response.headers.get("content-type") ?? "";
  }

  /** The text up to the next `separator`, or undefined once the stream ended. */
  async until(separator: string, timeoutMs: number, what: string): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.#buffer.indexOf(separator);
      if (at >= 0) {
        const piece = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + separator.length);
        return piece;
      }
      if (this.#ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing within ${timeoutMs} ms (have ${JSON.stringify(this.#buffer.slice(0, 200))})`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), left)));
      const read = await Promise.race([this.#reader.read(), timeout]).catch(() => ({ done: true, value: undefined }));
      clearTimeout(timer);
      if (read === "timeout") continue;
      if (read.done) this.#ended = true;
      else this.#buffer += this.#decoder.decode(read.value, { stream: true });
    }
  }

  close(): void {
    this.#abort.abort();
    this.#reader.cancel().catch(() => {});
  }
}

/** A gateway stream (POST /v3/watch, /v3/lease/keepalive): one JSON object per line. */
export class GatewayStream {
  readonly #reader: StreamReader;
  private constructor(reader: StreamReader) {
    this.#reader = reader;
  }

  static async open(url: string, path: string, body: string): Promise<GatewayStream> {
    const abort = new AbortController();
    const response = await fetch(`${url}${path}`, { method: "POST", body, signal: abort.signal });
    return new GatewayStream(new StreamReader(response, abort));
  }

  get status(): number {
    return this.#reader.status;
  }

  /** The next line as JSON; undefined once the stream ended. */
  async next(timeoutMs = 10_000): Promise<{ result?: WatchResult; error?: unknown } | undefined> {
    const line = await this.#reader.until("\n", timeoutMs, "gateway stream");
    return line === undefined ? undefined : JSON.parse(line);
  }

  /** The next result, failing on an error line or the end of the stream. */
  async result(timeoutMs = 10_000): Promise<WatchResult> {
    const item = await this.next(timeoutMs);
    if (!item?.result) throw new Error(`expected a result, got ${JSON.stringify(item)}`);
    return item.result;
  }

  close(): void {
    this.#reader.close();
  }
}

export interface SseEvent {
  id?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** An SSE stream (GET /v3/watch): one event per blank-line-separated block. */
export class SseStream {
  readonly #reader: StreamReader;
  private constructor(reader: StreamReader) {
    this.#reader = reader;
  }

  static async open(url: string, query: string, lastEventId?: string): Promise<SseStream> {
    const abort = new AbortController();
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    const response = await fetch(`${url}/v3/watch?${query}`, { headers, signal: abort.signal });
    return new SseStream(new StreamReader(response, abort));
  }

  get status(): number {
    return this.#reader.status;
  }

  get contentType(): string {
    return this.#reader.contentType;
  }

  /** The next block, comments and retry lines included; undefined once the stream ended. */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const block = await this.#reader.until("\n\n", timeoutMs, "SSE stream");
    if (block === undefined) return undefined;
    const event: SseEvent = {};
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) event.comment = line.slice(1).trim();
      else {
        const at = line.indexOf(":");
        const field = line.slice(0, at);
        const value = line.slice(at + 1).replace(/^ /, "");
        if (field === "id" || field === "data" || field === "retry") event[field] = value;
      }
    }
    return event;
  }

  /** The next event carrying data, parsed. */
  async result(timeoutMs = 10_000): Promise<{ id?: string; result: WatchResult }> {
    for (;;) {
      const event = await this.next(timeoutMs);
      if (event === undefined) throw new Error("SSE stream ended");
      if (event.data !== undefined) return { id: event.id, result: JSON.parse(event.data) };
    }
  }

  close(): void {
    this.#reader.close();
  }
}
