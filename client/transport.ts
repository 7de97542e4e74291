/**
 * Calls to a cluster through etcd's JSON gateway: several endpoints, one in use until it fails
 * (then the next), a deadline on every call, the caller's own AbortSignal, and the token of an
 * authenticated user. A read is asked again of the next endpoint while the deadline allows; a
 * write is not (it may have been applied before the connection broke, as etcd's clients reason),
 * but the next call goes elsewhere.
 *
 * Owns: the endpoints and which is in use, deadlines, turning answers into values or EtcdErrors.
 * Never: what a call means (kv.ts, lease.ts … do), or any runtime's own API (only fetch, streams, AbortSignal).
 */
import { Code, codeOf, EtcdError } from "./errors.ts";

export interface ClientOptions {
  /** The members' client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** A call's deadline unless it gives its own, ms (default 5,000). */
  timeoutMs?: number;
  /** An auth token (etcd's Authenticate answer); see Client.authenticate. */
  token?: string;
  /** The fetch to use (default globalThis.fetch): an edge runtime's, or a test's. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** This call's deadline, ms. */
  timeoutMs?: number;
  /** Ends the call early (the caller's own cancellation). */
  signal?: AbortSignal;
}

/** Every JSON answer: an object whose fields the calls read. */
// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

const DEFAULT_TIMEOUT_MS = 5_000;
/** The wait between two rounds of the endpoints for a call that may be asked again, ms. */
const RETRY_ROUND_WAIT_MS = 100;

export class Transport {
  readonly #endpoints: string[];
  readonly #fetch: typeof fetch;
  readonly timeoutMs: number;
  #current = 0;
  token: string | undefined;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new TypeError("concord client: no endpoints given");
    this.#endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.token = options.token;
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** The endpoint calls go to now. */
  get endpoint(): string {
    return this.#endpoints[this.#current];
  }

  /** The endpoint after `endpoint` failed (no change if another call moved on already). */
  failed(endpoint: string): void {
    if (this.endpoint === endpoint) this.#current = (this.#current + 1) % this.#endpoints.length;
  }

  /** A signal that aborts at the call's deadline (none: Infinity) or when the caller's signal does. */
  signalFor(options: CallOptions = {}): AbortSignal {
    const ms = options.timeoutMs ?? this.timeoutMs;
    if (ms === Infinity) return options.signal ?? new AbortController().signal;
    const deadline = AbortSignal.timeout(ms);
    return options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  }

  /**
   * POSTs `body` to `path`. `retry` (a read) asks the next endpoint after any failure another
   * could answer; anything else is asked again only when it never left (the connection refused).
   */
  async call(path: string, body: Json, options: CallOptions & { retry?: boolean } = {}): Promise<Json> {
    const signal = this.signalFor(options);
    for (let tries = 0; ; tries++) {
      const endpoint = this.endpoint;
      try {
        const answer = await this.#post(endpoint, path, body, signal);
        return await json(answer, endpoint);
      } catch (e) {
        const error = asEtcdError(e, endpoint, signal);
        if (error.transient) this.failed(endpoint);
        const again = options.retry ? error.transient : refused(e);
        if (!again || signal.aborted) throw error;
        // Every endpoint tried once already: wait a little (an election takes a moment) before
        // going round again, until the deadline.
        if ((tries + 1) % this.#endpoints.length === 0) await pause(RETRY_ROUND_WAIT_MS, signal);
        if (signal.aborted) throw error;
      }
    }
  }

  /** POSTs and hands back the response, its body unread (a stream: watch, observe, keep-alive). */
  open(path: string, body: Json, signal: AbortSignal): Promise<{ response: Response; endpoint: string }> {
    return this.#opened((endpoint) => this.#post(endpoint, path, body, signal), signal);
  }

  /** GETs `path` (a query in it) and hands back the response, its body unread (an SSE stream). */
  openGet(path: string, signal: AbortSignal): Promise<{ response: Response; endpoint: string }> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (this.token) headers.Authorization = this.token;
    return this.#opened((endpoint) => this.#fetch(`${endpoint}${path}`, { headers, signal }), signal);
  }

  /** A stream's response from the endpoint in use, or the etcd error it answered (the next endpoint used after one that failed). */
  async #opened(ask: (endpoint: string) => Promise<Response>, signal: AbortSignal): Promise<{ response: Response; endpoint: string }> {
    const endpoint = this.endpoint;
    try {
      const response = await ask(endpoint);
      if (!response.ok) await json(response, endpoint);
      return { response, endpoint };
    } catch (e) {
      const error = asEtcdError(e, endpoint, signal);
      if (error.transient) this.failed(endpoint);
      throw error;
    }
  }

  /** No Content-Type (etcd's gateway reads any body as JSON): a page's call to another origin then needs no preflight unless logged in. */
  #post(endpoint: string, path: string, body: Json, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = this.token;
    return this.#fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body), headers, signal });
  }
}

/** A response's JSON, or the etcd error its body carries. */
async function json(response: Response, endpoint: string): Promise<Json> {
  const text = await response.text();
  let parsed: Json | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.ok && parsed) return parsed;
  if (parsed && typeof parsed.code === "number") {
    const message = String(parsed.message ?? parsed.error ?? "");
    throw new EtcdError(codeOf(parsed.code, message), message, endpoint);
  }
  const code = response.status === 503 ? Code.Unavailable : Code.Unknown;
  throw new EtcdError(code, `concord client: ${endpoint} answered ${response.status}: ${text.slice(0, 200)}`, endpoint);
}

/** A failure as an EtcdError: a deadline or a cancellation as such, a connection that failed as Unavailable. */
export function asEtcdError(e: unknown, endpoint: string, signal: AbortSignal): EtcdError {
  if (e instanceof EtcdError) return e;
  if (signal.aborted) {
    const timedOut = (signal.reason as Error | undefined)?.name === "TimeoutError";
    return new EtcdError(timedOut ? Code.DeadlineExceeded : Code.Canceled, timedOut ? "context deadline exceeded" : "context canceled", endpoint);
  }
  return new EtcdError(Code.Unavailable, `concord client: ${endpoint} could not be reached: ${(e as Error)?.message ?? e}`, endpoint);
}

/**
 * Whether a failed fetch never reached a server (its connection was refused), as each runtime
 * words it; a browser does not say, so there a write is never asked twice.
 */
function refused(e: unknown): boolean {
  const error = e as { message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  const text = `${error?.code ?? ""} ${error?.message ?? ""} ${error?.cause?.code ?? ""} ${error?.cause?.message ?? ""}`;
  return /ECONNREFUSED|Connection refused|Unable to connect/i.test(text);
}

/** Waits `ms`, or less if `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
