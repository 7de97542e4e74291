/**
 * etcd's cluster calls — member add, remove, update, promote — and leadership transfer, with
 * etcd's checks and errors. Changes are made by the leader; any other member hands the request to
 * the leader over the peer port and relays its answer.
 *
 * Owns: validating a change against the current members and proposing it, and the context a
 * conf change carries (its peer URLs), written and read here. Never: applies changes (applying the
 * committed entry does) or speaks HTTP to clients. It knows the member only through
 * MembershipHooks.
 */
import type { Command, CommandResult, MembershipCommand } from "../etcd/commands.ts";
import { EtcdError, Errors, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { MembershipRequest, MembershipResult } from "../etcd/membership.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import type { MemberRecord } from "../etcd/types.ts";
import { changeAtLeader } from "../peer/confchange.ts";
import { type ConfChange, NO_NODE, type NodeId } from "../raft/types.ts";
import { HEALTH_INTERVAL_MS, LEARNER_READY_RATIO, LEARNERS_MAX } from "../config/limits.ts";

/** What membership needs of the member. */
export interface MembershipHooks {
  isLeader(): boolean;
  /** The leader's id, or NO_NODE. */
  leader(): NodeId;
  members(): MemberRecord[];
  /** How long (ms) this member has been connected to `node` without a failure; Infinity for itself. */
  connectedFor(node: NodeId): number;
  /** --strict-reconfig-check: false skips the checks that protect the quorum (not a learner's readiness). */
  readonly strictReconfigCheck: boolean;
  /** The leader's view of how far a member has the log. */
  replicatedTo(node: NodeId): { match: number; leaderLast: number } | undefined;
  /** Proposes a membership change (this member leads); undefined while another is not yet applied. */
  proposeConfChange(change: ConfChange): Promise<CommandResult> | undefined;
  propose(command: Command): Promise<CommandResult>;
  /** Starts handing leadership to `to`; answers whether it started. */
  transferLeadership(to: NodeId): boolean;
  until(check: () => boolean, timeoutMs: number): Promise<boolean>;
  readonly requestTimeoutMs: number;
  readonly peer: { token: string; self: NodeId; init: Record<string, unknown> };
}

/** The peer URLs an added member's conf change carries, as written into the entry. */
export function confChangeContext(peerUrls: readonly string[]): string {
  return JSON.stringify({ peerUrls });
}

/** The state's command for a committed conf change: its kind, its node and the URLs it carries. */
export function confChangeCommand(change: ConfChange): MembershipCommand {
  const context = change.context ? JSON.parse(change.context) as { peerUrls?: string[] } : {};
  return { op: "conf", kind: change.kind, id: change.node, peerUrls: context.peerUrls };
}

const precondition = (message: string) => new EtcdError(GrpcCode.FAILED_PRECONDITION, message);
export const MembershipErrors = {
  badUrls: new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  peerUrlExists: precondition("etcdserver: Peer URLs already exists"),
  notFound: Errors.memberNotFound,
  notLearner: precondition("etcdserver: can only promote a learner member"),
  learnerNotReady: precondition("etcdserver: can only promote a learner member which is in sync with leader"),
  unhealthy: new EtcdError(GrpcCode.UNAVAILABLE, "etcdserver: unhealthy cluster"),
  notEnoughStarted: precondition("etcdserver: re-configuration failed due to not enough started members"),
  tooManyLearners: precondition("etcdserver: too many learner members in cluster"),
  notLeader: precondition("etcdserver: not leader"),
  badTransferee: precondition("etcdserver: bad leader transferee"),
  transferTimeout: new EtcdError(GrpcCode.UNAVAILABLE, "etcdserver: request timed out, leader transfer took too long"),
} as const;

const quorumOf = (n: number) => Math.floor(n / 2) + 1;
const voting = (members: readonly MemberRecord[]) => members.filter((m) => !m.isLearner);
/** etcd counts a member as started once it has published its name. */
const started = (m: MemberRecord) => m.name !== "";

/**
 * etcd's strict reconfiguration checks (mayAddMember, mayRemoveMember, mayPromoteMember), in its
 * order and words: a change must leave enough started voters for the new quorum, and must not be
 * made while voters this member has not been connected to for a while might be needed.
 */
const Reconfiguration = {
  add(member: MembershipHooks, members: readonly MemberRecord[], isLearner: boolean): EtcdError | undefined {
    if (!member.strictReconfigCheck) return undefined;
    const voters = voting(members);
    // etcd lets a member alone add a voter (restoring a cluster from one member's data starts so).
    const alone = voters.length === 1 && started(voters[0]);
    if (!isLearner && !alone && voters.filter(started).length < quorumOf(voters.length + 1)) return MembershipErrors.notEnoughStarted;
    if (!voters.every((v) => member.connectedFor(v.id) >= HEALTH_INTERVAL_MS)) return MembershipErrors.unhealthy;
    return undefined;
  },
  remove(member: MembershipHooks, members: readonly MemberRecord[], id: string): EtcdError | undefined {
    if (!member.strictReconfigCheck) return undefined;
    if (members.find((m) => m.id === id)?.isLearner) return undefined;
    const others = voting(members).filter((v) => v.id !== id);
    if (others.filter(started).length < quorumOf(others.length)) return MembershipErrors.notEnoughStarted;
    // A member that is down is not part of the working quorum: removing it is safe.
    if (member.connectedFor(id) === 0) return undefined;
    const voters = voting(members);
    const active = voters.filter((v) => member.connectedFor(v.id) >= HEALTH_INTERVAL_MS).length;
    return active - 1 < quorumOf(voters.length - 1) ? MembershipErrors.unhealthy : undefined;
  },
  promote(member: MembershipHooks, members: readonly MemberRecord[]): EtcdError | undefined {
    if (!member.strictReconfigCheck) return undefined;
    const voters = voting(members);
    return voters.filter(started).length + 1 < quorumOf(voters.length + 1) ? MembershipErrors.notEnoughStarted : undefined;
  },
};

function validUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return (url.protocol === "http:" || url.protocol === "https:") && url.port !== "" && url.pathname === "/";
  } catch {
    return false;
  }
}

