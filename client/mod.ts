/**
 * Concord's TypeScript client for etcd's v3 API over its JSON gateway — for browsers, Deno, Bun,
 * Node and fetch-only edge functions alike (fetch, streams and AbortSignal only; no dependencies,
 * no node: imports). It works against etcd's own gateway too.
 *
 *   const etcd = new Client({ endpoints: ["http://127.0.0.1:2379"] });
 *   await etcd.kv.put("config/color", "blue");
 *   for await (const e of etcd.watch("config/", { prefix: true })) console.log(e.type, e.kv.keyText, e.kv.valueText);
 *   const session = await etcd.leases.session(10);
 *   const lock = await etcd.lock("jobs/nightly", { session });
 *   await lock.write([op.put("jobs/nightly/ran", new Date().toISOString())]); // refused once the lock is lost
 *
 * Owns: the client's parts put together, and what it exports. Never: anything of the server.
 */
import { campaign, type CampaignOptions, type Leadership, leader, observe } from "./election.ts";
import { type KeyValue, KV } from "./kv.ts";
import { Leases } from "./lease.ts";
import { lock, type Lock, type LockOptions } from "./lock.ts";
import { type CallOptions, type ClientOptions, Transport } from "./transport.ts";
import { watch, type WatchEvent, type WatchOptions } from "./watch.ts";
import type { BytesLike } from "./bytes.ts";

export { type BytesLike, fromBase64, prefixEnd, toBase64, toBytes, toText } from "./bytes.ts";
export { Code, type CodeName, EtcdError, LockLostError } from "./errors.ts";
export { compare, type GetOptions, type GetResult, type KeyValue, op, type PutOptions, type TxnBuilder, type TxnResult } from "./kv.ts";
export { type Lease, Session } from "./lease.ts";
export type { CampaignOptions, ClientOptions, CallOptions, Leadership, Lock, LockOptions, WatchEvent, WatchOptions };

export class Client {
  readonly #transport: Transport;
  readonly kv: KV;
  readonly leases: Leases;

  constructor(options: ClientOptions) {
    this.#transport = new Transport(options);
    this.kv = new KV(this.#transport);
    this.leases = new Leases(this.#transport);
  }

  /** The auth token calls carry (set by authenticate, or given). */
  get token(): string | undefined {
    return this.#transport.token;
  }

  set token(token: string | undefined) {
    this.#transport.token = token;
  }

  /**
   * Any call of etcd's JSON gateway, its body and answer as the gateway has them (base64 keys,
   * int64s as strings) — for what the client does not wrap. `retry`: it only reads, so another
   * endpoint may be asked after a failure.
   */
  request<T = Record<string, unknown>>(path: string, body: Record<string, unknown>, options: CallOptions & { retry?: boolean } = {}): Promise<T> {
    return this.#transport.call(path, body, options) as Promise<T>;
  }

  /** The endpoint calls go to now (the next one after a failure). */
  get endpoint(): string {
    return this.#transport.endpoint;
  }

  /** Logs in (etcd's Authenticate): later calls carry the token. */
  async authenticate(name: string, password: string, options: CallOptions = {}): Promise<void> {
    const r = await this.#transport.call("/v3/auth/authenticate", { name, password }, { ...options, retry: true });
    this.#transport.token = String(r.token);
  }

  /** Events of a key or a prefix, each once and in order, across failovers (see watch.ts). */
  watch(key: BytesLike, options: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    return watch(this.#transport, key, options);
  }

  /** Waits for the lock `name`; the Lock's fencing token and fenced writes guard what it protects. */
  lock(name: BytesLike, options: LockOptions = {}): Promise<Lock> {
    return lock(this.#transport, this.kv, name, options);
  }

  /** Waits to lead the election `name` with `value`. */
  campaign(name: BytesLike, value: BytesLike, options: CampaignOptions = {}): Promise<Leadership> {
    return campaign(this.#transport, name, value, options);
  }

  /** The election's leader now, or undefined. */
  leader(name: BytesLike, options: CallOptions = {}): Promise<KeyValue | undefined> {
    return leader(this.#transport, name, options);
  }

  /** Every leader of the election and every value it proclaims, in order, each once. */
  observe(name: BytesLike, options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
    return observe(this.#transport, this.kv, name, options);
  }
}
