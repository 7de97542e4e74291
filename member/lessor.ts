/**
 * Lease expiry, kept by the leader (etcd's primary lessor): when each lease runs out, renewing
 * it, revoking what expired, and checkpointing remaining TTLs.
 *
 * Owns: the expiry time of every lease while this member leads, and nothing while it follows
 * (a follower's leases never expire on their own, as in etcd). On becoming leader every lease
 * gets its remaining TTL — the checkpointed one, or its whole TTL — plus one election timeout,
 * so no lease expires early because leadership moved. Remaining TTLs are checkpointed through the
 * log for leases that are not being kept alive, each time one has lost a tenth of its TTL (at
 * least a second) since its last checkpoint — about ten checkpoints over a lease's life, whatever
 * its TTL — so repeated failovers cannot keep a lease alive forever. What is checkpointed is the
 * time the lease has left without the new leader's extension (a grace for keep-alives lost in the
 * failover, granted again by every leader, never recorded): a leadership that moves every couple of
 * seconds would otherwise record no progress at all, and a lease that has run out its own time is
 * recorded as lapsed: the next leader gives it its extension alone. A renewal of a lease with a
 * checkpoint (applied or on its way) clears it through the log before it is answered, so no
 * failover after the answer can go back to the old remaining TTL (etcd 3.4 with --experimental-enable-lease-checkpoint, which is always on here, and
 * checkpoints every second rather than every five minutes: etcd's interval leaves every lease
 * shorter than five minutes unprotected). Each scan looks only at the leases whose expiry or
 * checkpoint has come (two heaps by time), so a member holding 100,000 leases left alone does no
 * work for them between their checkpoints.
 * Never: changes leases itself — grants, revokes and checkpoints are proposed and applied like
 * any write — or reads a clock of its own (the member hands it `now`).
 */
import {
  LEASE_CHECKPOINT_INTERVAL_MS, LEASE_CHECKPOINT_TTL_SHARE, LEASE_CHECKPOINTS_PER_ENTRY_MAX, LEASE_EXPIRY_SCAN_MS, LEASE_REVOKES_PER_SECOND_MAX,
} from "../config/limits.ts";
import type { LeaseCommand } from "../etcd/commands.ts";
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import type { LeaseId, LeaseTime } from "../etcd/types.ts";
import { LEASE_LAPSED, type LeaseRecord, type LeaseTable } from "../store/leases.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { DueHeap } from "./due_heap.ts";

export interface LessorHooks {
  /** The store's leases as applied so far. */
  leases(): LeaseTable;
  /** Proposes a lease command; resolves once it is applied, or with why not. */
  propose(command: LeaseCommand): Promise<unknown>;
  /** The election timeout, ms: how much a new leader extends every lease. */
  electionMs: number;
}



export class Lessor {
  readonly #hooks: LessorHooks;
  /** Expiry (ms) of every lease, while this member leads; undefined otherwise. */
  #expiries: Map<LeaseId, number> | undefined;
  /**
   * Leases in checkpoints proposed and not known to be applied, with the number of the newest such
   * proposal: one whose proposer gave up (timed out) may still be applied until this member's term
   * ends, so the lease stays here until a proposal of it made later — a checkpoint or a renewal's
   * clearing — is applied (log order: the earlier one was applied before it, or never will be).
   */
  readonly #checkpointed = new Map<LeaseId, number>();
  /** Numbers this member's lease proposals, to tell which of two came later. */
  #proposals = 0;
  /** Leases whose expiry still carries this leader's extension: not renewed or granted since it promoted. */
  readonly #extended = new Set<LeaseId>();
  /** When each lease was last renewed while this member led. */
  readonly #renewedAt = new Map<LeaseId, number>();
  /** Revokes proposed and not yet settled. */
  readonly #revoking = new Set<LeaseId>();
  /** When each lease expires (an entry per time set: one whose lease now expires later is stale). */
  readonly #expiryDue = new DueHeap<LeaseId>();
  /** When each lease may next need a checkpoint, at the earliest (looked at again then). */
  readonly #checkpointDue = new DueHeap<LeaseId>();
  #nextScan = 0;
  #nextCheckpoint = 0;
  #checkpointing = false;

  constructor(hooks: LessorHooks) {
    this.#hooks = hooks;
  }

  get isPrimary(): boolean {
    return this.#expiries !== undefined;
  }

  /** This member leads and has applied everything before its term: it keeps the time now. */
  promote(now: number): void {
    this.#expiries = new Map();
    for (const lease of this.#hooks.leases().list()) {
      const left = ownSecondsLeft(lease);
      this.#setExpiry(lease.id, now + this.#hooks.electionMs + left * 1000);
      this.#extended.add(lease.id);
      this.#scheduleCheckpoint(lease.id, now);
    }
    this.#renewedAt.clear();
    // Whatever this member proposed in an earlier term has been applied by now, or never will be.
    this.#checkpointed.clear();
    this.#nextScan = now + LEASE_EXPIRY_SCAN_MS;
    this.#nextCheckpoint = now + LEASE_CHECKPOINT_INTERVAL_MS;
  }

