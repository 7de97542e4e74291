/**
 * The chaos harness's watchers and their checker: one gateway watch per member on the workload's
 * prefix from revision 1, reconnecting after every drop from the revision after the last event it
 * saw (as etcd's clients resume); and the check that each saw exactly the prefix's history — every
 * revision once, in order, none missing, each with the key and value the history has.
 *
 * Owns: the watch streams, their reconnects, and the watch checker. Never: faults or the KV
 * workload.
 */
import type { ClusterMember } from "../cluster.ts";

/** One event of the workload's prefix: single-key writes, so one per revision. */
export interface SeenEvent {
  revision: number;
  key: string;
  value: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString();

/** The end of the range of every key starting with `prefix` (ASCII prefixes). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * Reads one watch stream from `fromRevision` until it ends or `signal` aborts, handing each event
 * on; resolves when the stream is gone (the member died, or the connection dropped).
 */
export async function watchOnce(url: string, prefix: string, fromRevision: number, signal: AbortSignal, onEvent: (e: SeenEvent) => void): Promise<void> {
  const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: b64(prefixEnd(prefix)), start_revision: String(fromRevision) } });
  const r = await fetch(`${url}/v3/watch`, { method: "POST", body, signal });
  if (!r.ok || !r.body) return;
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (!line) continue;
      const result = JSON.parse(line).result as { canceled?: boolean; events?: { type?: string; kv: { key: string; value?: string; mod_revision: string } }[] } | undefined;
      if (result?.canceled) return;
      for (const e of result?.events ?? []) {
        onEvent({ revision: Number(e.kv.mod_revision), key: unb64(e.kv.key), value: e.type === "DELETE" ? "" : unb64(e.kv.value ?? "") });
      }
    }
  }
}

/** A watcher on one member that reconnects from where it was, until stopped. */
export class ChaosWatcher {
  readonly events: SeenEvent[] = [];
  reconnects = 0;
  readonly #abort = new AbortController();
  readonly #running: Promise<void>;

  constructor(readonly member: ClusterMember, prefix: string) {
    this.#running = this.#run(prefix);
  }

  get lastRevision(): number {
    return this.events.at(-1)?.revision ?? 0;
  }

  async #run(prefix: string): Promise<void> {
    while (!this.#abort.signal.aborted) {
      await watchOnce(this.member.clientUrl, prefix, this.lastRevision + 1, this.#abort.signal, (e) => this.events.push(e)).catch(() => {});
      if (this.#abort.signal.aborted) return;
      this.reconnects++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }
}

/** Why a watcher's events are not exactly `history` (the prefix's events, in revision order), or undefined. */
export function watchAnomaly(events: readonly SeenEvent[], history: readonly SeenEvent[]): string | undefined {
  const at = new Map(history.map((e) => [e.revision, e]));
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (i > 0 && e.revision <= events[i - 1].revision) {
      return `revision ${e.revision} after ${events[i - 1].revision}: ${e.revision === events[i - 1].revision ? "delivered twice" : "out of order"}`;
    }
    const truth = at.get(e.revision);
    if (!truth) return `revision ${e.revision} (${e.key}=${e.value}) is not in the prefix's history`;
    if (truth.key !== e.key || truth.value !== e.value) return `revision ${e.revision}: saw ${e.key}=${e.value}, the history has ${truth.key}=${truth.value}`;
  }
  const last = events.at(-1)?.revision ?? 0;
  const missed = history.filter((h) => h.revision <= last).length - events.length;
  if (missed > 0) {
    const seen = new Set(events.map((e) => e.revision));
    const first = history.find((h) => h.revision <= last && !seen.has(h.revision))!;
    return `${missed} revisions up to ${last} never delivered, the first ${first.revision} (${first.key}=${first.value})`;
  }
  return undefined;
}
