/**
 * Locks with fencing: lock returns the lock's key and its fencing token (the key's create
 * revision — larger for every later holder), and a holder's writes can be fenced: a txn that
 * applies only while the key is still the one created at that revision, so a holder that lost the
 * lock (its lease expired while it was paused) has its writes refused, not applied.
 *
 * Owns: the Lock and Unlock calls (asked again of another member after a failover: a lock on the
 * same lease is the same key, its place in line kept) and fenced txns. Never: keeps the lease alive
 * (a Session does).
 */
import { type BytesLike, fromBase64, toBase64, toText } from "./bytes.ts";
import { Code, EtcdError, LockLostError } from "./errors.ts";
import { compare, type KV, type Op, type TxnBuilder, type TxnResult } from "./kv.ts";
import type { Session } from "./lease.ts";
import { type CallOptions, pause, type Transport } from "./transport.ts";

export interface LockOptions extends CallOptions {
  /** The lease that holds the lock (a session's, or one granted by the caller); etcd grants a 60 s one when none is given. */
  lease?: string;
  session?: Session;
}

export class Lock {
  readonly #kv: KV;
  readonly #transport: Transport;

  constructor(
    readonly key: Uint8Array,
    /** The fencing token: the lock key's create revision. */
    readonly fencingToken: number,
    readonly lease: string,
    kv: KV,
    transport: Transport,
  ) {
    this.#kv = kv;
    this.#transport = transport;
  }

  get keyText(): string {
    return toText(this.key);
  }

  /** A txn whose `then` runs only while this lock is held (its `else` otherwise). */
  fenced(): TxnBuilder {
    return this.#kv.txn().if(compare.createRevision(this.key, "=", this.fencingToken));
  }

  /** Runs `ops` only while the lock is held; throws LockLostError when it is not. */
  async write(ops: Op[], options: CallOptions = {}): Promise<TxnResult> {
    const result = await this.fenced().then(...ops).commit(options);
    if (!result.succeeded) throw new LockLostError(this.keyText);
    return result;
  }

  /** Whether the lock is still held (its key there, created at the token's revision). */
  async held(options: CallOptions = {}): Promise<boolean> {
    const found = await this.#kv.get(this.key, options);
    return found.kvs[0]?.createRevision === this.fencingToken;
  }

  async unlock(options: CallOptions = {}): Promise<void> {
    // Asked again after a failover. Unlock deletes the key whoever's it is (as etcd's does): the
    // key is this lock's lease's, which no other holder has.
    await this.#transport.call("/v3/lock/unlock", { key: toBase64(this.key) }, { ...options, retry: true });
  }
}

/**
 * Waits for the lock `name` (no deadline unless given) and answers it held. After a failover it
 * asks the next member with the same lease: the same key, its place in line kept.
 */
export async function lock(transport: Transport, kv: KV, name: BytesLike, options: LockOptions = {}): Promise<Lock> {
  const lease = options.session?.id ?? options.lease ?? "0";
  // One deadline for the whole wait, failovers included (none unless given).
  const signal = transport.signalFor({ timeoutMs: options.timeoutMs ?? Infinity, ...(options.signal ? { signal: options.signal } : {}) });
  for (;;) {
    try {
      const r = await transport.call("/v3/lock/lock", { name: toBase64(name), ...(lease !== "0" ? { lease } : {}) }, { timeoutMs: Infinity, signal });
      const key = fromBase64(r.key);
      const found = await kv.get(key, { signal });
      const held = found.kvs[0];
      if (!held) throw new LockLostError(toText(key));
      return new Lock(key, held.createRevision, held.lease, kv, transport);
    } catch (e) {
      // A member that went away, or lost its leader: the same call of another keeps the place in line.
      if (!(e instanceof EtcdError && e.code === Code.Unavailable) || signal.aborted || lease === "0") throw e;
      await pause(100, signal);
    }
  }
}
