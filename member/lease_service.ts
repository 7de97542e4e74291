/**
 * A member's leases, as clients reach them: the minimum TTL, keep-alives and time-to-live
 * questions answered by the leader's lessor (here when this member leads, over the peer port when
 * another does), and when the lessor starts and stops keeping time.
 *
 * Owns: routing lease questions to whoever can answer them, and the lessor's promotion — only once
 * this member leads and has applied everything its term began with (etcd's waitAppliedIndex).
 * Never: applies or proposes anything itself beyond what the lessor proposes.
 */
import type { LeaseCommand } from "../etcd/commands.ts";
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import type { LeaseId, LeaseTime } from "../etcd/types.ts";
import type { LeaseTable } from "../store/leases.ts";
import { askLeader } from "../peer/lease.ts";
import type { LeaseAnswer, LeaseQuestion } from "../peer/types.ts";
import type { NodeId } from "../raft/types.ts";
import { Lessor } from "./lessor.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";

export interface LeaseServiceHooks {
  leases(): LeaseTable;
  propose(command: LeaseCommand): Promise<unknown>;
  heartbeatMs: number;
  electionMs: number;
  requestTimeoutMs: number;
  /** Whether this member leads, and in which term; whether it has applied all its term began with; whether it failed. */
  leads(): boolean;
  term(): number;
  caughtUpAsLeader(): boolean;
  /**
   * Confirms this member still leads, with a quorum, and has applied all that was committed
   * before the question (a ReadIndex): undefined once it does, else why not.
   */
  confirmLeadership(): Promise<EtcdError | undefined>;
  stopped(): boolean;
  /** The leader's peer URLs, undefined while there is no leader (or it is this member). */
  leaderUrls(): { id: NodeId; urls: string[] } | undefined;
  hasLeader(): boolean;
  /** Resolves when `check` holds, or false after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean>;
  peer: { token: string; self: string; init: Record<string, unknown> };
  /** The planted bug leaseExpiresOnFollowerClock (member/planted_bugs.ts): only the chaos harness sets it. */
  plantedFollowerKeepsTime?: boolean;
}

export class LeaseService {
  readonly #hooks: LeaseServiceHooks;
  readonly #lessor: Lessor;
  /** The term the lessor was promoted in: its clock is this member's only while that term lasts. */
  #primaryTerm = 0;

  constructor(hooks: LeaseServiceHooks) {
    this.#hooks = hooks;
    this.#lessor = new Lessor({ leases: hooks.leases, propose: hooks.propose, electionMs: hooks.electionMs });
  }

  /**
   * etcd's minimum lease TTL, seconds: one and a half election timeouts, rounded up, so a lease
   * cannot expire while a new leader is being elected.
   */
  get minTtl(): number {
    const { electionMs, heartbeatMs } = this.#hooks;
    const electionTicks = Math.floor(electionMs / heartbeatMs);
    return Math.ceil((Math.floor(3 * electionTicks / 2) * heartbeatMs) / 1000);
  }

  /** A keep-alive: the lease's TTL from now (0: no such lease), answered by the leader. */
  async renew(id: LeaseId): Promise<number | EtcdError> {
    const answer = await this.#ask({ op: "renew", id });
    return isEtcdError(answer) ? answer : "ttl" in answer ? answer.ttl : 0;
  }

  /** The TTL left and granted (undefined: no such lease), as the leader counts it. */
  async timeToLive(id: LeaseId): Promise<LeaseTime | undefined | EtcdError> {
    const answer = await this.#ask({ op: "timeToLive", id });
    return isEtcdError(answer) ? answer : "time" in answer ? answer.time : undefined;
  }

  /** Answers a lease question as the leader, once it keeps the time; or says why it cannot. */
  async answer(q: LeaseQuestion): Promise<LeaseAnswer | EtcdError> {
    const hooks = this.#hooks;
    if (!hooks.leads()) return hooks.hasLeader() ? MemberErrors.leaderChanged : MemberErrors.noLeader;
    if (!this.#keepsTime && !(await hooks.until(() => this.#keepsTime || !hooks.leads(), hooks.requestTimeoutMs) && this.#keepsTime)) {
      return hooks.leads() ? MemberErrors.timeout : MemberErrors.leaderChanged;
    }
    // Only a leader a quorum still follows, with all that was committed before the question applied,
    // may answer from its own state: a leader paused and resumed may not know yet that another
    // leads and granted leases it has never seen, and a follower may apply a grant (and answer it)
    // before the leader has — either answered "not found" (TTL 0) for a lease just granted (found
    // by the chaos harness; etcd 3.5 checks leadership and waits for its applied index too).
    const unconfirmed = await hooks.confirmLeadership();
    if (unconfirmed) return unconfirmed;
    if (!this.#keepsTime) return hooks.leads() ? MemberErrors.timeout : MemberErrors.leaderChanged;
    if (q.op === "timeToLive") return { time: this.#lessor.timeToLive(q.id, performance.now()) };
    const ttl = await this.#lessor.renew(q.id, () => performance.now());
    return isEtcdError(ttl) ? ttl : { ttl };
  }

  /**
   * On every tick: the lessor keeps the time while this member leads in the term it was promoted
   * in — leadership lost and won back between two ticks is a new term, and the clock starts again.
   */
  tick(now: number): void {
    const hooks = this.#hooks;
    const planted = hooks.plantedFollowerKeepsTime === true && !hooks.leads();
    if (this.#lessor.isPrimary && !this.#keepsTime && !planted) this.#lessor.demote();
    if (!this.#lessor.isPrimary && (hooks.caughtUpAsLeader() || planted)) {
      this.#lessor.promote(now);
      this.#primaryTerm = hooks.term();
    }
    this.#lessor.tick(now);
  }

  /** Whether the lessor's clock is this member's now: promoted in the term it leads in. */
  get #keepsTime(): boolean {
    return this.#lessor.isPrimary && this.#hooks.leads() && this.#primaryTerm === this.#hooks.term();
  }

  /** A lease command was applied. */
  applied(command: LeaseCommand): void {
    if (command.op === "leaseGrant") this.#lessor.granted(command.id, command.ttl, performance.now());
    if (command.op === "leaseRevoke") this.#lessor.revoked(command.id);
  }

  /** The leases were replaced (a snapshot): a leader counts their time afresh. */
  reset(): void {
    this.#lessor.demote();
  }

  #ask(q: LeaseQuestion): Promise<LeaseAnswer | EtcdError> {
    const hooks = this.#hooks;
    if (hooks.stopped()) return Promise.resolve(MemberErrors.stopped);
    if (hooks.leads()) return this.answer(q);
    const leader = hooks.leaderUrls();
    if (!leader) return Promise.resolve(MemberErrors.noLeader);
    return askLeader(leader.urls[0], q, { token: hooks.peer.token, from: hooks.peer.self, to: leader.id, timeoutMs: hooks.requestTimeoutMs, init: hooks.peer.init });
  }
}
