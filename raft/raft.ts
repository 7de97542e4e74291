/**
 * The Raft consensus core, in the style of etcd-io/raft: a deterministic state machine that steps
 * messages and ticks and hands out, through ready()/advance(), what to persist, send and apply.
 *
 * Owns: elections (randomised timeouts from a handed-in source, pre-vote, check-quorum), log
 * replication (pipelined appends with an in-flight limit, each bounded in entries and in bytes,
 * fast back-off on conflicts), the commit rule (a quorum of the latest membership in the log has it, and it
 * is of the leader's term),
 * ReadIndex, leader transfer, snapshots and membership changes (voters and learners, one change
 * at a time).
 * Never: I/O, clocks, ambient randomness — the runtime drives it.
 */
import { decodeConfChange, encodeConfChange } from "./confchange.ts";
import type { PlantedBug } from "./planted_bugs.ts";
import { type LogStart, RaftLog } from "./log.ts";
import { Progress } from "./progress.ts";
import { type PendingRead, ReadOnlyQueue } from "./read_only.ts";
import {
  type ConfChange, type ConfState, type Entry, type HardState, type Message, type MessageType, NO_NODE, type NodeId,
  type ReadState, type Ready, type Role, type Snapshot, TRANSFER_CONTEXT,
} from "./types.ts";

export interface RaftConfig {
  id: NodeId;
  /** The voters a new cluster starts with (storage's `conf` wins when it has one). */
  voters: readonly NodeId[];
  /** Ticks without a leader before a follower campaigns; the timeout is randomised in [n, 2n). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. */
  heartbeatTicks: number;
  /** The only source of randomness: a value in [0, 1), seeded by whoever drives the node. */
  random: () => number;
  preVote: boolean;
  checkQuorum: boolean;
  /**
   * Appends in flight to one follower. With ~1 ms round trips and 64-entry appends, 256 keeps a
   * pipe of ~16k entries/ms full while bounding what a slow follower costs the leader.
   */
  maxInflight: number;
  maxEntriesPerAppend: number;
  /**
   * Bytes of entries' data in one append (etcd's MaxSizePerMsg): entries ride along while their
   * total stays within it, but an append always carries one, so a larger entry goes alone. What
   * the transport must carry in one message is then bounded by bytes, not only by count. Absent:
   * appends are bounded by count only.
   */
  maxAppendBytes?: number;
  /**
   * The runtime's latest snapshot, for followers that need entries compacted away; undefined if it
   * has none yet (the core asks again after an election timeout). The core calls it only as a
   * leader, only when such a follower shows up.
   */
  snapshot?: () => Snapshot | undefined;
  /** Test only: one rule broken on purpose, to prove the simulator finds it (planted_bugs.ts). */
  plantedBug?: PlantedBug;
}

/** What a node restarts from: its durable hard state and log, and how far its state is applied. */
export interface RaftStorage {
  hardState: HardState;
  /** The log's entries from its first kept index on. */
  entries: readonly Entry[];
  /** The entry before the first one kept, when the log was compacted. */
  start?: LogStart;
  applied: number;
  /** The membership as of `applied`; changes later in the log are applied again as they apply. */
  conf?: ConfState;
}

export type { PlantedBug };

const RESPONSE: Partial<Record<MessageType, MessageType>> = { vote: "voteResp", preVote: "preVoteResp" };

export class Raft {
  readonly id: NodeId;
  readonly #cfg: RaftConfig;
  readonly log: RaftLog;
  #voters: NodeId[];
  #learners: NodeId[];
  /** The index of the latest membership change proposed; none other until it is applied. */
  #pendingConfIndex = 0;
  role: Role = "follower";
  term: number;
  vote: NodeId;
  lead: NodeId = NO_NODE;
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #electionTimeout = 0;
  #votes = new Map<NodeId, boolean>();
  /** While campaigning: the voters this election needs a majority of (#logVoters() when it began). */
  #electionVoters: NodeId[] = [];
  /** As leader: the membership changes its log held unapplied when it was elected (see #logVoters). */
  #inherited: { index: number; change: ConfChange }[] = [];
  #progress = new Map<NodeId, Progress>();
  #messages: Message[] = [];
  #readStates: ReadState[] = [];
  readonly #reads = new ReadOnlyQueue();
  #savedHardState: HardState;
  /** A snapshot received from the leader, to be installed by the runtime (handed out in Ready). */
  #snapshotToInstall: Snapshot | undefined;
  /** During a leader transfer: the member taking over (the leader takes no proposals meanwhile). */
  #transferee: NodeId = NO_NODE;
  /** The voters when this node was elected (only the planted bug quorumFixedAtElection uses them). */
  #votersAtElection: NodeId[] = [];