  demote(): void {
    this.#expiries = undefined;
    this.#expiryDue.clear();
    this.#checkpointDue.clear();
    this.#extended.clear();
    this.#renewedAt.clear();
    this.#revoking.clear();
    this.#checkpointed.clear();
  }

  /** A grant was applied. */
  granted(id: LeaseId, ttl: number, now: number): void {
    if (!this.#expiries) return;
    this.#setExpiry(id, now + ttl * 1000);
    this.#extended.delete(id);
    this.#scheduleCheckpoint(id, now);
  }

  /** A revoke was applied. */
  revoked(id: LeaseId): void {
    this.#expiries?.delete(id);
    this.#extended.delete(id);
    this.#checkpointed.delete(id);
    this.#renewedAt.delete(id);
    this.#revoking.delete(id);
  }

  /**
   * A keep-alive, on the leader: the lease's TTL from now, answered with that TTL once any
   * checkpoint of it is cleared in the log; 0 when the lease does not exist or has already expired
   * (its revoke is on the way), as etcd answers; an error when the clearing could not be applied.
   * `now` is read again once the clearing is applied: the TTL runs from the answer, as in etcd.
   */
  async renew(id: LeaseId, now: () => number): Promise<number | EtcdError> {
    const lease = this.#hooks.leases().get(id);
    const expiry = this.#expiries?.get(id);
    const asked = now();
    if (!lease || expiry === undefined || expiry <= asked) return 0;
    this.#setExpiry(id, asked + lease.ttl * 1000);
    this.#extended.delete(id);
    this.#renewedAt.set(id, asked);
    if (lease.remaining !== 0 || this.#checkpointed.has(id)) {
      const proposal = ++this.#proposals;
      const cleared = await this.#hooks.propose({ op: "leaseCheckpoint", checkpoints: [{ id, remaining: 0 }] })
        .then((result) => (isEtcdError(result) ? result : undefined), () => MemberErrors.stopped);
      if (cleared) return cleared;
      if ((this.#checkpointed.get(id) ?? Infinity) < proposal) this.#checkpointed.delete(id);
      if (this.#expiries?.has(id)) {
        const answered = now();
        this.#setExpiry(id, answered + lease.ttl * 1000);
        this.#renewedAt.set(id, answered);
        // Its recorded TTL is whole again: its next checkpoint may come sooner than the one scheduled.
        this.#scheduleCheckpoint(id, answered);
      }
    }
    return lease.ttl;
  }

  /** TTL left and granted, on the leader; undefined for a lease that does not exist. */
  timeToLive(id: LeaseId, now: number): LeaseTime | undefined {
    const lease = this.#hooks.leases().get(id);
    if (!lease) return undefined;
    const expiry = this.#expiries?.get(id);
    const left = expiry === undefined ? lease.ttl : Math.max(0, Math.trunc((expiry - now) / 1000));
    return { ttl: left, grantedTtl: lease.ttl };
  }

  /** Called on every tick of the member: revokes what expired, checkpoints what lost time. */
  tick(now: number): void {
    if (!this.#expiries) return;
    if (now >= this.#nextScan) {
      this.#nextScan = now + LEASE_EXPIRY_SCAN_MS;
      this.#revokeExpired(now);
    }
    if (now >= this.#nextCheckpoint && !this.#checkpointing) {
      this.#nextCheckpoint = now + LEASE_CHECKPOINT_INTERVAL_MS;
      this.#checkpoint(now);
    }
  }

  /** A lease's expiry, and its place in the expiry heap (rebuilt when stale entries outnumber the leases). */
  #setExpiry(id: LeaseId, at: number): void {
    const expiries = this.#expiries!;
    expiries.set(id, at);
    this.#expiryDue.push(at, id);
    if (this.#expiryDue.size > 2 * expiries.size + 1_024) {
      this.#expiryDue.clear();
      for (const [lease, expiry] of expiries) this.#expiryDue.push(expiry, lease);
    }
  }

  #revokeExpired(now: number): void {
    let budget = Math.ceil(LEASE_REVOKES_PER_SECOND_MAX * LEASE_EXPIRY_SCAN_MS / 1000);
    const expiries = this.#expiries!;
    while (budget > 0) {
      const id = this.#expiryDue.popDue(now);
      if (id === undefined) return;
      const expiry = expiries.get(id);
      // Revoked, renewed since (a later entry stands for it), or already on its way.
      if (expiry === undefined || expiry > now || this.#revoking.has(id)) continue;
      budget--;
      this.#revoking.add(id);
      // Settled either way: if the revoke failed (leadership moved), the next scan tries again.
      const settle = () => {
        this.#revoking.delete(id);
        const still = this.#expiries?.get(id);
        if (still !== undefined) this.#expiryDue.push(still, id);
      };
      this.#hooks.propose({ op: "leaseRevoke", id }).then(settle, settle);
    }
  }

  /**
   * Puts a lease in the checkpoint heap at the earliest time the rule of #checkpoint could pick
   * it: once it is no longer being kept alive, and once it has lost a step since its recorded TTL
   * (or run out). Looked at then, it is checkpointed or put back for later.
   */
  #scheduleCheckpoint(id: LeaseId, now: number): void {
    const lease = this.#hooks.leases().get(id);
    const expiry = this.#expiries?.get(id);
    if (!lease || expiry === undefined) return;
    const own = expiry - (this.#extended.has(id) ? this.#hooks.electionMs : 0);
    const recorded = ownSecondsLeft(lease);
    const step = checkpointStep(lease.ttl);
    // A lapsed lease is recorded as such for good, until a renewal clears it (and schedules it again).
    if (recorded === 0) return;
    const lostStep = recorded >= step ? own - (recorded - step) * 1000 : own;
    const notKeptAlive = (this.#renewedAt.get(id) ?? -Infinity) + lease.ttl * 500;
    this.#checkpointDue.push(Math.max(now + 1, lostStep, notKeptAlive), id);
  }

  #checkpoint(now: number): void {
    const leases = this.#hooks.leases();
    const expiries = this.#expiries!;
    const checkpoints: { id: LeaseId; remaining: number }[] = [];
    const later: LeaseId[] = [];
    // A lease can be in the heap twice (a checkpoint applied after leadership came back): once a pass.
    const seen = new Set<LeaseId>();
    for (let id = this.#checkpointDue.popDue(now); id !== undefined; id = this.#checkpointDue.popDue(now)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const lease = leases.get(id);
      const expiry = expiries.get(id);
      // Gone, or expiring: its revoke settles it.
      if (!lease || expiry === undefined || expiry <= now) continue;
      if (this.#revoking.has(id)) {
        later.push(id);
        continue;
      }
      // A lease renewed within half its TTL is being kept alive: nothing worth recording.
      const keptAlive = now - (this.#renewedAt.get(id) ?? -Infinity) < lease.ttl * 500;
      const own = expiry - (this.#extended.has(id) ? this.#hooks.electionMs : 0);
      const left = Math.max(0, Math.ceil((own - now) / 1000));
      const recorded = ownSecondsLeft(lease);
      if (!keptAlive && recorded > 0 && (left === 0 || recorded - left >= checkpointStep(lease.ttl))) {
        checkpoints.push({ id, remaining: left === 0 ? LEASE_LAPSED : left });
      } else later.push(id);
    }
    for (const id of later) this.#scheduleCheckpoint(id, now);
    if (checkpoints.length === 0) return;
    this.#checkpointing = true;
    const entries: Promise<unknown>[] = [];
    for (let i = 0; i < checkpoints.length; i += LEASE_CHECKPOINTS_PER_ENTRY_MAX) {
      const batch = checkpoints.slice(i, i + LEASE_CHECKPOINTS_PER_ENTRY_MAX);
      const proposal = ++this.#proposals;
      for (const { id } of batch) this.#checkpointed.set(id, proposal);
      const applied = (result: unknown) => {
        if (!isEtcdError(result)) {
          for (const { id } of batch) if (this.#checkpointed.get(id) === proposal) this.#checkpointed.delete(id);
        }
        // Applied or not, each is looked at again: after its next step, or at once.
        for (const { id } of batch) this.#scheduleCheckpoint(id, now);
      };
      const failed = () => {
        for (const { id } of batch) this.#scheduleCheckpoint(id, now);
      };
      entries.push(this.#hooks.propose({ op: "leaseCheckpoint", checkpoints: batch }).then(applied, failed));
    }
    Promise.allSettled(entries).then(() => (this.#checkpointing = false));
  }
}

/** How much of its TTL (seconds) a lease left alone loses between two checkpoints. */
function checkpointStep(ttl: number): number {
  return Math.max(LEASE_CHECKPOINT_INTERVAL_MS / 1000, Math.ceil(ttl * LEASE_CHECKPOINT_TTL_SHARE));
}

/** The seconds of its own a lease has left as last checkpointed: its TTL when none was, 0 once it lapsed. */
function ownSecondsLeft(lease: LeaseRecord): number {
  if (lease.remaining === LEASE_LAPSED) return 0;
  return lease.remaining > 0 ? lease.remaining : lease.ttl;
}
