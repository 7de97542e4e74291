/**
 * The console's client for etcd's JSON API: calls to this member or to another member's client
 * URL, keys and values between text and base64, prefix ranges, and the curl line that does the
 * same as a call (shown beside every action).
 *
 * Owns: talking to the server. Never: rendering.
 */

import { asksForLogin, loginNeeded, token } from "./session.ts";

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytesToBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export function base64ToBytes(b64: string | undefined): Uint8Array {
  if (!b64) return new Uint8Array();
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Text to etcd's base64. */
export const b64 = (text: string) => bytesToBase64(encoder.encode(text));
/** etcd's base64 to text (invalid UTF-8 shown with replacement characters). */
export const text = (b64text: string | undefined) => decoder.decode(base64ToBytes(b64text));

/** The end of the range of every key starting with `prefix`, as base64 ("AA==" for every key). */
export function prefixEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return bytesToBase64(end);
    }
  }
  return "AA==";
}

/** POSTs a call to a member (this one unless `base` is another's client URL). */
export async function call<T = Record<string, unknown>>(path: string, body: unknown, base = "", timeoutMs = 5_000): Promise<T> {
  let response: Response;
  try {
    const headers: Record<string, string> = token.value ? { Authorization: token.value } : {};
    response = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body), headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new ApiError(0, `unreachable: ${(e as Error).message}`);
  }
  const answer = await response.text();
  let parsed: { message?: string; error?: string };
  try {
    parsed = JSON.parse(answer);
  } catch {
    throw new ApiError(response.status, answer.trim());
  }
  const message = parsed.message ?? parsed.error ?? answer;
  if (asksForLogin(response.status, message)) loginNeeded.value = true;
  if (!response.ok) throw new ApiError(response.status, message);
  return parsed as T;
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

type WatchEvents = (events: { type?: string; kv: KeyValue; prev_kv?: KeyValue }[], revision: number) => void;

function deliver(data: string, onEvents: WatchEvents): void {
  const result = JSON.parse(data);
  if (result.events) onEvents(result.events, Number(result.header?.revision ?? 0));
}

/**
 * An SSE watch of a range; calls `onEvents` with each revision's events until closed. Logged in,
 * the stream is read with fetch, which can send the token (an EventSource cannot send headers).
 */
export function watchRange(query: string, onEvents: WatchEvents): () => void {
  if (!token.value) {
    const source = new EventSource(`/v3/watch?${query}`);
    source.onmessage = (e) => deliver(e.data, onEvents);
    return () => source.close();
  }
  const stop = new AbortController();
  (async () => {
    const response = await fetch(`/v3/watch?${query}`, { headers: { Authorization: token.value!, Accept: "text/event-stream" }, signal: stop.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      pending += value;
      const events = pending.split("\n\n");
      pending = events.pop()!;
      for (const event of events) {
        const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) deliver(data, onEvents);
      }
    }
  })().catch(() => {});
  return () => stop.abort();
}
