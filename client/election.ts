/**
 * Elections: campaign (wait to lead, with a value), proclaim (a new value while leading), resign,
 * the leader now, and observing every leader in order. Observing is a watch of the election's
 * keys (watch.ts resumes it across failovers), so each leader and each value it proclaims is seen
 * once, in order, even when the member observed through dies.
 *
 * Owns: the election calls and the observer's view of who leads. Never: keeps a lease alive.
 */
import { type BytesLike, fromBase64, prefixEnd, toBase64, toBytes } from "./bytes.ts";
import { Code, EtcdError } from "./errors.ts";
import { type KeyValue, keyValue, type KV } from "./kv.ts";
import type { Session } from "./lease.ts";
import { type CallOptions, type Json, pause, type Transport } from "./transport.ts";
import { watch } from "./watch.ts";

export interface CampaignOptions extends CallOptions {
  lease?: string;
  session?: Session;
}

/** Leading an election: the key that proves it and its create revision (a fencing token, as a lock's). */
export class Leadership {
  readonly #transport: Transport;

  constructor(readonly name: Uint8Array, readonly key: Uint8Array, readonly rev: number, readonly lease: string, transport: Transport) {
    this.#transport = transport;
  }

  #leader(): Json {
    return { name: toBase64(this.name), key: toBase64(this.key), rev: String(this.rev), lease: this.lease };
  }

  /** Sets the leader's value; EtcdError "election: not leader" once leadership was lost. */
  async proclaim(value: BytesLike, options: CallOptions = {}): Promise<void> {
    // Asked again after a failover: a second proclamation of the same value changes nothing that matters.
    await this.#transport.call("/v3/election/proclaim", { leader: this.#leader(), value: toBase64(value) }, { ...options, retry: true });
  }

  async resign(options: CallOptions = {}): Promise<void> {
    // Asked again after a failover: it deletes the key only while it is still this leadership's.
    await this.#transport.call("/v3/election/resign", { leader: this.#leader() }, { ...options, retry: true });
  }
}

/** Waits to lead `name` (no deadline unless given), with `value`; after a failover, asks again with the same lease. */
export async function campaign(transport: Transport, name: BytesLike, value: BytesLike, options: CampaignOptions = {}): Promise<Leadership> {
  const lease = options.session?.id ?? options.lease ?? "0";
  // One deadline for the whole wait, failovers included (none unless given).
  const signal = transport.signalFor({ timeoutMs: options.timeoutMs ?? Infinity, ...(options.signal ? { signal: options.signal } : {}) });
  for (;;) {
    try {
      const r = await transport.call("/v3/election/campaign", { name: toBase64(name), value: toBase64(value), ...(lease !== "0" ? { lease } : {}) }, { timeoutMs: Infinity, signal });
      const l = r.leader ?? {};
      return new Leadership(toBytes(name), fromBase64(l.key), Number(l.rev ?? 0), String(l.lease ?? lease), transport);
    } catch (e) {
      if (!(e instanceof EtcdError && e.code === Code.Unavailable) || signal.aborted || lease === "0") throw e;
      await pause(100, signal);
    }
  }
}

/** The leader's key-value now, or undefined when no one leads. */
export async function leader(transport: Transport, name: BytesLike, options: CallOptions = {}): Promise<KeyValue | undefined> {
  try {
    const r = await transport.call("/v3/election/leader", { name: toBase64(name) }, { ...options, retry: true });
    return keyValue(r.kv ?? {});
  } catch (e) {
    if (e instanceof EtcdError && e.code === Code.Unknown && e.message === "election: no leader") return undefined;
    throw e;
  }
}

/**
 * Every leader of `name` and every value it proclaims, in order, each once — from the leader now
 * (if any) on — until `signal` aborts.
 */
export async function* observe(transport: Transport, kv: KV, name: BytesLike, options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
  const prefix = new Uint8Array([...toBytes(name), 0x2f]);
  const start = await kv.get(prefix, { end: prefixEnd(prefix), ...(options.signal ? { signal: options.signal } : {}) });
  /** The candidates' keys now, by key text: their create revisions decide who leads. */
  const candidates = new Map<string, KeyValue>(start.kvs.map((c) => [c.keyText, c]));
  let shown: KeyValue | undefined;
  const oldest = () => [...candidates.values()].reduce<KeyValue | undefined>((a, c) => (a === undefined || c.createRevision < a.createRevision ? c : a), undefined);
  const current = oldest();
  if (current) yield (shown = current);
  for await (const event of watch(transport, prefix, { prefix: true, startRevision: start.revision + 1, ...(options.signal ? { signal: options.signal } : {}) })) {
    if (event.type === "DELETE") candidates.delete(event.kv.keyText);
    else candidates.set(event.kv.keyText, event.kv);
    const now = oldest();
    if (now && (now.keyText !== shown?.keyText || now.modRevision !== shown.modRevision)) yield (shown = now);
  }
}