const strip = (u: string) => u.replace(/\/$/, "");

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] |= 1; // never zero, which means "no member"
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").replace(/^0+/, "");
}

export class Membership {
  readonly #hooks: MembershipHooks;

  constructor(hooks: MembershipHooks) {
    this.#hooks = hooks;
  }

  /** etcd's member add, remove, update and promote. */
  change(request: MembershipRequest): Promise<MembershipResult | EtcdError> {
    return changeMembership(this.#hooks, request);
  }

  /** etcd's MoveLeader: only the leader hands over, to a voter, and answers once it has. */
  moveLeader(to: NodeId): Promise<EtcdError | undefined> {
    return transferLeadership(this.#hooks, to);
  }
}

async function changeMembership(member: MembershipHooks, request: MembershipRequest): Promise<MembershipResult | EtcdError> {
  if (!member.isLeader()) return forward(member, request);
  const members = member.members();
  const find = (id: string) => members.find((m) => m.id === id);
  switch (request.op) {
    case "add": {
      if (request.peerUrls.length === 0 || !request.peerUrls.every(validUrl)) return MembershipErrors.badUrls;
      const peerUrls = request.peerUrls.map(strip);
      const refused = Reconfiguration.add(member, members, request.isLearner);
      if (refused) return refused;
      if (members.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) return MembershipErrors.peerUrlExists;
      if (request.isLearner && members.filter((m) => m.isLearner).length >= LEARNERS_MAX) return MembershipErrors.tooManyLearners;
      const id = randomId();
      const err = await confChange(member, { kind: request.isLearner ? "addLearner" : "addVoter", node: id, context: confChangeContext(peerUrls) });
      if (err) return err;
      const after = member.members();
      return { member: after.find((m) => m.id === id), members: after };
    }
    case "remove": {
      const refused = Reconfiguration.remove(member, members, request.id);
      if (refused) return refused;
      if (!find(request.id)) return MembershipErrors.notFound;
      const err = await confChange(member, { kind: "removeNode", node: request.id });
      return err ?? { members: member.members() };
    }
    case "promote": {
      // etcd's order: a member it replicates to must be in sync, then enough started voters, and
      // only applying the change finds an unknown id or a voter.
      const progress = member.replicatedTo(request.id);
      if (progress && progress.match < progress.leaderLast * LEARNER_READY_RATIO) return MembershipErrors.learnerNotReady;
      const refused = Reconfiguration.promote(member, members);
      if (refused) return refused;
      const target = find(request.id);
      if (!target) return MembershipErrors.notFound;
      if (!target.isLearner) return MembershipErrors.notLearner;
      const err = await confChange(member, { kind: "addVoter", node: request.id });
      return err ?? { members: member.members() };
    }
    case "update": {
      if (!find(request.id)) return MembershipErrors.notFound;
      if (request.peerUrls.length === 0 || !request.peerUrls.every(validUrl)) return MembershipErrors.badUrls;
      const peerUrls = request.peerUrls.map(strip);
      if (members.some((m) => m.id !== request.id && m.peerUrls.some((u) => peerUrls.includes(u)))) return MembershipErrors.peerUrlExists;
      const result = await member.propose({ op: "updatePeers", id: request.id, peerUrls });
      return isEtcdError(result) ? result : { members: member.members() };
    }
  }
}

/** Proposes one change, waiting (up to the request timeout) for an earlier one to be applied first. */
async function confChange(member: MembershipHooks, change: ConfChange): Promise<EtcdError | undefined> {
  let proposed = member.proposeConfChange(change);
  if (!proposed) {
    await member.until(() => (proposed = member.proposeConfChange(change)) !== undefined || !member.isLeader(), member.requestTimeoutMs);
  }
  if (!proposed) return member.isLeader() ? MemberErrors.timeout : MemberErrors.leaderChanged;
  const result = await proposed;
  return isEtcdError(result) ? result : undefined;
}

async function forward(member: MembershipHooks, request: MembershipRequest): Promise<MembershipResult | EtcdError> {
  const leaderId = member.leader();
  if (leaderId === NO_NODE) return MemberErrors.noLeader;
  const leader = member.members().find((m) => m.id === leaderId);
  if (!leader) return MemberErrors.noLeader;
  const result = await changeAtLeader(leader.peerUrls[0], request, { token: member.peer.token, from: member.peer.self, to: leader.id, timeoutMs: member.requestTimeoutMs, init: member.peer.init });
  if (isEtcdError(result)) return result;
  // The leader answered once it applied the change; wait until this member has too.
  await member.until(() => member.members().length === result.members.length, member.requestTimeoutMs);
  return result;
}

async function transferLeadership(member: MembershipHooks, to: NodeId): Promise<EtcdError | undefined> {
  if (!member.isLeader()) return MembershipErrors.notLeader;
  const target = member.members().find((m) => m.id === to);
  if (!target || target.isLearner) return MembershipErrors.badTransferee;
  if (to === member.leader()) return undefined;
  if (!member.transferLeadership(to)) return MembershipErrors.badTransferee;
  const done = await member.until(() => member.leader() === to, member.requestTimeoutMs);
  return done ? undefined : MembershipErrors.transferTimeout;
}
