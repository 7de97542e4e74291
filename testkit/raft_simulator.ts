/**
 * A deterministic simulation of a Concord cluster's consensus: 3 or 5 voters and 2–3 spare nodes,
 * each a Raft core (raft/) driven by the member's own write path (member/ready_loop.ts: a leader
 * sends before its fsync, entries committed meanwhile are applied during a sync, proposals made
 * meanwhile go into the next Ready) and trimmed by the member's own rule (member/state_commits.ts),
 * over a simulated clock, network and disk. The network delays, drops, duplicates and reorders
 * messages and partitions nodes (both ways and one way); nodes crash — a new leader before its
 * first entry reaches a majority, a leader right after it commits — losing what was not durable,
 * and their disk keeps, loses or tears the write in flight (sim_disk.ts); the state is durable only
 * as of its last batch commit. Clients propose writes, read linearizably (also at deposed
 * leaders), move leadership and change the membership. Settings differ per seed (sim_settings.ts).
 *
 * Checked as it runs (sim_history.ts): election safety; log matching on every entry any log holds,
 * persists or sends, crashed nodes' disks included; state machine safety on every commit, apply and
 * snapshot; leader completeness against every entry seen committed; commit indexes never going
 * back; each node's membership being the one its applied log made; reads returning a value at
 * least as new as every write applied before they were asked; terms moving, with pre-vote on, only by a real
 * campaign or by hearing of them.
 * At the end it heals every fault and checks that a leader is elected within a bound, that a write
 * commits on every member, and that no write acknowledged to a client was lost. The same seed gives
 * the same run, event for event.
 *
 * Owns: the harness. Never: knowledge of raft/ internals beyond its public face.
 */
import { decodeConfChange } from "../raft/confchange.ts";
import type { PlantedBug } from "../raft/planted_bugs.ts";
import { Raft } from "../raft/raft.ts";
import { type ConfChange, type ConfState, type Entry, type HardState, type Message, NO_NODE, type NodeId, type Snapshot } from "../raft/types.ts";
import { ReadyLoop, type ReadyPorts } from "../member/ready_loop.ts";
import { logKeptFrom } from "../member/state_commits.ts";
import { prng } from "./prng.ts";
import { SimDisk } from "./sim_disk.ts";
import { entryKey, History, keyOf, sameConf, valueOf, type Violation } from "./sim_history.ts";
import { drawSettings, type SimSettings } from "./sim_settings.ts";

/** Time units of faults and load in a run, unless asked otherwise: long enough for many leaders. */
export const SIM_STEPS = 3_000;

export interface SimulationOptions {
  seed: number;
  /** Simulated time units of faults and load, before healing. */
  steps: number;
  /** Voters the cluster starts with; drawn from the seed when absent. */
  nodes?: 3 | 5;
  /** Breaks one rule in every node, to show the checkers catch it (raft/planted_bugs.ts). */
  plantedBug?: PlantedBug;
  /** Keep a readable trace of every event (for replaying one seed). */
  trace?: boolean;
}

export interface SimulationStats {
  /** Simulated time units, healing included. */
  time: number;
  leaders: number;
  committed: number;
  acked: number;
  reads: number;
  crashes: number;
  partitions: number;
  snapshots: number;
  compactions: number;
  transfers: number;
  membershipChanges: number;
  /** Log writes in flight at a crash that were lost or torn. */
  lostWrites: number;
  tornWrites: number;
}

export interface SimulationReport {
  seed: number;
  ok: boolean;
  /** Why the run failed: the property that broke, where. */
  failure?: string;
  trace: string[];
  stats: SimulationStats;
  settings: SimSettings;
}

/** Client keys: few, so reads by value see each other's writes. */
const KEYS = ["a", "b", "c"];
/** Entries a leader may hold uncommitted before clients are refused (the member's proposal limit, scaled down). */
const UNCOMMITTED_MAX = 64;

class SafetyViolation extends Error {}

