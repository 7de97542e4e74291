/**
 * A deterministic simulation of a Raft cluster: 3 or 5 nodes of raft/ driven over a seeded network
 * that delays, drops, duplicates and reorders messages, partitions nodes (both ways and one way),
 * crashes nodes (losing all they had not persisted) and restarts them from what they had, while
 * clients propose commands, ask for linearizable reads, now and then move leadership and change
 * the membership (one spare node starts outside the cluster; learners are added, promoted,
 * voters removed).
 *
 * After every step it checks Raft's safety properties; at the end it heals every fault and checks
 * that a leader is elected and a proposal commits everywhere within a bounded time. The same seed
 * gives the same run, event for event.
 *
 * Owns: the harness and the checkers. Never: knowledge of raft/ internals beyond its public face.
 */
import { decodeConfChange } from "../raft/confchange.ts";
import { type PlantedBug, Raft, type RaftConfig } from "../raft/raft.ts";
import type { ConfChange, Entry, HardState, Message, NodeId, Ready, Snapshot } from "../raft/types.ts";
import { prng } from "./prng.ts";

export interface SimulationOptions {
  seed: number;
  nodes: 3 | 5;
  /** Simulated time units of faults and load (a node ticks every 1–5 units, drawn per seed). */
  steps: number;
  /** Breaks one rule in every node, to show the checkers catch it. */
  plantedBug?: PlantedBug;
  /** Keep a readable trace of every event (for replaying one seed). */
  trace?: boolean;
}

export interface SimulationReport {
  seed: number;
  ok: boolean;
  /** Why the run failed: the property that broke, where. */
  failure?: string;
  trace: string[];
  stats: { leaders: number; committed: number; reads: number; crashes: number; partitions: number; snapshots: number };
}

const HEAL_BOUND_UNITS = 2_000;

class SafetyViolation extends Error {}

/** What survives a crash: the hard state, the latest snapshot and the log entries after it. */
type Disk = { hardState: HardState; snapshot: Snapshot | undefined; entries: Entry[] };
type SimNode = {
  id: NodeId;
  raft: Raft | undefined;
  disk: Disk;
  /** Indexes applied in this incarnation, in order (a snapshot counts as applying up to it). */
  appliedUpTo: number;
  /** The node's state machine: the key of every entry applied, index - 1 → key. */
  state: string[];
  /** The commit index this incarnation has shown; it may never go down. */
  commitSeen: number;
  tickOffset: number;
};
type InFlight = { at: number; seq: number; message: Message };

/** How hostile a run is; drawn per seed so the seeds together cover gentle and brutal runs. */
type FaultProfile = {
  crash: number;
  restart: number;
  partition: number;
  heal: number;
  drop: number;
  duplicate: number;
  maxDelayUnits: number;
  /** Share of crashes aimed at the current leader. */
  leaderCrashBias: number;
  /** Chance a leader crashes right after its first Ready, and right after its commit index moves. */
  crashNewLeader: number;
  crashAfterCommit: number;
  maxEntriesPerAppend: number;
  /** Time units between ticks: few make message delays long next to election timeouts. */
  tickUnits: number;
  /** Chance per unit that a node snapshots and compacts its log. */
  compact: number;
};
type PendingRead = { node: NodeId; context: string; mustSee: number };

const decoder = new TextDecoder();
const entryKey = (e: Entry) => `${e.term}:${decoder.decode(e.data)}`;

export class Simulation {
  readonly #opts: SimulationOptions;
  readonly #random: () => number;
  /** Every node, the spare one included. */
  readonly #ids: NodeId[];
  /** The voters the cluster starts with; one more node starts outside it, to be added later. */
  readonly #initialVoters: NodeId[];
  readonly #nodes = new Map<NodeId, SimNode>();
  #network: InFlight[] = [];
  #seq = 0;
  #now = 0;
  /** Blocked directions "from>to". */
  #blocked = new Set<string>();
  /** What was applied at each index, anywhere: the one true history. */
  readonly #applied = new Map<number, string>();
  #appliedMax = 0;
  readonly #leaders = new Map<number, NodeId>();
  /** The term of the leader that committed each index (the first one seen to). */
  readonly #commitTerms = new Map<number, number>();
  readonly #reads = new Map<string, PendingRead>();
  #proposals = 0;
  #readCount = 0;
  readonly #trace: string[] = [];
  readonly #stats = { leaders: 0, committed: 0, reads: 0, crashes: 0, partitions: 0, snapshots: 0 };
  #faults = true;
  readonly #profile: FaultProfile;

