/**
 * etcd's space quota (--quota-backend-bytes): a write that would take the state past it is refused
 * with etcd's NOSPACE error, and the member raises the NOSPACE alarm — replicated, so every member
 * then refuses what takes more space until an operator frees some and disarms it.
 *
 * Owns: what a request is estimated to cost (etcd's quota.go: the request's protobuf size plus
 * 256 bytes per key, 64 per lease) and raising this member's alarm once, not once per request.
 * Never: measures the state (the store does) or decides what an alarm forbids (etcd/alarms.ts).
 */
import { AlarmErrors } from "../etcd/alarms.ts";
import type { Command } from "../etcd/commands.ts";
import type { EtcdError } from "../etcd/errors.ts";
import { putSize } from "../etcd/proto_size.ts";
import type { RequestOp } from "../etcd/types.ts";

/** etcd's estimate of what storing a key's metadata, and a lease, costs beyond the request. */
const KV_OVERHEAD_BYTES = 256;
const LEASE_OVERHEAD_BYTES = 64;

export interface QuotaHooks {
  /** The quota in bytes; undefined: none (etcd's negative --quota-backend-bytes). */
  readonly bytesMax: number | undefined;
  /** What the state takes now (etcd's backend size: free pages count). */
  stateBytes(): number;
  /** Whether this member's NOSPACE alarm is raised already. */
  raised(): boolean;
  /** Proposes this member's NOSPACE alarm; settles once applied or failed. */
  raise(): Promise<unknown>;
}

function opCost(op: RequestOp): number {
  return op.kind === "put" ? KV_OVERHEAD_BYTES + putSize(op.put) : 0;
}

/** What a command costs the quota (etcd counts only a txn's top-level puts, its larger branch); undefined: not counted. */
export function quotaCost(command: Command): number | undefined {
  switch (command.op) {
    case "put": return KV_OVERHEAD_BYTES + putSize(command.put);
    case "leaseGrant": return LEASE_OVERHEAD_BYTES;
    case "txn": {
      const branch = (ops: RequestOp[]) => ops.reduce((n, op) => n + opCost(op), 0);
      return Math.max(branch(command.txn.success), branch(command.txn.failure));
    }
    default: return undefined;
  }
}

export class Quota {
  readonly #hooks: QuotaHooks;
  #raising = false;

  constructor(hooks: QuotaHooks) {
    this.#hooks = hooks;
  }

  /** etcd's NOSPACE error if `command` would not fit under the quota (the alarm then raised), else undefined. */
  check(command: Command): EtcdError | undefined {
    const max = this.#hooks.bytesMax;
    if (max === undefined) return undefined;
    const cost = quotaCost(command);
    if (cost === undefined || this.#hooks.stateBytes() + cost < max) return undefined;
    if (!this.#raising && !this.#hooks.raised()) {
      this.#raising = true;
      this.#hooks.raise().finally(() => (this.#raising = false));
    }
    return AlarmErrors.noSpace;
  }
}