type SimNode = {
  id: NodeId;
  /** Bumped at every start: callbacks of an earlier life are ignored. */
  life: number;
  raft: Raft | undefined;
  loop: ReadyLoop | undefined;
  disk: SimDisk;
  /** The state: the key of every entry applied, index - 1 → key (append-only within a life). */
  state: string[];
  appliedUpTo: number;
  appliedConf: ConfState;
  savedHardState: HardState;
  /** The commit index this life has shown (it may never go down), and how far it was checked. */
  commitSeen: number;
  commitChecked: number;
  /** The event loop's queue: what the Ready loop deferred. */
  tasks: (() => void)[];
  installing: { at: number; snapshot: Snapshot; done: (error?: unknown) => void } | undefined;
  /** Writes proposed here as leader: index → the term and key they were proposed with. */
  proposals: Map<number, { term: number; key: string }>;
  /**
   * The highest term this life may have reached (pre-vote on): where it started, terms of messages
   * that were not pre-votes, and terms it campaigned or led in.
   */
  termAllowed: number;
  /** Reads confirmed by ReadIndex, served once applied up to their index. */
  confirmedReads: { context: string; index: number }[];
  tickOffset: number;
};
/** A message on its way; a slow one is past the point a partition cuts (in a buffer beyond it). */
type InFlight = { at: number; seq: number; message: Message; slow: boolean };
type ClientRead = { node: NodeId; life: number; key: string; context: string; mustSee: number };

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class Simulation {
  readonly #opts: SimulationOptions;
  readonly #random: () => number;
  readonly #s: SimSettings;
  /** Every node, the spare ones included. */
  readonly #ids: NodeId[];
  readonly #initialConf: ConfState;
  readonly #nodes = new Map<NodeId, SimNode>();
  readonly #history: History;
  #network: InFlight[] = [];
  #seq = 0;
  #now = 0;
  /** Blocked directions "from>to". */
  #blocked = new Set<string>();
  readonly #leaders = new Map<number, NodeId>();
  /** The highest index applied anywhere: a read asked after it must see it. */
  #appliedMax = 0;
  readonly #reads = new Map<string, ClientRead>();
  /** States handed out in snapshots, by the id their data carries (shared, append-only arrays). */
  readonly #snapshotStates = new Map<number, string[]>();
  #counter = 0;
  readonly #trace: string[] = [];
  readonly #stats: SimulationStats = {
    time: 0, leaders: 0, committed: 0, acked: 0, reads: 0, crashes: 0, partitions: 0, snapshots: 0, compactions: 0, transfers: 0,
    membershipChanges: 0, lostWrites: 0, tornWrites: 0,
  };
  #faults = true;

  constructor(opts: SimulationOptions) {
    this.#opts = opts;
    this.#random = prng(opts.seed);
    this.#s = drawSettings(this.#random, opts.nodes);
    this.#ids = Array.from({ length: this.#s.voters + this.#s.spares }, (_, i) => `n${i + 1}`);
    this.#initialConf = { voters: this.#ids.slice(0, this.#s.voters), learners: [] };
    this.#history = new History(this.#initialConf);
    this.#log(`settings ${JSON.stringify(this.#s)}`);
    for (const id of this.#ids) {
      const node: SimNode = {
        id, life: 0, raft: undefined, loop: undefined, disk: new SimDisk(this.#initialConf), state: [], appliedUpTo: 0,
        appliedConf: this.#initialConf, savedHardState: { term: 0, vote: "", commit: 0 }, commitSeen: 0, commitChecked: 0,
        tasks: [], installing: undefined, proposals: new Map(), confirmedReads: [], termAllowed: 0,
        tickOffset: Math.floor(this.#random() * this.#s.tickUnits),
      };
      this.#nodes.set(id, node);
      this.#start(node);
    }
  }

  run(): SimulationReport {
    try {
      for (let i = 0; i < this.#opts.steps; i++) this.#step();
      this.#healAndCheckProgress();
      return this.#report(undefined);
    } catch (e) {
      if (e instanceof SafetyViolation) return this.#report(e.message);
      return this.#report(`exception at t=${this.#now}: ${(e as Error).stack ?? e}`);
    }
  }

  #report(failure: string | undefined): SimulationReport {
    this.#stats.time = this.#now;
    return { seed: this.#opts.seed, ok: failure === undefined, failure, trace: this.#trace, stats: this.#stats, settings: this.#s };
  }

  #log(line: string): void {
    if (this.#opts.trace) this.#trace.push(`t=${this.#now} ${line}`);
  }

  #fail(property: string, detail: string): never {
    throw new SafetyViolation(`${property} violated at t=${this.#now}: ${detail}`);
  }

  #check(v: Violation | undefined): void {
    if (v) this.#fail(v.property, v.detail);
  }

  #draw<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#random() * xs.length)];
  }

  // ---- nodes ----

  #start(node: SimNode): void {
    const d = node.disk;
    if (d.state.index < d.start.index) {
      // The store refuses to open such a data dir (store/open.ts): entries were lost.
      this.#fail("durability", `${node.id}'s state is durable to ${d.state.index} but its log starts after ${d.start.index}`);
    }
    node.life++;
    node.state = d.state.keys.slice(0, d.state.index);
    node.appliedUpTo = d.state.index;
    node.appliedConf = d.state.conf;
    node.savedHardState = { ...d.hardState };
    node.tasks = [];
    node.installing = undefined;
    node.proposals = new Map();
    node.confirmedReads = [];
    node.termAllowed = d.hardState.term;
    const s = this.#s;
    const raft = new Raft({
      id: node.id, voters: this.#initialConf.voters, electionTicks: s.electionTicks, heartbeatTicks: s.heartbeatTicks,
      random: prng(Math.floor(this.#random() * 2 ** 32)), preVote: s.preVote, checkQuorum: s.checkQuorum, maxInflight: s.maxInflight,
      maxEntriesPerAppend: s.maxEntriesPerAppend, maxAppendBytes: s.maxAppendBytes, snapshot: () => this.#snapshotOf(node),
      plantedBug: this.#opts.plantedBug,
    }, { hardState: d.hardState, entries: [...d.entries], start: d.start, applied: d.state.index, conf: d.state.conf });
    node.raft = raft;
    node.commitSeen = raft.log.committed;
    node.commitChecked = raft.log.firstIndex - 1;
    node.loop = new ReadyLoop(raft, this.#ports(node), this.#opts.plantedBug);
    this.#log(`${node.id} starts at term ${d.hardState.term}, log ${d.start.index + 1}..${d.lastIndex}, state ${d.state.index}`);
  }

  #crash(node: SimNode): void {
    node.raft = undefined;
    node.loop = undefined;
    node.tasks = [];
    node.installing = undefined;
    const { outcome, entries } = node.disk.crash(this.#random);
    if (outcome === "lost") this.#stats.lostWrites++;
    if (outcome === "torn") this.#stats.tornWrites++;
    if (outcome === "kept" || outcome === "torn") this.#witnessDisk(node, entries);
    this.#stats.crashes++;
    this.#log(`${node.id} crashes (write in flight: ${outcome})`);
  }

  /** The member's side of the Ready loop, simulated. */
  #ports(node: SimNode): ReadyPorts {
    const life = node.life;
    const alive = () => node.life === life && node.raft !== undefined;
    return {
      persist: (entries, hardState, done) => {
        if (hardState) node.savedHardState = hardState;
        let units = 1 + Math.floor(this.#random() * this.#s.fsyncUnitsMax);
        if (this.#faults && this.#random() < this.#s.fsyncStall) units += 20 + Math.floor(this.#random() * 60);
        node.disk.write(entries, hardState, this.#now + units, done);
      },
      savedHardState: () => node.savedHardState,
      send: (messages) => this.#send(node, messages),
      apply: (entries) => this.#apply(node, entries),
      installSnapshot: (snapshot, done) => {
        node.installing = { at: this.#now + 1 + Math.floor(this.#random() * 3), snapshot, done };
      },
      readsConfirmed: (readStates) => {
        for (const rs of readStates) this.#readConfirmed(node, rs.context, rs.index);
      },
      defer: (fn) => {
        if (alive()) node.tasks.push(fn);
      },
      alone: () => false,
      stopped: () => !alive(),
      failStop: (e) => {
        if (e instanceof SafetyViolation) throw e;
        this.#fail("exception", `${node.id}: ${(e as Error)?.stack ?? e}`);
      },
    };
  }

  /** The leader's snapshot for a follower behind its log: its state as applied now. */
  #snapshotOf(node: SimNode): Snapshot | undefined {
    const raft = node.raft!;
    const term = raft.log.term(node.appliedUpTo);
    if (term <= 0) return undefined;
    const id = ++this.#counter;
    this.#snapshotStates.set(id, node.state);
    return { index: node.appliedUpTo, term, conf: node.appliedConf, data: encoder.encode(String(id)) };
  }

  // ---- one unit of time ----

  #step(): void {
    this.#now++;
    if (this.#faults) this.#injectFaults();
    for (const node of this.#nodes.values()) {
      if (node.raft && (this.#now + node.tickOffset) % this.#s.tickUnits === 0) {
        node.raft.tick();
        node.loop!.pump();
      }
    }
    this.#deliverDue();
    this.#clientLoad();
    this.#runTasks();
    this.#completeDisks();
    this.#runTasks();
    for (const node of this.#nodes.values()) this.#maybeCommitState(node);
    this.#serveReads();
    this.#checkEveryStep();
    if (this.#now % 20 === 0) this.#checkAllLogs();
  }

  #injectFaults(): void {
    const s = this.#s;
    const pick = () => this.#nodes.get(this.#draw(this.#ids))!;
    if (this.#random() < s.crash) {
      const leader = [...this.#nodes.values()].find((n) => n.raft?.role === "leader");
      const node = leader && this.#random() < s.leaderCrashBias ? leader : pick();
      if (node.raft) this.#crash(node);
    }
    if (this.#random() < s.restart) {
      const node = pick();
      if (!node.raft) this.#start(node);
    }
    if (this.#random() < s.partition) this.#partition();
    if (this.#blocked.size > 0 && this.#random() < s.heal) {
      this.#blocked.clear();
      this.#log("network heals");
    }
  }

  #partition(isolate?: SimNode): void {
    this.#stats.partitions++;
    this.#blocked.clear();
    const shuffled = [...this.#ids].sort(() => this.#random() - 0.5);
    let cut = 1 + Math.floor(this.#random() * (this.#ids.length - 1));
    const leader = isolate ?? this.#live().find((n) => n.raft!.role === "leader");
    if (leader && (isolate || this.#random() < this.#s.isolateLeader)) {
      // The leader goes on leading a minority (with a follower or two that take its entries) for a
      // while: deposed leaders, stale tails and stale reads come from here.
      shuffled.splice(shuffled.indexOf(leader.id), 1);
      shuffled.unshift(leader.id);
      cut = 1 + Math.floor(this.#random() * Math.floor((leader.raft!.conf.voters.length - 1) / 2 + 1));
    }
    const side = new Set(shuffled.slice(0, cut));
    const oneWay = this.#random() < 0.3;
    for (const a of this.#ids) {
      for (const b of this.#ids) {
        if (side.has(a) && !side.has(b)) this.#blocked.add(`${a}>${b}`);
        if (!oneWay && !side.has(a) && side.has(b)) this.#blocked.add(`${a}>${b}`);
      }
    }
    // Some messages already past the cut sit in a buffer beyond it, and arrive late.
    for (const f of this.#network) {
      if (!f.slow && this.#blocked.has(`${f.message.from}>${f.message.to}`) && this.#random() < 0.3) {
        f.slow = true;
        f.at += 30 + Math.floor(this.#random() * 120);
      }
    }
    this.#log(`partition ${oneWay ? "one-way " : ""}{${[...side].join(",")}} | rest`);
  }

  #live(): SimNode[] {
    return [...this.#nodes.values()].filter((n) => n.raft);
  }

  #clientLoad(): void {
    const s = this.#s;
    const live = this.#live();
    if (live.length === 0) return;
    const leaders = live.filter((n) => n.raft!.role === "leader");
    if (this.#random() < s.propose && leaders.length > 0) {
      const leader = this.#draw(leaders);
      const burst = 1 + Math.floor(this.#random() * s.burstMax);
      for (let i = 0; i < burst; i++) this.#propose(leader);
    }
    if (this.#random() < s.read) {
      // Reads aimed at the leader with the oldest term find a deposed one, when there is one.
      const oldest = leaders.sort((a, b) => a.raft!.term - b.raft!.term)[0];
      const node = oldest && this.#random() < s.readAtOldLeader ? oldest : this.#draw(live);
      this.#read(node);
    }
    if (this.#random() < s.transfer && leaders.length > 0) {
      const leader = this.#draw(leaders);
      const to = this.#draw(leader.raft!.conf.voters);
      if (leader.raft!.transferLeadership(to)) {
        this.#stats.transfers++;
        this.#log(`${leader.id} transfers leadership to ${to}`);
        leader.loop!.schedule();
      }
    }
    if (this.#random() < s.confChange && leaders.length > 0) this.#changeMembership(this.#draw(leaders));
  }

  #propose(leader: SimNode): void {
    const raft = leader.raft!;
    if (raft.log.lastIndex - raft.log.committed >= UNCOMMITTED_MAX) return;
    const data = `${this.#draw(KEYS)}=p${++this.#counter}`;
    if (!raft.propose(encoder.encode(data))) return;
    leader.proposals.set(raft.log.lastIndex, { term: raft.term, key: `${raft.term}:${data}` });
    this.#log(`${leader.id} proposes ${data} at ${raft.log.lastIndex}`);
    leader.loop!.schedule();
  }

  #read(node: SimNode): void {
    const raft = node.raft!;
    if (raft.role !== "leader" && raft.lead === NO_NODE) return;
    const context = `r${++this.#counter}`;
    const key = this.#draw(KEYS);
    this.#reads.set(context, { node: node.id, life: node.life, key, context, mustSee: this.#appliedMax });
    raft.readIndex(context);
    node.loop!.schedule();
    this.#log(`${node.id} reads ${key} (${context}), must see ${this.#appliedMax}`);
  }

  /** One membership change at random: add a learner, promote one, demote or remove a voter. */
  #changeMembership(leader: SimNode): void {
    const { voters, learners } = leader.raft!.conf;
    const outside = this.#ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    // Grow towards five voters (through learners, or adding a voter at once as `member add` does),
    // shrink (down to one voter), and move members in and out as learners.
    const grow: (ConfChange | undefined)[] = [
      outside.length ? { kind: "addLearner", node: this.#draw(outside) } : undefined,
      learners.length ? { kind: "addVoter", node: this.#draw(learners) } : undefined,
      outside.length ? { kind: "addVoter", node: this.#draw(outside) } : undefined,
    ];
    const shrink: (ConfChange | undefined)[] = [
      learners.length ? { kind: "removeNode", node: this.#draw(learners) } : undefined,
      voters.length > 1 ? { kind: "removeNode", node: this.#draw(voters) } : undefined,
      voters.length > 1 ? { kind: "addLearner", node: this.#draw(voters) } : undefined,
    ];
    const growing = this.#random() < (voters.length < 3 ? 0.9 : voters.length < 5 ? 0.7 : 0.3);
    const change = this.#draw((growing ? grow : shrink).filter((c) => c !== undefined)) ??
      this.#draw([...grow, ...shrink].filter((c) => c !== undefined));
    if (change && leader.raft!.proposeConfChange(change)) {
      this.#log(`${leader.id} proposes ${JSON.stringify(change)} at ${leader.raft!.log.lastIndex}`);
      // An operator who also moves leadership to the member being taken out (refused, as it must be).
      if (change.kind !== "addVoter" && this.#random() < 0.5 && leader.raft!.transferLeadership(change.node)) {
        this.#stats.transfers++;
        this.#log(`${leader.id} transfers leadership to ${change.node}, which is being taken out`);
      }
      leader.loop!.schedule();
    }
  }

  #send(from: SimNode, messages: Message[]): void {
    for (const m of messages) {
      let slow = false;
      const reader = this.#nodes.get(m.to)!;
      if (this.#faults && m.type === "heartbeatResp" && m.context && reader.raft && this.#random() < this.#s.cutOnReadAck) {
        this.#log(`${m.to} is cut off as ${from.id} answers read ${m.context}, the answer held up`);
        this.#partition(reader);
        slow = true;
      }
      if (!slow && this.#blocked.has(`${m.from}>${m.to}`)) continue;
      if (m.type === "app" && m.entries.length > 0) this.#check(this.#history.witnessRun(m.entries, m.logTerm, `${from.id}'s append to ${m.to}`));
      const copies = this.#faults && this.#random() < this.#s.duplicate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        if (this.#faults && this.#random() < this.#s.drop) continue;
        let delay = 1 + Math.floor(this.#random() * (this.#faults ? this.#s.maxDelayUnits : 2));
        const late = slow || (this.#faults && this.#random() < this.#s.slow);
        if (late) delay += 30 + Math.floor(this.#random() * 120);
        this.#network.push({ at: this.#now + delay, seq: this.#seq++, message: m, slow: late });
      }
    }
  }

  #deliverDue(): void {
    if (!this.#network.some((f) => f.at <= this.#now)) return;
    const due = this.#network.filter((f) => f.at <= this.#now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.#network = this.#network.filter((f) => f.at > this.#now);
    for (const { message: m, slow } of due) {
      if (!slow && this.#blocked.has(`${m.from}>${m.to}`)) continue;
      const node = this.#nodes.get(m.to)!;
      if (!node.raft) continue;
      // Pre-vote requests and grants carry a term no one is in yet; every other message a real one.
      if (m.type !== "preVote" && !(m.type === "preVoteResp" && !m.reject)) node.termAllowed = Math.max(node.termAllowed, m.term);
      const [wasLeader, committed] = [node.raft.role === "leader", node.raft.log.committed];
      node.raft.step(m);
      node.loop!.schedule();
      if (!this.#faults || node.raft.role !== "leader") continue;
      // Crashes at the moments that matter most: elected, nothing sent yet; committed, no one told.
      const elected = !wasLeader && this.#random() < this.#s.crashNewLeader;
      const advanced = wasLeader && node.raft.log.committed > committed && this.#random() < this.#s.crashAfterCommit;
      if (elected || advanced) {
        this.#log(`${node.id} crashes the moment it ${elected ? "is elected" : "commits"}`);
        this.#crash(node);
      }
    }
  }

  /** The nodes' event loops: what their Ready loops deferred, until nothing is left (bounded). */
  #runTasks(): void {
    for (let round = 0; round < 1_000; round++) {
      let any = false;
      for (const node of this.#nodes.values()) {
        const tasks = node.tasks;
        node.tasks = [];
        for (const fn of tasks) {
          any = true;
          fn();
        }
      }
      if (!any) return;
    }
    this.#fail("progress", "the nodes' event loops never ran dry within one time unit");
  }

  #completeDisks(): void {
    for (const node of this.#nodes.values()) {
      if (!node.raft) continue;
      const written = node.disk.complete(this.#now);
      if (written) {
        this.#witnessDisk(node, written.entries);
        written.done();
      }
      const install = node.installing;
      if (install && install.at <= this.#now) {
        node.installing = undefined;
        this.#install(node, install.snapshot);
        install.done();
      }
    }
  }

  /** Entries that reached a node's disk (a crashed node's included) keep log matching. */
  #witnessDisk(node: SimNode, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const prev = node.disk.termAt(entries[0].index - 1) ?? -1;
    this.#check(this.#history.witnessRun(entries, prev, `${node.id}'s disk`));
  }

  /** A snapshot replaces the node's state; it must agree with what was committed anywhere. */
  #install(node: SimNode, snap: Snapshot): void {
    const source = this.#snapshotStates.get(Number(decoder.decode(snap.data)))!;
    if (source.length < snap.index) this.#fail("snapshot", `${node.id} got a snapshot of ${source.length} entries at ${snap.index}`);
    const keys = source.slice(0, snap.index);
    for (let i = Math.max(0, keys.length - 200); i < keys.length; i++) {
      const known = this.#history.committed.get(i + 1);
      if (known !== undefined && known !== keys[i]) {
        this.#fail("state machine safety", `${node.id} installed ${keys[i]} at ${i + 1} where ${known} was committed`);
      }
    }
    node.state = keys;
    node.appliedUpTo = snap.index;
    node.appliedConf = snap.conf;
    node.disk.installSnapshot(snap.index, snap.term, { index: snap.index, keys, conf: snap.conf });
    for (const [index] of node.proposals) if (index <= snap.index) node.proposals.delete(index);
    this.#stats.snapshots++;
    this.#log(`${node.id} installs a snapshot at ${snap.index}`);
  }

  /** The member's apply: in order, answering the proposer, then trimming the log as the member does. */
  #apply(node: SimNode, entries: Entry[]): void {
    const raft = node.raft!;
    for (const e of entries) {
      if (e.index !== node.appliedUpTo + 1) this.#fail("apply order", `${node.id} applied ${e.index} after ${node.appliedUpTo}`);
      const key = entryKey(e);
      this.#check(this.#history.commit(e.index, key, raft.term, `${node.id} (applying)`));
      node.state.push(key);
      node.appliedUpTo = e.index;
      if (e.index > this.#appliedMax) {
        this.#appliedMax = e.index;
        this.#stats.committed++;
      }
      if (e.type === "confChange") {
        node.appliedConf = raft.applyConfChange(decodeConfChange(e));
        this.#noteConf(e.index, node.appliedConf);
        this.#log(`${node.id} applies ${decoder.decode(e.data)} at ${e.index} → voters ${node.appliedConf.voters.join(",")} learners ${node.appliedConf.learners.join(",")}`);
      }
      const own = node.proposals.get(e.index);
      if (own) {
        node.proposals.delete(e.index);
        if (own.key === key) {
          this.#history.acked.set(e.index, key);
          this.#stats.acked++;
        }
      }
    }
    const d = node.disk;
    const keepFrom = logKeptFrom({
      stateDurable: d.state.index, stateApplied: node.appliedUpTo, logFirst: d.start.index + 1, snapshotCount: this.#s.snapshotCount,
      ...(this.#s.logMemoryBytes === undefined ? {} : {
        memory: { bytes: raft.log.bytes, firstWithinBytes: (max, upTo) => raft.log.firstWithinBytes(max, upTo), budgetBytes: this.#s.logMemoryBytes },
      }),
    }, this.#opts.plantedBug);
    if (keepFrom !== undefined) {
      raft.compact(Math.min(keepFrom - 1, raft.log.stable, raft.log.applied));
      d.compactBefore(keepFrom);
      this.#stats.compactions++;
    }
  }

  #noteConf(index: number, conf: ConfState): void {
    const before = this.#history.confAt(index);
    this.#check(this.#history.confChanged(index, conf));
    if (this.#history.confAt(index) !== before) this.#stats.membershipChanges++;
  }

  /** Now and then the state's open batch commits: what it applied is durable from then on. */
  #maybeCommitState(node: SimNode): void {
    if (!node.raft || this.#random() >= this.#s.stateCommit) return;
    node.disk.state = { index: node.appliedUpTo, keys: node.state, conf: node.appliedConf };
  }

  // ---- reads ----

  #readConfirmed(node: SimNode, context: string, index: number): void {
    const read = this.#reads.get(context);
    // A duplicated request or answer can confirm a read twice; the first one counted.
    if (!read) return;
    if (read.node !== node.id) this.#fail("read routing", `${node.id} got read state ${context} asked at ${read.node}`);
    if (index < read.mustSee) {
      this.#fail("read freshness", `${context} at ${node.id} got read index ${index} but ${read.mustSee} was applied before it was asked`);
    }
    node.confirmedReads.push({ context, index });
  }

  /** Confirmed reads are served once applied up to their index: the value must be fresh enough. */
  #serveReads(): void {
    for (const node of this.#nodes.values()) {
      if (!node.raft || node.confirmedReads.length === 0) continue;
      const ready = node.confirmedReads.filter((r) => r.index <= node.appliedUpTo);
      if (ready.length === 0) continue;
      node.confirmedReads = node.confirmedReads.filter((r) => r.index > node.appliedUpTo);
      for (const { context } of ready) {
        const read = this.#reads.get(context);
        if (!read || read.life !== node.life) continue;
        this.#reads.delete(context);
        let value: string | undefined;
        for (let i = node.appliedUpTo; i > 0 && value === undefined; i--) {
          const k = node.state[i - 1];
          if (k !== undefined && keyOf(k) === read.key) value = valueOf(k);
        }
        const writtenAt = value === undefined ? 0 : this.#history.indexOfValue(value) ?? 0;
        const newest = this.#history.lastWriteTo(read.key, read.mustSee);
        if (writtenAt < newest) {
          this.#fail("linearizable read", `${context} of ${read.key} at ${node.id} returned ${value ?? "nothing"} (written at ${writtenAt}) but ${this.#history.committed.get(newest)} was written at ${newest} before it was asked`);
        }
        this.#stats.reads++;
        this.#log(`${node.id} serves ${context}: ${read.key}=${value ?? ""}`);
      }
    }
  }

  // ---- checkers ----

  #checkEveryStep(): void {
    for (const node of this.#nodes.values()) {
      const raft = node.raft;
      if (!raft) continue;
      const log = raft.log;
      if (log.committed < node.commitSeen) this.#fail("commit monotonicity", `${node.id} commit went from ${node.commitSeen} to ${log.committed}`);
      node.commitSeen = log.committed;
      // Every index newly committed here joins the history (compacted ones were checked when applied).
      const from = Math.max(node.commitChecked + 1, log.firstIndex);
      if (log.committed >= from) {
        const entries = log.slice(from, log.committed + 1);
        for (const e of entries) this.#check(this.#history.commit(e.index, entryKey(e), raft.term, node.id));
      }
      node.commitChecked = Math.max(node.commitChecked, log.committed);
      // What the core counts as durable is on the disk (unless a snapshot received is still to be installed).
      const d = node.disk;
      if (log.firstIndex - 1 <= d.start.index && log.stable > d.start.index && d.termAt(log.stable) !== log.term(log.stable)) {
        this.#fail("durability", `${node.id} counts ${log.stable} (term ${log.term(log.stable)}) as durable, its disk holds term ${d.termAt(log.stable)} there`);
      }
      // The membership a node acts on is the one its applied log made.
      // (A snapshot received counts as applied from then on, though installing it takes a while.)
      const at = Math.max(node.appliedUpTo, raft.log.applied);
      const expected = this.#history.confAt(at);
      if (!sameConf(raft.conf, expected)) {
        this.#fail("membership", `${node.id} applied to ${at} acts on voters ${raft.conf.voters.join(",")} learners ${raft.conf.learners.join(",")}, its log made voters ${expected.voters.join(",")} learners ${expected.learners.join(",")}`);
      }
      // With pre-vote, a term moves only by a real campaign (one term up) or by hearing of it.
      const campaigned = raft.role === "candidate" || raft.role === "leader";
      if (this.#s.preVote && raft.term > node.termAllowed + (campaigned ? 1 : 0)) {
        this.#fail("term inflation", `${node.id} is ${raft.role} at term ${raft.term} with pre-vote on, but never campaigned or heard of a term above ${node.termAllowed}`);
      }
      if (campaigned) node.termAllowed = Math.max(node.termAllowed, raft.term);
    }
    this.#checkLeaders();
  }

  #checkLeaders(): void {
    for (const node of this.#nodes.values()) {
      const raft = node.raft;
      if (raft?.role !== "leader") continue;
      // A leader counts once its term is on disk: a lone voter leads the moment it campaigns, and if
      // it crashes before its term is durable it may vote in that term again — harmless, since it
      // sends nothing and commits nothing until then (the other checkers would see it if it did).
      if (node.disk.hardState.term < raft.term) continue;
      const known = this.#leaders.get(raft.term);
      if (known === undefined) {
        this.#leaders.set(raft.term, node.id);
        this.#stats.leaders++;
        this.#log(`${node.id} leads term ${raft.term}`);
        this.#checkLeaderCompleteness(node);
      } else if (known !== node.id) {
        this.#fail("election safety", `${known} and ${node.id} both lead term ${raft.term}`);
      }
    }
  }

  /** Every entry seen committed in an earlier term is in a new leader's log (or its state, if compacted). */
  #checkLeaderCompleteness(node: SimNode): void {
    const raft = node.raft!;
    for (const [index, key] of this.#history.committed) {
      if (this.#history.commitTerm.get(index)! >= raft.term) continue;
      const held = index < raft.log.firstIndex ? node.state[index - 1] : raft.log.slice(index, index + 1)[0];
      const heldKey = typeof held === "string" || held === undefined ? held : entryKey(held);
      if (heldKey !== key && !(index < raft.log.firstIndex && index > node.appliedUpTo)) {
        this.#fail("leader completeness", `${node.id} leads term ${raft.term} without ${key} at ${index} (committed in term ${this.#history.commitTerm.get(index)})`);
      }
    }
  }

  /** Every node's log in memory and on disk, whole, against every entry seen anywhere. */
  #checkAllLogs(): void {
    for (const node of this.#nodes.values()) {
      const d = node.disk;
      this.#check(this.#history.witnessRun(d.entries, d.start.term, `${node.id}'s disk`));
      // In memory, entries of a term the node has on disk: a lone voter leads the moment it
      // campaigns, and what it appends before its term is durable never leaves it (the Ready loop
      // sends nothing before that); if it crashes, it may lead that term again.
      const log = node.raft?.log;
      if (log) {
        const held = log.slice(log.firstIndex, log.lastIndex + 1);
        const durable = held.findIndex((e) => e.term > d.hardState.term);
        this.#check(this.#history.witnessRun(durable < 0 ? held : held.slice(0, durable), log.term(log.firstIndex - 1), node.id));
      }
    }
  }

  // ---- liveness and durability ----

  #healAndCheckProgress(): void {
    this.#faults = false;
    this.#blocked.clear();
    for (const node of this.#nodes.values()) if (!node.raft) this.#start(node);
    this.#log("all faults healed");
    const healedAt = this.#now;
    // A leader within ten election timeouts (ticks are tickUnits apart, messages a few units).
    const leaderBound = 10 * this.#s.electionTicks * this.#s.tickUnits + 100;
    const progressBound = leaderBound + 1_000;
    // A client proposes through whoever leads, and again if its write was lost with a leader that
    // stepped down before committing it.
    const RETRY_UNITS = 100;
    const markers = new Set<string>();
    let lastTry = -RETRY_UNITS;
    let leaderSeen = false;
    while (this.#now < healedAt + progressBound) {
      this.#step();
      const leader = this.#live().find((n) => n.raft!.role === "leader");
      if (leader) leaderSeen = true;
      else if (!leaderSeen && this.#now > healedAt + leaderBound) {
        this.#fail("liveness", `no leader within ${leaderBound} units after healing (${this.#describeNodes()})`);
      }
      if (leader && this.#now - lastTry >= RETRY_UNITS) {
        const marker = `m=p${++this.#counter}`;
        if (leader.raft!.propose(encoder.encode(marker))) {
          markers.add(marker);
          lastTry = this.#now;
          leader.loop!.schedule();
          this.#runTasks();
        }
      }
      if (!leader) continue;
      const conf = leader.raft!.conf;
      const members = [...conf.voters, ...conf.learners];
      for (const [index, key] of this.#history.committed) {
        if (!markers.has(key.slice(key.indexOf(":") + 1))) continue;
        if (members.every((id) => this.#nodes.get(id)!.appliedUpTo >= index)) return this.#checkAcked(members);
      }
    }
    this.#fail("liveness", `no write committed on every member within ${progressBound} units after healing (${this.#describeNodes()})`);
  }

  /** No write acknowledged to a client is missing from any member's state. */
  #checkAcked(members: NodeId[]): void {
    for (const id of members) {
      const node = this.#nodes.get(id)!;
      for (const [index, key] of this.#history.acked) {
        if (index > node.appliedUpTo) continue;
        if (node.state[index - 1] !== key) {
          this.#fail("durability", `${id} holds ${node.state[index - 1]} at ${index} where the acknowledged write ${key} was`);
        }
      }
    }
  }

  #describeNodes(): string {
    return [...this.#nodes.values()].map((n) =>
      `${n.id}: ${n.raft?.role} term ${n.raft?.term} lead ${n.raft?.lead} last ${n.raft?.log.lastIndex} commit ${n.raft?.log.committed} applied ${n.appliedUpTo}`
    ).join("; ");
  }
}

export function simulate(opts: SimulationOptions): SimulationReport {
  return new Simulation(opts).run();
}

export function replayCommand(opts: SimulationOptions): string {
  return `npm run sim -- --seed ${opts.seed} --steps ${opts.steps}${opts.nodes ? ` --nodes ${opts.nodes}` : ""}` +
    `${opts.plantedBug ? ` --plant ${opts.plantedBug}` : ""} --trace`;
}