  constructor(cfg: RaftConfig, storage: RaftStorage) {
    this.id = cfg.id;
    this.#voters = [...(storage.conf?.voters ?? cfg.voters)];
    this.#learners = [...(storage.conf?.learners ?? [])];
    this.#cfg = cfg;
    this.term = storage.hardState.term;
    this.vote = storage.hardState.vote;
    // Whatever the runtime applied was committed, even if the hard state saying so was not synced
    // (a moved commit index alone is not worth an fsync).
    this.log = new RaftLog(storage.entries, Math.max(storage.hardState.commit, storage.applied), storage.start, cfg.plantedBug);
    this.log.applied = Math.max(this.log.applied, Math.min(storage.applied, this.log.committed));
    this.#savedHardState = { ...storage.hardState };
    this.#resetTimers();
  }

  /** A majority of the voters the latest membership in the log makes. */
  get #quorum(): number {
    return Math.floor(this.#logVoters().length / 2) + 1;
  }

  #planted(bug: PlantedBug): boolean {
    return this.#cfg.plantedBug === bug;
  }

  /**
   * Everyone the leader replicates to but itself: voters, learners and members a change in its log
   * adds (it tracks each of them); as anyone else, the voters and learners it knows.
   */
  get #peers(): NodeId[] {
    if (this.role === "leader") return [...this.#progress.keys()].filter((v) => v !== this.id);
    return [...this.#voters, ...this.#learners].filter((v) => v !== this.id);
  }

  /** As leader: starts tracking `node` (a new one's log is probed from the leader's end back). */
  #track(node: NodeId): void {
    if (!this.#progress.has(node)) this.#progress.set(node, new Progress(this.log.lastIndex + 1, this.#cfg.maxInflight));
  }

  /**
   * A voter as applied or in the latest membership in its log: a learner whose promotion is in its
   * log may have to lead for that promotion to commit, and so may a leader that demoted itself and
   * restarted before the rest knew (only the newest membership's votes count, not its own).
   */
  get #promotable(): boolean {
    return this.#voters.includes(this.id) || this.#logVoters().includes(this.id);
  }

  /**
   * Whether a campaign starts with a pre-vote: when configured, and always for a node outside the
   * latest membership in its log — it may have to lead to get that change committed, but must not
   * raise everyone's term while it cannot win (a removed voter with a stale state did, term after
   * term, with pre-vote off: found by the simulator).
   */
  get #preVoteFirst(): boolean {
    return this.#cfg.preVote || !this.#logVoters().includes(this.id);
  }

  /** The membership as this node knows it (as of the changes it has applied). */
  get conf(): ConfState {
    return { voters: [...this.#voters], learners: [...this.#learners] };
  }

  // ---- driving ----

  tick(): void {
    if (this.role === "leader") return this.#tickLeader();
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#electionTimeout && this.#promotable) {
      this.#electionElapsed = 0;
      this.#campaign(this.#preVoteFirst);
    }
  }

  /** Starts an election now instead of waiting for the timer (a lone voter leads at once). */
  campaign(): void {
    if (this.role !== "leader" && this.#promotable) this.#campaign(this.#preVoteFirst);
  }

  /**
   * Proposes one membership change. Refused (false) unless this node leads, no transfer is under
   * way and the previous change has been applied: changes never overlap.
   */
  proposeConfChange(change: ConfChange): boolean {
    // Not before an entry of its own term has committed either (the fix to single-server changes
    // Ongaro gave in 2015): until then a change of an earlier leader may yet be overwritten.
    if (this.role !== "leader" || this.#transferee !== NO_NODE || this.#pendingConfIndex > this.log.applied) return false;
    if (this.log.term(this.log.committed) !== this.term) return false;
    const index = this.log.lastIndex + 1;
    this.log.appendOwn([{ index, term: this.term, data: encodeConfChange(change), type: "confChange" }]);
    this.#pendingConfIndex = index;
    // A member being added must get the log now: committing its addition may need its vote.
    if (change.kind !== "removeNode") this.#track(change.node);
    this.#ownAppended();
    return true;
  }

  /**
   * Applies a committed membership change; the runtime calls it when it applies that entry.
   * A leader removed from the voters steps down.
   */
  applyConfChange(change: ConfChange): ConfState {
    const { kind, node } = change;
    this.#voters = this.#voters.filter((v) => v !== node);
    this.#learners = this.#learners.filter((v) => v !== node);
    if (kind === "addVoter") this.#voters.push(node);
    if (kind === "addLearner") this.#learners.push(node);
    if (this.role === "leader") {
      if (kind === "removeNode" && !this.#planted("removedVoterCounted")) this.#progress.delete(node);
      else this.#track(node);
      if (!this.#promotable) this.#becomeFollower(this.term, NO_NODE);
      else this.#maybeCommit();
    }
    return this.conf;
  }

  /**
   * Hands leadership to `to`: once its log is caught up it is told to campaign at once, and voters
   * answer it despite their leases. Answers whether a transfer started.
   */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== "leader" || to === this.id || !this.#voters.includes(to)) return false;
    if (this.#removalPending(to) && !this.#planted("timeoutNowNotPromotable")) return false;
    this.#transferee = to;
    this.#electionElapsed = 0;
    if (this.#progress.get(to)!.match === this.log.lastIndex) this.#send({ type: "timeoutNow", to });
    else this.#sendAppend(to);
    return true;
  }

  /**
   * A membership change in the log, not yet applied, takes `node` out of the voters: handing it
   * leadership would make a leader of a node about to leave.
   */
  #removalPending(node: NodeId): boolean {
    return this.#unappliedChanges().some(({ change }) => change.node === node && change.kind !== "addVoter");
  }

  /** As leader: the highest index `node` is known to hold (undefined if not replicated to). */
  matchOf(node: NodeId): number | undefined {
    return this.role === "leader" ? this.#progress.get(node)?.match : undefined;
  }

  /** The member a leadership transfer is handing over to, if one is under way. */
  get transferee(): NodeId {
    return this.#transferee;
  }

  /** Appends a command if this node leads; answers whether it did. */
  propose(data: Uint8Array): boolean {
    if (this.role !== "leader" || this.#transferee !== NO_NODE) return false;
    this.log.appendOwn([{ index: this.log.lastIndex + 1, term: this.term, data }]);
    this.#ownAppended();
    return true;
  }

  /** A lone voter commits what it appends as soon as it is durable; see advance(). */
  #ownAppended(): void {
    if (this.#planted("leaderCountsOwnUndurable")) this.#progress.get(this.id)!.acked(this.log.lastIndex);
    if (this.#voters.length === 1 || this.#planted("leaderCountsOwnUndurable")) this.#maybeCommit();
  }

  /** Forgets log entries up to `index`, applied and durable (the state holds their effect). */
  compact(index: number): void {
    this.log.compact(index);
  }

  /** Asks for a linearizable read; a ReadState with `context` comes out of ready() when safe. */
  readIndex(context: string): void {
    this.#handleReadIndex(context, this.id);
  }

  step(m: Message): void {
    if (m.term > this.term) {
      const voteRequest = m.type === "vote" || m.type === "preVote";
      // A node that heard from a live leader lately ignores campaigns (check-quorum's lease) —
      // unless the leader itself handed over.
      if (voteRequest && this.#inLease() && m.context !== TRANSFER_CONTEXT) return;
      if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
        // Pre-votes never move terms: a granted one answers our own future term.
      } else {
        const [elapsed, timeout] = [this.#electionElapsed, this.#electionTimeout];
        this.#becomeFollower(m.term, m.type === "app" || m.type === "heartbeat" ? m.from : NO_NODE);
        // A newer term heard from a candidate does not restart this node's election timer unless it
        // grants its vote (the Raft paper's rule): a candidate with a stale log campaigning term after
        // term would otherwise keep the ones that could win from ever campaigning (found by the
        // simulator, with pre-vote off).
        if (m.type === "vote") [this.#electionElapsed, this.#electionTimeout] = [elapsed, timeout];
      }
    } else if (m.term < this.term) {
      if (m.type === "app" || m.type === "heartbeat") {
        // Tell a deposed leader about the newer term so it steps down.
        this.#send({ type: "appResp", to: m.from });
      } else if (m.type === "preVote" || m.type === "vote") {
        // Refused with the newer term, which the candidate takes (the Raft paper's rule): a voter
        // far behind that campaigns term after term must not keep a candidate that could win a
        // term short of the one it needs for ever.
        this.#send({ type: RESPONSE[m.type]!, to: m.from, reject: true });
      }
      return;
    }
    if (m.type === "vote" || m.type === "preVote") return this.#handleVoteRequest(m);
    switch (this.role) {
      case "leader": return this.#stepLeader(m);
      case "candidate":
      case "preCandidate": return this.#stepCandidate(m);
      case "follower": return this.#stepFollower(m);
    }
  }

  hasReady(): boolean {
    if (this.role === "leader" && this.#peers.some((p) => this.#wantsAppend(p))) return true;
    return this.#snapshotToInstall !== undefined || this.#messages.length > 0 || this.#readStates.length > 0 ||
      this.log.hasUnstable() || this.log.hasToApply() || !sameHardState(this.#hardState(), this.#savedHardState);
  }

  ready(): Ready {
    if (this.role === "leader") for (const p of this.#peers) while (this.#wantsAppend(p)) this.#sendAppend(p);
    const hardState = this.#hardState();
    const ready: Ready = {
      snapshot: this.#snapshotToInstall,
      hardState: sameHardState(hardState, this.#savedHardState) ? undefined : hardState,
      entries: this.log.unstable(),
      messages: this.#messages,
      committed: this.log.takeToApply(),
      readStates: this.#readStates,
    };
    this.#messages = [];
    this.#readStates = [];
    return ready;
  }

  /**
   * Between a ready() and its advance(): committed entries that became durable and committed since,
   * handed out now and counted as applied — the runtime applies them at once, in order, instead of
   * waiting for the Ready it is persisting.
   */
  takeCommitted(): Entry[] {
    const ready = this.log.toApply();
    // A membership change waits for a Ready: the runtime makes its commit durable before applying it.
    const change = ready.findIndex((e) => e.type === "confChange");
    const entries = change < 0 ? ready : ready.slice(0, change);
    const last = entries.at(-1);
    if (last) this.log.applied = this.log.handedOut = last.index;
    return entries;
  }

  /**
   * As leader, between a ready() and its advance(): the messages to send now — appends of entries
   * proposed since (a leader may send its entries before it has them on disk) and whatever else
   * it has to say, none of which waits on its own disk. Empty unless this node leads.
   */
  leaderMessages(): Message[] {
    if (this.role !== "leader") return [];
    for (const p of this.#peers) while (this.#wantsAppend(p)) this.#sendAppend(p);
    const messages = this.#messages;
    this.#messages = [];
    return messages;
  }

  /** The runtime persisted, sent and applied what `ready` held. */
  advance(ready: Ready): void {
    if (ready.snapshot && ready.snapshot === this.#snapshotToInstall) this.#snapshotToInstall = undefined;
    const last = ready.entries.at(-1);
    if (last) this.log.stableTo(last.index, last.term);
    if (ready.hardState) this.#savedHardState = ready.hardState;
    const applied = ready.committed.at(-1);
    if (applied) this.log.applied = Math.max(this.log.applied, applied.index);
    if (this.role === "leader" && this.#progress.get(this.id)!.acked(this.log.stable)) this.#maybeCommit();
  }

  // ---- roles ----

  #resetTimers(): void {
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#electionTimeout = this.#cfg.electionTicks + Math.floor(this.#cfg.random() * this.#cfg.electionTicks);
  }

  #reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.#resetTimers();
    this.#votes.clear();
    this.#progress.clear();
    this.#reads.clear();
    this.#transferee = NO_NODE;
  }

  #becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term);
    this.role = "follower";
    this.lead = lead;
  }

  #becomeLeader(): void {
    this.#reset(this.term);
    this.role = "leader";
    this.lead = this.id;
    // Whatever membership changes the log holds unapplied: count them (#logVoters), replicate to
    // every member they add, and take no other change before they are applied.
    this.#inherited = this.#unappliedChanges();
    this.#pendingConfIndex = this.#inherited.at(-1)?.index ?? 0;
    for (const v of [...this.#voters, ...this.#learners, ...this.#logVoters()]) this.#track(v);
    this.#votersAtElection = [...this.#voters];
    const self = this.#progress.get(this.id)!;
    self.acked(this.log.stable);
    self.becomeReplicate();
    // A new term starts with an entry of its own: committing it commits everything before it.
    this.log.appendOwn([{ index: this.log.lastIndex + 1, term: this.term, data: new Uint8Array() }]);
    if (this.#planted("leaderCountsOwnUndurable")) self.acked(this.log.lastIndex);
  }

  #campaign(pre: boolean, context = ""): void {
    if (pre) {
      this.#votes.clear();
      this.role = "preCandidate";
      this.lead = NO_NODE;
      if (this.#planted("preVoteBumpsTerm")) {
        this.term++;
        this.vote = NO_NODE;
      }
    } else {
      const preVotes = new Map(this.#votes);
      this.#reset(this.term + 1);
      if (this.#planted("votesCarriedOver")) this.#votes = preVotes;
      this.role = "candidate";
      this.vote = this.id;
    }
    const type: MessageType = pre ? "preVote" : "vote";
    this.#electionVoters = this.#logVoters();
    this.#votes.set(this.id, true);
    if (this.#tally() === "won") return this.#won(pre);
    const asked = this.#planted("learnerVotesCounted") ? this.#peers : this.#electionVoters.filter((v) => v !== this.id);
    for (const p of asked) {
      this.#send({ type, to: p, term: this.term + (pre ? 1 : 0), index: this.log.lastIndex, logTerm: this.log.lastTerm, context });
    }
  }

  #won(pre: boolean): void {
    // A membership change applied while it campaigned may have left it out of every membership it
    // knows: it does not lead (found by the simulator).
    if (!this.#promotable && !this.#planted("timeoutNowNotPromotable")) return this.#becomeFollower(this.term, NO_NODE);
    if (pre) this.#campaign(false);
    else this.#becomeLeader();
  }

  /** Won once a majority of the election's voters granted, lost once a majority refused. */
  #tally(): "won" | "lost" | "pending" {
    const counts = this.#planted("learnerVotesCounted") ? undefined : new Set(this.#electionVoters);
    let granted = 0;
    let rejected = 0;
    for (const [v, grant] of this.#votes) {
      if (counts && !counts.has(v)) continue;
      grant ? granted++ : rejected++;
    }
    const quorum = Math.floor(this.#electionVoters.length / 2) + 1;
    return granted >= quorum ? "won" : rejected >= quorum ? "lost" : "pending";
  }

  /**
   * The voters a decision counts: those of the latest membership in the log, applied or not (the
   * Raft thesis' rule for single-server changes) — except a leader's own change, which counts once
   * applied as etcd's do, so a lone voter adding another commits the addition alone. Elections,
   * commits, check-quorum and ReadIndex count a majority of them.
   *
   * The member applies a change (its member list, its peers) only once committed, and a node's
   * state and commit index are durable only now and then: one that restarted holding, unapplied,
   * an added voter and its own removal, counting the voters as applied, made a majority with a
   * lagging voter of a membership two changes old and led a term in which committed entries were
   * lost (found by the simulator); a lone voter whose demotion of the other it had not applied
   * waited for that one's vote for ever. A leader counts what it inherited at its election until
   * applied; a change of its own term it made itself after an entry of its term committed, one at a
   * time, so the old and the new membership's majorities overlap.
   */
  #logVoters(): NodeId[] {
    if (this.role === "leader") {
      let voters = this.#voters;
      for (const { index, change } of this.#inherited) if (index > this.log.applied) voters = withChange(voters, change);
      return voters;
    }
    let voters = this.#voters;
    for (const { change } of this.#unappliedChanges()) voters = withChange(voters, change);
    return voters;
  }

  /** The membership changes in the log after the applied index. */
  #unappliedChanges(): { index: number; change: ConfChange }[] {
    const from = Math.max(this.log.applied, this.log.firstIndex - 1) + 1;
    if (from > this.log.lastIndex) return [];
    return this.log.slice(from, this.log.lastIndex + 1).filter((e) => e.type === "confChange").map((e) => ({ index: e.index, change: decodeConfChange(e) }));
  }

  #inLease(): boolean {
    return this.#cfg.checkQuorum && this.lead !== NO_NODE && this.#electionElapsed < this.#cfg.electionTicks;
  }

  // ---- per-role stepping ----

  #handleVoteRequest(m: Message): void {
    const canVote = this.vote === m.from || (this.vote === NO_NODE && this.lead === NO_NODE) ||
      (m.type === "preVote" && m.term > this.term) || (this.#planted("voteTwiceInTerm") && this.lead === NO_NODE);
    const type = RESPONSE[m.type]!;
    const upToDate = this.#planted("voteWithoutLogCheck") || this.log.isUpToDate(m.index, m.logTerm);
    if (canVote && upToDate) {
      this.#send({ type, to: m.from, term: m.term });
      if (m.type === "vote") {
        this.#electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.#send({ type, to: m.from, reject: true });
    }
  }

  #stepCandidate(m: Message): void {
    const awaited: MessageType = this.role === "preCandidate" ? "preVoteResp" : "voteResp";
    switch (m.type) {
      case "app":
      case "heartbeat":
        this.#becomeFollower(m.term, m.from);
        return this.#stepFollower(m);
      case awaited: {
        this.#votes.set(m.from, !m.reject);
        const result = this.#tally();
        if (result === "won") this.#won(this.role === "preCandidate");
        else if (result === "lost") this.#becomeFollower(this.term, NO_NODE);
        return;
      }
      case "readIndex":
        return; // no leader to ask
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.#electionElapsed = 0;
        this.lead = m.from;
        return this.#handleAppend(m);
      case "heartbeat":
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.log.commitTo(this.#planted("heartbeatCommitUnchecked") ? Math.min(m.commit, this.log.lastIndex) : m.commit);
        return this.#send({ type: "heartbeatResp", to: m.from, context: m.context });
      case "readIndexResp":
        this.#readStates.push({ index: m.index, context: m.context });
        return;
      case "snap":
        this.#electionElapsed = 0;
        this.lead = m.from;
        return this.#handleSnapshot(m);
      case "timeoutNow":
        // The leader hands over: campaign now, for real (no pre-vote), past the voters' leases —
        // unless this node is no longer a voter (its removal was applied while the message was on
        // its way): as etcd, a node that is not promotable ignores it.
        if (!this.#promotable && !this.#planted("timeoutNowNotPromotable")) return;
        return this.#campaign(false, TRANSFER_CONTEXT);
    }
  }

  #handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      return this.#send({ type: "appResp", to: m.from, index: this.log.committed });
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      const last = this.log.appendFollowing(m.index, m.entries);
      this.log.commitTo(Math.min(m.commit, last));
      return this.#send({ type: "appResp", to: m.from, index: last });
    }
    // Fast back-off: point the leader at the last entry that could possibly match.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex), m.logTerm);
    this.#send({ type: "appResp", to: m.from, index: m.index, reject: true, rejectHint: hint, logTerm: this.log.term(hint) });
  }

  #handleSnapshot(m: Message): void {
    const snap = m.snapshot!;
    if (snap.index <= this.log.committed) {
      return this.#send({ type: "appResp", to: m.from, index: this.log.committed });
    }
    if (this.log.matchTerm(snap.index, snap.term)) {
      // We hold what the snapshot covers: only the commit index moves.
      this.log.commitTo(snap.index);
      return this.#send({ type: "appResp", to: m.from, index: snap.index });
    }
    this.log.restore(snap.index, snap.term);
    if (!this.#planted("snapshotIgnoresMembership")) {
      this.#voters = [...snap.conf.voters];
      this.#learners = [...snap.conf.learners];
    }
    this.#snapshotToInstall = snap;
    this.#send({ type: "appResp", to: m.from, index: snap.index });
  }

  #stepLeader(m: Message): void {
    const pr = this.#progress.get(m.from);
    switch (m.type) {
      case "appResp": {
        if (!pr) return;
        pr.recentActive = true;
        if (m.reject) {
          const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm) : m.rejectHint;
          if (pr.rejectedAt(m.index, hint)) this.#sendAppend(m.from);
          return;
        }
        if (!pr.acked(m.index)) return;
        if (pr.state === "probe") pr.becomeReplicate();
        if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
        if (m.from === this.#transferee && pr.match === this.log.lastIndex) this.#send({ type: "timeoutNow", to: m.from });
        if (this.#maybeCommit()) return;
        while (this.#wantsAppend(m.from)) this.#sendAppend(m.from);
        return;
      }
      case "heartbeatResp": {
        if (!pr) return;
        pr.recentActive = true;
        pr.heartbeatAnswered(!this.#planted("inflightNeverFreed"));
        // A follower still short of the log may have lost appends: send one, even empty, so it
        // either acks or says where it stands.
        if (pr.match < this.log.lastIndex && !pr.paused) this.#sendAppend(m.from);
        if (this.#planted("readAnyAckConfirmsNewest") && this.#reads.lastContext) this.#ackRead(this.#reads.lastContext, m.from);
        else if (m.context) this.#ackRead(m.context, m.from);
        return;
      }
      case "readIndex":
        return this.#handleReadIndex(m.context, m.from);
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#cfg.electionTicks) {
      this.#electionElapsed = 0;
      // A transfer that did not finish within an election timeout is given up.
      this.#transferee = NO_NODE;
      if (this.#cfg.checkQuorum) {
        const active = this.#logVoters().filter((v) => v === this.id || this.#progress.get(v)?.recentActive).length;
        for (const p of this.#progress.values()) p.recentActive = false;
        if (active < this.#quorum) return this.#becomeFollower(this.term, NO_NODE);
      }
    }
    for (const pr of this.#progress.values()) {
      // A snapshot unanswered for an election timeout was lost: probe again, which resends it.
      if (pr.state === "snapshot" && ++pr.snapshotTicks > this.#cfg.electionTicks) pr.becomeProbe();
    }
    if (this.#heartbeatElapsed >= this.#cfg.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastHeartbeat(this.#reads.lastContext);
    }
  }

  // ---- replication ----

  #wantsAppend(to: NodeId): boolean {
    const pr = this.#progress.get(to)!;
    return !pr.paused && (pr.next <= this.log.lastIndex || pr.next < this.log.firstIndex);
  }

  /** Sends what `to` needs next: entries, or a snapshot when those were compacted away. */
  #sendAppend(to: NodeId): void {
    const pr = this.#progress.get(to)!;
    if (pr.next < this.log.firstIndex) return this.#sendSnapshot(to, pr);
    const prev = pr.next - 1;
    const hi = Math.min(this.log.lastIndex + 1, pr.next + this.#cfg.maxEntriesPerAppend);
    const entries = this.log.slice(pr.next, hi, this.#cfg.maxAppendBytes);
    this.#send({ type: "app", to, index: prev, logTerm: this.log.term(prev), entries, commit: this.log.committed });
    pr.sent(entries.at(-1)?.index ?? prev);
  }

  /**
   * The runtime has a snapshot now where it had none (it makes them in the background): followers
   * waiting for one are sent it at once rather than when their wait times out.
   */
  snapshotReady(): void {
    if (this.role !== "leader") return;
    for (const p of this.#peers) {
      const pr = this.#progress.get(p)!;
      if (pr.state !== "snapshot" || pr.pendingSnapshot !== pr.match) continue;
      pr.becomeProbe();
      this.#sendAppend(p);
    }
  }

  #sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.#cfg.snapshot?.();
    if (!snapshot || snapshot.index < this.log.firstIndex - 1) {
      // Without a snapshot that reaches the log the follower cannot be caught up yet: wait as if
      // one were on its way, and ask the runtime again once that wait times out.
      pr.becomeSnapshot(pr.match);
      return;
    }
    this.#send({ type: "snap", to, snapshot });
    pr.becomeSnapshot(snapshot.index);
  }

  #broadcastHeartbeat(context: string): void {
    for (const p of this.#peers) {
      const match = this.#planted("heartbeatCommitUnchecked") ? Infinity : this.#progress.get(p)!.match;
      const commit = Math.min(match, this.log.committed);
      this.#send({ type: "heartbeat", to: p, commit, context });
    }
  }

  /** Commits the highest index a quorum holds, if it is of this term; answers whether it moved. */
  #maybeCommit(): boolean {
    const counted = this.#planted("quorumFixedAtElection")
      ? this.#votersAtElection
      : this.#planted("removedVoterCounted")
      ? [...this.#progress.keys()].filter((v) => !this.#learners.includes(v))
      : this.#logVoters();
    const quorum = this.#planted("removedVoterCounted") ? this.#quorum : Math.floor(counted.length / 2) + 1;
    const matches = counted.map((v) => this.#progress.get(v)?.match ?? 0).sort((a, b) => b - a);
    const index = matches[quorum - 1];
    if (index <= this.log.committed) return false;
    if (this.log.term(index) !== this.term && !this.#planted("commitEarlierTermsByCount")) return false;
    const hadOwnTermCommitted = this.log.term(this.log.committed) === this.term;
    this.log.commitTo(index);
    if (!hadOwnTermCommitted) this.#releaseReadsAwaitingCommit();
    // Tell followers; an append carries the new commit index even when it has no entries.
    for (const p of this.#peers) {
      const pr = this.#progress.get(p)!;
      if (!pr.paused) this.#sendAppend(p);
    }
    return true;
  }

  // ---- ReadIndex ----

  #handleReadIndex(context: string, from: NodeId): void {
    if (this.role !== "leader") {
      if (from === this.id && this.lead !== NO_NODE && this.#planted("followerReadsLocally")) {
        this.#readStates.push({ index: this.log.committed, context });
      } else if (from === this.id && this.lead !== NO_NODE) this.#send({ type: "readIndex", to: this.lead, context });
      return;
    }
    // Until an entry of its own term commits, a new leader does not know the commit index.
    if (this.log.term(this.log.committed) !== this.term && !this.#planted("readBeforeOwnTermCommit")) {
      return this.#reads.awaitCommit({ context, from });
    }
    // The leader's own acknowledgement counts only if it is one of the voters counted.
    const read: PendingRead = { context, index: this.log.committed, from, acks: new Set(this.#logVoters().includes(this.id) ? [this.id] : []) };
    if (read.acks.size >= this.#quorum || this.#planted("readWithoutQuorum")) return this.#deliverRead(read);
    this.#reads.add(read);
    this.#broadcastHeartbeat(context);
  }

  #releaseReadsAwaitingCommit(): void {
    for (const r of this.#reads.takeAwaitingCommit()) this.#handleReadIndex(r.context, r.from);
  }

  #ackRead(context: string, from: NodeId): void {
    if (!this.#logVoters().includes(from)) return;
    for (const r of this.#reads.ack(context, from, this.#quorum, this.#cfg.plantedBug)) this.#deliverRead(r);
  }

  #deliverRead(read: PendingRead): void {
    if (read.from === this.id) this.#readStates.push({ index: read.index, context: read.context });
    else this.#send({ type: "readIndexResp", to: read.from, index: read.index, context: read.context });
  }

  // ---- plumbing ----

  #hardState(): HardState {
    return { term: this.term, vote: this.#planted("voteNotPersisted") ? NO_NODE : this.vote, commit: this.log.committed };
  }

  #send(m: Partial<Message> & { type: MessageType; to: NodeId }): void {
    this.#messages.push({
      from: this.id, term: this.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
      context: "", ...m,
    });
  }
}

/** The voters after one membership change. */
function withChange(voters: readonly NodeId[], { kind, node }: ConfChange): NodeId[] {
  const next = voters.filter((v) => v !== node);
  if (kind === "addVoter") next.push(node);
  return next;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