  constructor(opts: SimulationOptions) {
    this.#opts = opts;
    this.#random = prng(opts.seed);
    const r = this.#random;
    this.#profile = {
      crash: 0.001 + r() * r() * 0.06,
      restart: 0.01 + r() * 0.15,
      partition: r() * 0.01,
      heal: 0.002 + r() * 0.01,
      drop: r() * 0.15,
      duplicate: r() * 0.05,
      maxDelayUnits: 2 + Math.floor(r() * 20),
      leaderCrashBias: r(),
      crashNewLeader: r() < 0.5 ? 0 : r() * 0.3,
      crashAfterCommit: r() < 0.5 ? 0 : r() * 0.3,
      maxEntriesPerAppend: 1 + Math.floor(r() * 4),
      tickUnits: 1 + Math.floor(r() * 5),
      compact: r() < 0.3 ? 0 : r() * 0.05,
    };
    this.#ids = Array.from({ length: opts.nodes + 1 }, (_, i) => `n${i + 1}`);
    this.#initialVoters = this.#ids.slice(0, opts.nodes);
    for (const id of this.#ids) {
      const node: SimNode = {
        id, raft: undefined, disk: { hardState: { term: 0, vote: "", commit: 0 }, snapshot: undefined, entries: [] },
        appliedUpTo: 0, state: [],
        commitSeen: 0, tickOffset: Math.floor(this.#random() * this.#profile.tickUnits),
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
      return this.#report(`exception: ${(e as Error).stack ?? e}`);
    }
  }

  #report(failure: string | undefined): SimulationReport {
    return { seed: this.#opts.seed, ok: failure === undefined, failure, trace: this.#trace, stats: this.#stats };
  }

  #log(line: string): void {
    if (this.#opts.trace) this.#trace.push(`t=${this.#now} ${line}`);
  }

  #fail(property: string, detail: string): never {
    throw new SafetyViolation(`${property} violated at t=${this.#now}: ${detail}`);
  }

  // ---- nodes ----

