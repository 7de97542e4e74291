/**
 * A hand-driven Raft cluster for scenario tests: nothing moves unless the test says so. Messages
 * wait in an outbox until delivered (all, or those a predicate picks); nodes crash, losing what
 * they had not persisted, and restart from their disks; every node's applied entries are kept.
 *
 * Owns: the scenario harness. Never: randomness — every node's election timeout is exactly
 * `electionTicks`, so "tick n times" means what it says.
 */
import { decodeConfChange } from "../raft/confchange.ts";
import { type PlantedBug, Raft } from "../raft/raft.ts";
import type { Entry, HardState, Message, NodeId, Snapshot } from "../raft/types.ts";

type Disk = { hardState: HardState; snapshot: Snapshot | undefined; entries: Entry[] };

export const ELECTION_TICKS = 10;
const text = (e: Entry) => new TextDecoder().decode(e.data);

export class Cluster {
  readonly ids: NodeId[];
  /** The voters the cluster was created with. */
  readonly #initialVoters: NodeId[];
  readonly #rafts = new Map<NodeId, Raft | undefined>();
  readonly #disks = new Map<NodeId, Disk>();
  /** What each node applied, as text: its state machine. */
  readonly #applied = new Map<NodeId, string[]>();
  outbox: Message[] = [];
  readonly #cut = new Set<NodeId>();

  constructor(size: number, readonly options: { plantedBug?: PlantedBug; maxEntriesPerAppend?: number } = {}) {
    this.ids = Array.from({ length: size }, (_, i) => `s${i + 1}`);
    this.#initialVoters = [...this.ids];
    for (const id of this.ids) {
      this.#disks.set(id, { hardState: { term: 0, vote: "", commit: 0 }, snapshot: undefined, entries: [] });
      this.restart(id);
    }
  }

  node(id: NodeId): Raft {
    const r = this.#rafts.get(id);
    if (!r) throw new Error(`${id} is down`);
    return r;
  }

  restart(id: NodeId): void {
    const disk = this.#disks.get(id)!;
    const snap = disk.snapshot;
    this.#rafts.set(id, new Raft({
      id, voters: this.#initialVoters, snapshot: () => this.#disks.get(id)!.snapshot, electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: () => 0, preVote: true,
      checkQuorum: true, maxInflight: 64, maxEntriesPerAppend: this.options.maxEntriesPerAppend ?? 64,
      plantedBug: this.options.plantedBug,
    }, {
      hardState: disk.hardState, entries: disk.entries, applied: snap?.index ?? 0,
      start: snap && { index: snap.index, term: snap.term }, conf: snap?.conf,
    }));
    this.#applied.set(id, snap ? JSON.parse(new TextDecoder().decode(snap.data)) : []);
  }

  /** Starts a brand-new, empty member that is in no configuration yet. */
  addNode(id: NodeId): void {
    this.ids.push(id);
    this.#disks.set(id, { hardState: { term: 0, vote: "", commit: 0 }, snapshot: undefined, entries: [] });
    this.restart(id);
  }

  crash(id: NodeId): void {
    this.#rafts.set(id, undefined);
    this.outbox = this.outbox.filter((m) => m.to !== id);
  }

  /** Cuts a node off: messages to and from it are dropped until rejoin(). */
  isolate(...ids: NodeId[]): void {
    for (const id of ids) this.#cut.add(id);
  }

  rejoin(...ids: NodeId[]): void {
    for (const id of ids) this.#cut.delete(id);
  }

  isUp(id: NodeId): boolean {
    return this.#rafts.get(id) !== undefined;
  }

  /** Runs every live node's Ready: persist, queue messages, apply. */
  flush(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const [id, raft] of this.#rafts) {
        if (!raft?.hasReady()) continue;
        any = true;
        const rd = raft.ready();
        const disk = this.#disks.get(id)!;
        if (rd.snapshot) {
          disk.snapshot = rd.snapshot;
          disk.entries = [];
          this.#applied.set(id, JSON.parse(new TextDecoder().decode(rd.snapshot.data)));
        }
        if (rd.entries.length) {
          const base = disk.snapshot?.index ?? 0;
          disk.entries.length = Math.min(disk.entries.length, rd.entries[0].index - 1 - base);
          disk.entries.push(...rd.entries);
        }
        if (rd.hardState) disk.hardState = { ...rd.hardState };
        for (const m of rd.messages) if (!this.#cut.has(m.from) && !this.#cut.has(m.to)) this.outbox.push(m);
        this.#applied.get(id)!.push(...rd.committed.map(text));
        for (const e of rd.committed) if (e.type === "confChange") raft.applyConfChange(decodeConfChange(e));
        raft.advance(rd);
      }
      if (!any) return;
    }
    throw new Error("cluster: Readies did not settle in 100 rounds");
  }

  /**
   * Delivers queued messages the predicate accepts (all by default) until none is left; the ones
   * it refuses are dropped.
   */
  deliver(accept: (m: Message) => boolean = () => true): void {
    for (let round = 0; round < 1_000; round++) {
      this.flush();
      const batch = this.outbox;
      this.outbox = [];
      if (batch.length === 0) return;
      for (const m of batch) {
        const to = this.#rafts.get(m.to);
        if (to && accept(m) && !this.#cut.has(m.to) && !this.#cut.has(m.from)) to.step(m);
      }
    }
    throw new Error("cluster: messages did not settle in 1,000 rounds");
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
    this.flush();
  }

  /** Ticks every live node once and delivers everything. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const [, raft] of this.#rafts) raft?.tick();
      this.deliver();
    }
  }

  /** Lets `id`'s election timer run out, then delivers everything that follows. */
  campaign(id: NodeId): void {
    this.tick(id, ELECTION_TICKS);
    this.deliver();
  }

  propose(id: NodeId, value: string): boolean {
    const ok = this.node(id).propose(new TextEncoder().encode(value));
    this.flush();
    return ok;
  }

  /** What a node applied, as text (empty entries as ""). */
  applied(id: NodeId): string[] {
    return this.#applied.get(id)!;
  }

  /** Snapshots a node's state up to `index` and compacts its log there, as a runtime would. */
  compact(id: NodeId, index: number): void {
    const raft = this.node(id);
    const data = new TextEncoder().encode(JSON.stringify(this.applied(id).slice(0, index)));
    const disk = this.#disks.get(id)!;
    const base = disk.snapshot?.index ?? 0;
    disk.snapshot = { index, term: raft.log.term(index), conf: raft.conf, data };
    disk.entries = disk.entries.slice(index - base);
    raft.compact(index);
  }

  /** The node's log as "term:text" for each index. */
  logOf(id: NodeId): string[] {
    const raft = this.#rafts.get(id);
    const entries = raft ? raft.log.slice(1, raft.log.lastIndex + 1) : this.#disks.get(id)!.entries;
    return entries.map((e) => `${e.term}:${text(e)}`);
  }

  leader(): NodeId | undefined {
    return this.ids.find((id) => this.#rafts.get(id)?.role === "leader");
  }
}
