/**
 * The cluster's leases as replicated state: id, granted TTL and the remaining TTL the leader last
 * checkpointed, and which keys each one holds.
 *
 * Owns: the `leases` table of state.db and an in-memory copy of it (every put with a lease asks
 * whether the lease exists). Writes land in the caller's transaction (the state's open batch), so
 * a lease changes atomically with the applied index and with the keys its revoke deletes.
 * Never: keeps time — expiry is the leader's (member/lessor.ts); this only records.
 */
import type { LeaseId } from "../etcd/types.ts";
import type { Database, Statement } from "./sqlite.ts";

export interface LeaseRecord {
  id: LeaseId;
  /** The TTL granted, in seconds. */
  ttl: number;
  /**
   * The remaining TTL in seconds as last checkpointed; 0 when none was (the lease has its whole
   * TTL); LEASE_LAPSED when the lease had run out its own time and lived on a new leader's extension.
   */
  remaining: number;
}

/** A checkpointed remaining TTL: the lease's own time is used up; a new leader gives it only its extension. */
export const LEASE_LAPSED = -1;

type Row = { id: string; ttl: number; remaining: number };

export class LeaseTable {
  readonly #byId = new Map<LeaseId, LeaseRecord>();
  readonly #insert: Statement;
  readonly #delete: Statement;
  readonly #setRemaining: Statement;
  readonly #keys: Statement;

  constructor(db: Database) {
    for (const row of db.prepare("SELECT id, ttl, remaining FROM leases").all<Row>()) {
      const id = BigInt(row.id);
      this.#byId.set(id, { id, ttl: row.ttl, remaining: row.remaining });
    }
    this.#insert = db.prepare("INSERT INTO leases (id, ttl, remaining) VALUES (?, ?, 0)");
    this.#delete = db.prepare("DELETE FROM leases WHERE id = ?");
    this.#setRemaining = db.prepare("UPDATE leases SET remaining = ? WHERE id = ?");
    this.#keys = db.prepare("SELECT key FROM kv_index WHERE lease = ? AND version > 0 ORDER BY key");
  }

  exists(id: LeaseId): boolean {
    return this.#byId.has(id);
  }

  get(id: LeaseId): LeaseRecord | undefined {
    return this.#byId.get(id);
  }

  /** Every lease, in no particular order (etcd lists them from a map). */
  list(): LeaseRecord[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }

  grant(id: LeaseId, ttl: number): void {
    this.#insert.run(id.toString(), ttl);
    this.#byId.set(id, { id, ttl, remaining: 0 });
  }

  /** Forgets the lease; its keys are the caller's to delete (in the same transaction). */
  remove(id: LeaseId): void {
    this.#delete.run(id.toString());
    this.#byId.delete(id);
  }

  checkpoint(id: LeaseId, remaining: number): void {
    const lease = this.#byId.get(id);
    if (!lease) return;
    this.#setRemaining.run(remaining, id.toString());
    lease.remaining = remaining;
  }

  /** The live keys attached to a lease, in key order. */
  keys(id: LeaseId): Uint8Array[] {
    return this.#keys.all<{ key: Uint8Array }>(id.toString()).map((r) => r.key);
  }
}
