/**
 * Leases: grant, revoke, time to live, one keep-alive — and a Session, a lease kept alive for as
 * long as the process wants it, through failovers (each renewal is asked of the next endpoint when
 * one fails), which says when it was lost.
 *
 * Owns: the lease calls and the keep-alive loop. Never: keys (they are attached by kv.ts's put).
 */
import { Code, EtcdError } from "./errors.ts";
import { jsonLines } from "./lines.ts";
import { asEtcdError, type CallOptions, pause, type Transport } from "./transport.ts";

export interface Lease {
  /** The lease's id, decimal (etcd's int64). */
  id: string;
  /** Its TTL, seconds. */
  ttl: number;
}

export class Leases {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async grant(ttlSeconds: number, options: CallOptions & { id?: string } = {}): Promise<Lease> {
    // Asked again after a failover: a grant applied twice leaves a lease no one holds, which expires.
    const r = await this.#transport.call("/v3/lease/grant", { TTL: ttlSeconds, ...(options.id ? { ID: options.id } : {}) }, { ...options, retry: true });
    return { id: String(r.ID), ttl: Number(r.TTL) };
  }

  async revoke(id: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.call("/v3/lease/revoke", { ID: id }, options);
  }

  /** Seconds the lease has left (-1: it is gone). */
  async timeToLive(id: string, options: CallOptions = {}): Promise<number> {
    const r = await this.#transport.call("/v3/lease/timetolive", { ID: id }, { ...options, retry: true });
    return Number(r.TTL ?? -1);
  }

  /** Renews the lease once: its TTL from now, or 0 once it is gone. */
  async keepAliveOnce(id: string, options: CallOptions = {}): Promise<number> {
    const signal = this.#transport.signalFor(options);
    const { response, endpoint } = await this.#transport.open("/v3/lease/keepalive", { ID: id }, signal);
    try {
      for await (const line of jsonLines(response.body!)) {
        if (line.error) {
          const error = new EtcdError(Number(line.error.grpc_code ?? Code.Unknown), String(line.error.message ?? ""), endpoint);
          if (error.code === Code.NotFound) return 0;
          throw error;
        }
        return Number(line.result?.TTL ?? 0);
      }
    } catch (e) {
      const error = asEtcdError(e, endpoint, signal);
      if (error.transient) this.#transport.failed(endpoint);
      throw error;
    }
    throw new EtcdError(Code.Unavailable, `concord client: ${endpoint} ended a keep-alive without an answer`, endpoint);
  }

  /** A lease of `ttlSeconds` kept alive until the session is closed (or lost: see Session.lost). */
  async session(ttlSeconds = 60, options: CallOptions = {}): Promise<Session> {
    return new Session(this, await this.grant(ttlSeconds, options));
  }
}

/** A lease kept alive: renewed every third of its TTL, from whichever member answers. */
export class Session {
  readonly lease: Lease;
  /** Resolves when the lease is lost (expired, revoked, not renewed in time) or the session closed; with why. */
  readonly lost: Promise<EtcdError | undefined>;
  readonly #leases: Leases;
  readonly #closing = new AbortController();
  #done!: (why: EtcdError | undefined) => void;

  constructor(leases: Leases, lease: Lease) {
    this.#leases = leases;
    this.lease = lease;
    this.lost = new Promise((resolve) => (this.#done = resolve));
    void this.#keepAlive();
  }

  get id(): string {
    return this.lease.id;
  }

  /** Stops renewing and revokes the lease (its keys go with it). */
  async close(): Promise<void> {
    this.#closing.abort();
    this.#done(undefined);
    await this.#leases.revoke(this.lease.id).catch(() => {});
  }

  async #keepAlive(): Promise<void> {
    const signal = this.#closing.signal;
    let expiresAt = Date.now() + this.lease.ttl * 1_000;
    while (!signal.aborted) {
      await pause(Math.max(100, (this.lease.ttl * 1_000) / 3), signal);
      while (!signal.aborted) {
        const left = expiresAt - Date.now();
        if (left <= 0) return this.#done(new EtcdError(Code.NotFound, `concord client: lease ${this.lease.id} was not renewed in time`));
        try {
          const ttl = await this.#leases.keepAliveOnce(this.lease.id, { signal, timeoutMs: Math.min(left, 2_000) });
          if (ttl <= 0) return this.#done(new EtcdError(Code.NotFound, "etcdserver: requested lease not found"));
          expiresAt = Date.now() + ttl * 1_000;
          break;
        } catch (e) {
          if (signal.aborted) return;
          if (e instanceof EtcdError && !e.transient) return this.#done(e);
          await pause(100, signal);
        }
      }
    }
  }
}
