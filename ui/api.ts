/**
 * The console's calls, on the project's own client (client/): to this member or to another
 * member's client URL with the login's token, keys and values between text and base64, prefix
 * ranges, live watches (the client's SSE watch, resumed after a drop), and the curl line that does
 * the same as a call (shown beside every action).
 *
 * Owns: what the pages ask of the client, and noticing a refusal that asks for a login. Never:
 * rendering, or talking HTTP itself (the client does).
 */

import { Client, EtcdError, fromBase64, prefixEnd as prefixEndBytes, toBase64, type WatchEvent } from "../client/mod.ts";
import { asksForLogin, loginNeeded, token } from "./session.ts";

/** A call's failure: etcd's error (code, message), or the client's (a member not reached in time). */
export { EtcdError as ApiError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytesToBase64 = (bytes: Uint8Array): string => toBase64(bytes);
export const base64ToBytes = (b64text: string | undefined): Uint8Array => fromBase64(b64text);

/** Text to etcd's base64. */
export const b64 = (text: string) => bytesToBase64(encoder.encode(text));
/** etcd's base64 to text (invalid UTF-8 shown with replacement characters). */
export const text = (b64text: string | undefined) => decoder.decode(base64ToBytes(b64text));

/** The end of the range of every key starting with `prefix`, as base64 ("AA==" for every key). */
export const prefixEnd = (prefix: string): string => toBase64(prefixEndBytes(prefix));

/** The client of this member (base "") or of another member's client URL, carrying the login's token. */
const clients = new Map<string, Client>();
function clientOf(base: string): Client {
  let client = clients.get(base);
  if (!client) clients.set(base, client = new Client({ endpoints: [base || location.origin] }));
  client.token = token.value;
  return client;
}

/** POSTs a call to a member (this one unless `base` is another's client URL); a refusal that asks for a login says so. */
export async function call<T = Record<string, unknown>>(path: string, body: unknown, base = "", timeoutMs = 5_000): Promise<T> {
  try {
    return await clientOf(base).request<T>(path, body as Record<string, unknown>, { timeoutMs });
  } catch (e) {
    if (e instanceof EtcdError && asksForLogin(e.code, e.message)) loginNeeded.value = true;
    throw e;
  }
}

/** The same call as a curl command line. */
export function curl(path: string, body: unknown, base = location.origin): string {
  return `curl -s ${base}${path} -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`;
}

export interface KeyValue {
  key: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  value?: string;
  lease?: string;
}

/** What a watch hands over: the events of a revision, and that revision. */
type WatchEvents = (events: WatchEvent[], revision: number) => void;

/**
 * A watch of every key under `prefix` (every key for "") or of one `key`, from `from` (default:
 * now), over the same SSE watch any browser can open — the client's, which resumes after a
 * dropped connection with nothing lost or repeated; calls `onEvents` until stopped.
 */
export function watchRange(what: { prefix: string; from?: number } | { key: string }, onEvents: WatchEvents): () => void {
  const stop = new AbortController();
  const client = clientOf("");
  const watched = "key" in what
    ? client.watch(what.key, { sse: true, signal: stop.signal })
    : client.watch(what.prefix, { prefix: true, sse: true, signal: stop.signal, ...(what.from ? { startRevision: what.from } : {}) });
  (async () => {
    for await (const event of watched) onEvents([event], event.revision);
  })().catch(() => {});
  return () => stop.abort();
}