  #config(node: SimNode): RaftConfig {
    return {
      id: node.id, snapshot: () => node.disk.snapshot, voters: this.#initialVoters, electionTicks: 10, heartbeatTicks: 1, random: prng(Math.floor(this.#random() * 2 ** 32)),
      preVote: true, checkQuorum: true, maxInflight: 8, maxEntriesPerAppend: this.#profile.maxEntriesPerAppend,
      plantedBug: this.#opts.plantedBug,
    };
  }

  #start(node: SimNode): void {
    const snap = node.disk.snapshot;
    node.raft = new Raft(this.#config(node), {
      hardState: node.disk.hardState, entries: node.disk.entries, applied: snap?.index ?? 0,
      start: snap && { index: snap.index, term: snap.term }, conf: snap?.conf,
    });
    node.state = snap ? JSON.parse(decoder.decode(snap.data)) : [];
    node.appliedUpTo = snap?.index ?? 0;
    node.commitSeen = node.disk.hardState.commit;
    this.#log(`${node.id} starts at term ${node.disk.hardState.term} with ${node.disk.entries.length} entries`);
  }

  #crash(node: SimNode): void {
    node.raft = undefined;
    this.#stats.crashes++;
    this.#log(`${node.id} crashes`);
  }

  // ---- one unit of time ----

  #step(): void {
    this.#now++;
    if (this.#faults) this.#injectFaults();
    for (const node of this.#nodes.values()) {
      if (node.raft && (this.#now + node.tickOffset) % this.#profile.tickUnits === 0) node.raft.tick();
    }
    this.#deliverDue();
    this.#clientLoad();
    this.#drainReadies();
    for (const node of this.#nodes.values()) this.#maybeCompact(node);
    this.#checkLeaders();
    if (this.#now % 50 === 0) this.#checkLogMatching();
  }

  #injectFaults(): void {
    const p = this.#profile;
    const pick = () => this.#nodes.get(this.#ids[Math.floor(this.#random() * this.#ids.length)])!;
    if (this.#random() < p.crash) {
      const leader = [...this.#nodes.values()].find((n) => n.raft?.role === "leader");
      const node = leader && this.#random() < p.leaderCrashBias ? leader : pick();
      if (node.raft) this.#crash(node);
    }
    if (this.#random() < p.restart) {
      const node = pick();
      if (!node.raft) this.#start(node);
    }
    if (this.#random() < p.partition) this.#partition();
    if (this.#blocked.size > 0 && this.#random() < p.heal) {
      this.#blocked.clear();
      this.#log("network heals");
    }
  }

  #partition(): void {
    this.#stats.partitions++;
    this.#blocked.clear();
    const shuffled = [...this.#ids].sort(() => this.#random() - 0.5);
    const cut = 1 + Math.floor(this.#random() * (this.#ids.length - 1));
    const side = new Set(shuffled.slice(0, cut));
    const oneWay = this.#random() < 0.3;
    for (const a of this.#ids) {
      for (const b of this.#ids) {
        if (side.has(a) && !side.has(b)) this.#blocked.add(`${a}>${b}`);
        if (!oneWay && !side.has(a) && side.has(b)) this.#blocked.add(`${a}>${b}`);
      }
    }
    this.#log(`partition ${oneWay ? "one-way " : ""}{${[...side].join(",")}} | rest`);
  }

  #clientLoad(): void {
    const node = this.#nodes.get(this.#ids[Math.floor(this.#random() * this.#ids.length)])!;
    if (!node.raft) return;
    const r = this.#random();
    if (r < 0.15) {
      const data = new TextEncoder().encode(`p${++this.#proposals}`);
      if (node.raft.propose(data)) this.#log(`${node.id} proposes p${this.#proposals}`);
    } else if (r < 0.2) {
      const context = `r${++this.#readCount}`;
      this.#reads.set(context, { node: node.id, context, mustSee: this.#appliedMax });
      node.raft.readIndex(context);
      this.#log(`${node.id} read ${context} must see ${this.#appliedMax}`);
    } else if (r < 0.203 && node.raft.role === "leader") {
      const to = this.#ids[Math.floor(this.#random() * this.#ids.length)];
      if (node.raft.transferLeadership(to)) this.#log(`${node.id} transfers leadership to ${to}`);
    } else if (r < 0.24 && node.raft.role === "leader") {
      this.#changeMembership(node.raft);
    }
  }

  /** One membership change at random: add a learner, promote one, or remove a voter. */
  #changeMembership(leader: Raft): void {
    const { voters, learners } = leader.conf;
    const outside = this.#ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const pick = <T>(xs: T[]) => xs[Math.floor(this.#random() * xs.length)];
    const options: (() => ConfChange | undefined)[] = [
      () => (outside.length ? { kind: "addLearner", node: pick(outside) } : undefined),
      () => (learners.length ? { kind: "addVoter", node: pick(learners) } : undefined),
      // Keep three voters at least, so the cluster can lose one and go on.
      () => (voters.length > 3 ? { kind: "removeNode", node: pick(voters) } : undefined),
    ];
    const change = pick(options)();
    if (change && leader.proposeConfChange(change)) this.#log(`${leader.id} proposes ${JSON.stringify(change)}`);
  }

  #send(messages: Message[]): void {
    for (const m of messages) {
      const copies = this.#faults && this.#random() < this.#profile.duplicate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        if (this.#faults && this.#random() < this.#profile.drop) continue;
        const delay = 1 + Math.floor(this.#random() * (this.#faults ? this.#profile.maxDelayUnits : 3));
        this.#network.push({ at: this.#now + delay, seq: this.#seq++, message: m });
      }
    }
  }

  #deliverDue(): void {
    const due = this.#network.filter((f) => f.at <= this.#now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (due.length === 0) return;
    this.#network = this.#network.filter((f) => f.at > this.#now);
    for (const { message: m } of due) {
      if (this.#blocked.has(`${m.from}>${m.to}`)) continue;
      const node = this.#nodes.get(m.to)!;
      if (!node.raft) continue;
      node.raft.step(m);
    }
  }

  /** Runs every node's ready/advance cycle until none has anything left (bounded). */
  #drainReadies(): void {
    for (let round = 0; round < 10; round++) {
      let any = false;
      for (const node of this.#nodes.values()) {
        if (!node.raft?.hasReady()) continue;
        any = true;
        this.#handleReady(node, node.raft.ready());
      }
      if (!any) return;
    }
  }

  #handleReady(node: SimNode, rd: Ready): void {
    const raft = node.raft!;
    const commitBefore = node.commitSeen;
    // 1. install a snapshot, then persist
    if (rd.snapshot) this.#install(node, rd.snapshot);
    if (rd.entries.length > 0) {
      const base = node.disk.snapshot?.index ?? 0;
      const first = rd.entries[0].index;
      node.disk.entries.length = Math.min(node.disk.entries.length, first - 1 - base);
      node.disk.entries.push(...rd.entries);
    }
    if (rd.hardState) {
      if (rd.hardState.commit < node.disk.hardState.commit) {
        this.#fail("commit monotonicity", `${node.id} persisted commit ${rd.hardState.commit} after ${node.disk.hardState.commit}`);
      }
      node.disk.hardState = { ...rd.hardState };
    }
    if (raft.log.committed < node.commitSeen) {
      this.#fail("commit monotonicity", `${node.id} commit went from ${node.commitSeen} to ${raft.log.committed}`);
    }
    if (raft.role === "leader") {
      for (let i = commitBefore + 1; i <= raft.log.committed; i++) if (!this.#commitTerms.has(i)) this.#commitTerms.set(i, raft.term);
    }
    node.commitSeen = raft.log.committed;
    // 2. send
    this.#send(rd.messages);
    // 3. apply, checking state machine safety
    for (const e of rd.committed) {
      if (e.index !== node.appliedUpTo + 1) this.#fail("apply order", `${node.id} applied ${e.index} after ${node.appliedUpTo}`);
      node.appliedUpTo = e.index;
      const key = entryKey(e);
      node.state.push(key);
      if (e.type === "confChange") {
        const conf = raft.applyConfChange(decodeConfChange(e));
        this.#log(`${node.id} applies ${decoder.decode(e.data)} → voters ${conf.voters.join(",")} learners ${conf.learners.join(",")}`);
      }
      const known = this.#applied.get(e.index);
      if (known === undefined) {
        this.#applied.set(e.index, key);
        this.#appliedMax = Math.max(this.#appliedMax, e.index);
        this.#stats.committed++;
      } else if (known !== key) {
        this.#fail("state machine safety", `${node.id} applied ${key} at ${e.index} where ${known} was applied`);
      }
    }
    // 4. reads
    for (const rs of rd.readStates) {
      const read = this.#reads.get(rs.context);
      // A duplicated request or answer can serve a read twice; the first one counted.
      if (!read) continue;
      if (read.node !== node.id) this.#fail("read routing", `${node.id} got read state ${rs.context} asked at ${read.node}`);
      if (rs.index < read.mustSee) {
        this.#fail("read freshness", `${rs.context} at ${node.id} read index ${rs.index} but ${read.mustSee} was applied before it was asked`);
      }
      this.#reads.delete(rs.context);
      this.#stats.reads++;
    }
    raft.advance(rd);
    // Crashes at the moments that matter most: a leader just elected, a leader that just committed.
    if (this.#faults && raft.role === "leader") {
      const fresh = !this.#leaders.has(raft.term);
      const committed = raft.log.committed > commitBefore;
      if ((fresh && this.#random() < this.#profile.crashNewLeader) || (committed && this.#random() < this.#profile.crashAfterCommit)) {
        this.#crash(node);
      }
    }
  }

  /** A snapshot replaces the node's state and log; it must agree with what was applied anywhere. */
  #install(node: SimNode, snap: Snapshot): void {
    const keys = JSON.parse(decoder.decode(snap.data)) as string[];
    if (keys.length !== snap.index) this.#fail("snapshot", `${node.id} got a snapshot of ${keys.length} entries at ${snap.index}`);
    keys.forEach((key, i) => {
      const known = this.#applied.get(i + 1);
      if (known !== undefined && known !== key) {
        this.#fail("state machine safety", `${node.id} installed ${key} at ${i + 1} where ${known} was applied`);
      }
    });
    node.state = keys;
    node.appliedUpTo = snap.index;
    node.disk.snapshot = snap;
    node.disk.entries = [];
    this.#stats.snapshots++;
    this.#log(`${node.id} installs a snapshot at ${snap.index}`);
  }

  /** Now and then a node snapshots its state and forgets the log behind it (as a runtime does). */
  #maybeCompact(node: SimNode): void {
    const raft = node.raft;
    if (!raft || this.#random() >= this.#profile.compact) return;
    const index = Math.min(node.appliedUpTo, raft.log.stable) - 2;
    if (index < raft.log.firstIndex + 3) return;
    const snap: Snapshot = { index, term: raft.log.term(index), conf: raft.conf, data: new TextEncoder().encode(JSON.stringify(node.state.slice(0, index))) };
    raft.compact(index);
    const base = node.disk.snapshot?.index ?? 0;
    node.disk.entries = node.disk.entries.slice(index - base);
    node.disk.snapshot = snap;
    this.#log(`${node.id} compacts its log to ${index}`);
  }

  // ---- checkers ----

  #checkLeaders(): void {
    for (const node of this.#nodes.values()) {
      const raft = node.raft;
      if (raft?.role !== "leader") continue;
      const known = this.#leaders.get(raft.term);
      if (known === undefined) {
        this.#leaders.set(raft.term, node.id);
        this.#stats.leaders++;
        this.#log(`${node.id} leads term ${raft.term}`);
        // Leader completeness: every entry committed in an earlier term is in the new leader's log.
        // (A leader of an older term can still appear late, when old votes arrive after newer
        // terms committed; it holds no promise about them.)
        for (const [index, key] of this.#applied) {
          if ((this.#commitTerms.get(index) ?? Infinity) >= raft.term) continue;
          // Compacted entries live in the node's state, which the snapshot check covers.
          if (index < raft.log.firstIndex) continue;
          const e = raft.log.slice(index, index + 1)[0];
          if (!e || entryKey(e) !== key) {
            this.#fail("leader completeness", `${node.id} leads term ${raft.term} without ${key} at ${index}`);
          }
        }
      } else if (known !== node.id) {
        this.#fail("election safety", `${known} and ${node.id} both lead term ${raft.term}`);
      }
    }
  }

  #checkLogMatching(): void {
    // Each node's log as index → entry, from its first kept index on.
    const logs = [...this.#nodes.values()].filter((n) => n.raft).map((n) => {
      const log = n.raft!.log;
      const byIndex = new Map<number, Entry>();
      for (const e of log.slice(log.firstIndex, log.lastIndex + 1)) byIndex.set(e.index, e);
      return { id: n.id, byIndex, first: log.firstIndex, last: log.lastIndex };
    });
    for (let i = 0; i < logs.length; i++) {
      for (let j = i + 1; j < logs.length; j++) {
        const [a, b] = [logs[i], logs[j]];
        const lo = Math.max(a.first, b.first);
        let agreeAt = -1;
        for (let k = Math.min(a.last, b.last); k >= lo; k--) {
          if (a.byIndex.get(k)!.term === b.byIndex.get(k)!.term) {
            agreeAt = k;
            break;
          }
        }
        for (let k = lo; k <= agreeAt; k++) {
          if (entryKey(a.byIndex.get(k)!) !== entryKey(b.byIndex.get(k)!)) {
            this.#fail("log matching", `${a.id} and ${b.id} agree at ${agreeAt} but differ at ${k}`);
          }
        }
      }
    }
  }

  // ---- liveness ----

  #healAndCheckProgress(): void {
    this.#faults = false;
    this.#blocked.clear();
    for (const node of this.#nodes.values()) if (!node.raft) this.#start(node);
    this.#log("all faults healed");
    const deadline = this.#now + HEAL_BOUND_UNITS;
    // A client proposes through whoever leads, and proposes again if its entry was lost with a
    // leader that stepped down before committing it.
    const RETRY_UNITS = 100;
    const markers = new Set<string>();
    let lastTry = -RETRY_UNITS;
    while (this.#now < deadline) {
      this.#step();
      const leader = [...this.#nodes.values()].find((n) => n.raft?.role === "leader");
      if (leader && this.#now - lastTry >= RETRY_UNITS) {
        const marker = `p${++this.#proposals}`;
        if (leader.raft!.propose(new TextEncoder().encode(marker))) {
          markers.add(marker);
          lastTry = this.#now;
        }
      }
      const members = leader ? [...leader.raft!.conf.voters, ...leader.raft!.conf.learners] : [];
      for (const [index, key] of this.#applied) {
        if (!markers.has(key.slice(key.indexOf(":") + 1))) continue;
        if (members.length > 0 && members.every((id) => this.#nodes.get(id)!.appliedUpTo >= index)) return;
      }
    }
    const marker = [...markers].join(",");
    const nodes = [...this.#nodes.values()].map((n) =>
      `${n.id}: ${n.raft?.role} term ${n.raft?.term} lead ${n.raft?.lead} last ${n.raft?.log.lastIndex} commit ${n.raft?.log.committed} applied ${n.appliedUpTo}`
    );
    this.#fail("liveness", `no proposal committed on every node within ${HEAL_BOUND_UNITS} units after healing (marker ${marker}; ${nodes.join("; ")})`);
  }
}

export function simulate(opts: SimulationOptions): SimulationReport {
  return new Simulation(opts).run();
}

export function replayCommand(opts: SimulationOptions): string {
  return `npm run sim -- --seed ${opts.seed} --nodes ${opts.nodes} --steps ${opts.steps}` +
    `${opts.plantedBug ? ` --plant ${opts.plantedBug}` : ""} --trace`;
}
