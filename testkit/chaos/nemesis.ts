/**
 * The chaos harness's nemesis: faults drawn from a seed and applied to a TestCluster of real
 * processes — kill -9 and restart, SIGSTOP and SIGCONT, partitions through the members' peer
 * proxies (one member cut off both ways, a one-way cut, the leader isolated, a bridge: two groups
 * that reach each other only through one member), slowed peer links, leadership transfers,
 * membership changes (a member — the leader too — removed, then added back with an empty data dir),
 * power cuts (a majority or every member killed at once, each losing what it wrote and did not
 * fsync) and a slow disk (each fsync of one member made slower) — each held for a while, then healed. Every fault is written to the schedule with its time, so a
 * failing run can be read, and its faults drawn again from its seed (the nemesis has its own
 * stream of draws; real processes' timing still varies).
 *
 * Owns: choosing faults, applying and healing them. Never: checks anything, or reaches into a
 * member other than as an operator would (signals, its peer proxy, its client API) or as its
 * machine would (power, disk: testkit/power_cut.ts).
 */
import type { ClusterMember, TestCluster } from "../cluster.ts";

export type FaultKind =
  | "kill"
  | "pause"
  | "isolate"
  | "one-way"
  | "isolate-leader"
  | "bridge"
  | "slow"
  | "transfer"
  | "replace"
  | "power-cut"
  | "slow-disk";

export const FAULT_KINDS: readonly FaultKind[] = [
  "kill", "pause", "isolate", "one-way", "isolate-leader", "bridge", "slow", "transfer", "replace", "power-cut", "slow-disk",
];

export interface NemesisOptions {
  cluster: TestCluster;
  random: () => number;
  /** Which faults to draw from (default: all). */
  kinds?: readonly FaultKind[];
  /** How long a fault is held, ms: drawn between these. */
  holdMs: [number, number];
  /** Quiet time between faults, ms: drawn between these. */
  quietMs: [number, number];
  /** Each line of the schedule as it happens. */
  log: (line: string) => void;
}

export interface NemesisReport {
  faults: Record<string, number>;
  schedule: string[];
}

/** Undoes a fault. */
type Heal = () => void | Promise<void>;

/** How long disks lag before a power cut that has them lag, ms. */
const POWER_CUT_LAG_MS = 400;

const names = (ms: readonly ClusterMember[]) => `{${ms.map((m) => m.name).join(",")}}`;

/** A member's id as its peers send it (hex), from its status. */
async function memberId(cluster: TestCluster, m: ClusterMember): Promise<string | undefined> {
  const s = await cluster.status(m);
  return s && BigInt(s.memberId).toString(16);
}

export class Nemesis {
  readonly #opts: NemesisOptions;
  readonly #started = performance.now();
  readonly #report: NemesisReport = { faults: {}, schedule: [] };
  readonly #ids = new Map<ClusterMember, string>();
  #stopping = false;
  #running: Promise<void> | undefined;

  constructor(opts: NemesisOptions) {
    this.#opts = opts;
  }

  /** Learns the members' ids (needed to cut by sender), then injects faults until stop(). */
  async start(): Promise<void> {
    for (const m of this.#opts.cluster.members) {
      const id = await memberId(this.#opts.cluster, m);
      if (!id) throw new Error(`nemesis: ${m.name} does not answer its status`);
      this.#ids.set(m, id);
    }
    this.#running = this.#loop();
  }

  /** Stops after the fault in hand is healed; every member is running and every link whole after. */
  async stop(): Promise<NemesisReport> {
    this.#stopping = true;
    await this.#running;
    return this.#report;
  }

  #note(line: string): void {
    const text = `t=${((performance.now() - this.#started) / 1000).toFixed(1)}s ${line}`;
    this.#report.schedule.push(text);
    this.#opts.log(text);
  }

  #draw([lo, hi]: [number, number]): number {
    return lo + Math.floor(this.#opts.random() * (hi - lo + 1));
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#opts.random() * xs.length)];
  }

  /** Waits `ms`, or less once stopping. */
  async #hold(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.#stopping && performance.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - performance.now())));
  }

  async #loop(): Promise<void> {
    const kinds = this.#opts.kinds ?? FAULT_KINDS;
    while (!this.#stopping) {
      await this.#hold(this.#draw(this.#opts.quietMs));
      if (this.#stopping) break;
      const kind = this.#pick(kinds);
      this.#report.faults[kind] = (this.#report.faults[kind] ?? 0) + 1;
      const heal = await this.#inject(kind);
      await this.#hold(this.#draw(this.#opts.holdMs));
      await heal();
      this.#note("healed");
    }
  }

  /** Applies one fault; answers how to heal it. */
  async #inject(kind: FaultKind): Promise<Heal> {
    const { cluster } = this.#opts;
    const members = cluster.members;
    const victim = this.#pick(members);
    switch (kind) {
      case "kill": {
        this.#note(`kill -9 ${victim.name}`);
        await cluster.kill9(victim);
        return async () => {
          this.#note(`restart ${victim.name}`);
          await this.#restart(victim);
        };
      }
      case "pause": {
        this.#note(`SIGSTOP ${victim.name}`);
        cluster.pause(victim);
        return () => {
          this.#note(`SIGCONT ${victim.name}`);
          cluster.resume(victim);
        };
      }
      case "isolate":
        return this.#partition([victim], members.filter((m) => m !== victim), true, "isolate");
      case "isolate-leader": {
        const leader = await cluster.leader(3_000).catch(() => victim);
        return this.#partition([leader], members.filter((m) => m !== leader), true, "isolate the leader");
      }
      case "one-way": {
        const to = this.#pick(members.filter((m) => m !== victim));
        return this.#partition([victim], [to], false, "one-way cut");
      }
      case "bridge": {
        const others = members.filter((m) => m !== victim);
        const half = Math.max(1, Math.floor(others.length / 2));
        return this.#partition(others.slice(0, half), others.slice(half), true, `bridge through ${victim.name}:`);
      }
      case "slow": {
        const delayMs = this.#draw([20, 150]);
        this.#note(`slow ${victim.name}'s peer links by ${delayMs} ms`);
        victim.proxy!.delay(delayMs);
        return () => victim.proxy!.delay(0);
      }
      case "transfer": {
        const leader = await cluster.leader(3_000).catch(() => undefined);
        // Drawn whoever leads, so the draws that follow are the same in a replay.
        const to = this.#pick(members.filter((m) => m !== leader));
        if (!leader || !to) {
          this.#note("transfer leadership: no leader to move");
          return () => {};
        }
        this.#note(`transfer leadership ${leader.name} → ${to.name}`);
        await fetch(`${leader.clientUrl}/v3/maintenance/transfer-leadership`, {
          method: "POST", body: JSON.stringify({ targetID: BigInt(`0x${this.#ids.get(to)}`).toString() }), signal: AbortSignal.timeout(5_000),
        }).then((r) => r.arrayBuffer()).catch(() => undefined);
        return () => {};
      }
      case "replace":
        return await this.#replace(victim);
      case "power-cut": {
        // Every member, or a majority that the victim is left out of: either can elect without the rest.
        const all = this.#opts.random() < 0.5;
        const cut = all ? members : members.filter((m) => m !== victim).slice(0, Math.floor(members.length / 2) + 1);
        // Half the time the disks of all but one member (the leader, half of those times) lag first,
        // with writes flowing, so members differ in what they made durable when the power fails.
        const [lags, spareLeader, lagMs] = [this.#opts.random() < 0.5, this.#opts.random() < 0.5, this.#draw([50, 150])];
        let lagging: ClusterMember[] = [];
        if (lags) {
          const spare = spareLeader ? await cluster.leader(3_000).catch(() => victim) : victim;
          lagging = members.filter((m) => m !== spare);
          this.#note(`slow the disks of ${names(lagging)} by ${lagMs} ms per fsync`);
          for (const m of lagging) cluster.slowDisk(m, lagMs);
          await this.#hold(POWER_CUT_LAG_MS);
        }
        const lost = await cluster.powerCut(cut);
        for (const m of lagging) cluster.slowDisk(m, 0);
        this.#note(`power cut ${names(cut)}: unsynced writes undone — ${cut.map((m, i) => `${m.name} ${lost[i].bytes} bytes in ${lost[i].files} files`).join(", ")}`);
        return async () => {
          this.#note(`power back ${names(cut)}`);
          await Promise.all(cut.map((m) => this.#restart(m)));
          // A cluster without power elects before it serves: the quiet time after is time to serve.
          await cluster.leader(15_000).catch(() => this.#note("no leader 15 s after the power came back"));
        };
      }
      case "slow-disk": {
        const delayMs = this.#draw([20, 200]);
        this.#note(`slow ${victim.name}'s disk: each fsync ${delayMs} ms longer`);
        cluster.slowDisk(victim, delayMs);
        return () => cluster.slowDisk(victim, 0);
      }
    }
  }

  /**
   * Starts a member again; one that does not come up (its data dir damaged, say) is noted, not
   * thrown: the checks after the faults report a member or a cluster that does not answer.
   */
  async #restart(m: ClusterMember): Promise<void> {
    await this.#opts.cluster.restart(m).catch((e: Error) => this.#note(`${m.name} did not start again: ${e.message.slice(0, 300)}`));
  }

  /**
   * Removes `victim` from the cluster (through the leader, as an operator would); the heal adds it
   * back under a new id with an empty data dir, so it joins from a snapshot. A removal that does
   * not go through (no leader) is noted and healed by restarting nothing.
   */
  async #replace(victim: ClusterMember): Promise<Heal> {
    const { cluster } = this.#opts;
    const leader = await cluster.leader(3_000).catch(() => undefined);
    const id = this.#ids.get(victim)!;
    this.#note(`remove ${victim.name} (${id}) from the cluster`);
    const answer = leader && await untilHealthy(() => clusterCall(leader, "/v3/cluster/member/remove", { ID: BigInt(`0x${id}`).toString() }));
    // No answer (a leader removing itself may not give one) is not "not done": ask who is a member.
    const removed = answer?.header ?? (answer === undefined && !(await memberIds(cluster)).includes(id));
    if (!removed) {
      this.#note(`remove ${victim.name}: not done (${JSON.stringify(removed)?.slice(0, 120)})`);
      return () => {};
    }
    return async () => {
      // A removed member stops itself once it learns of it; one cut off may never learn.
      await cluster.kill9(victim);
      cluster.wipe(victim);
      const at = await cluster.leader(15_000);
      this.#note(`add ${victim.name} back, empty`);
      const added = await untilHealthy(() => clusterCall(at, "/v3/cluster/member/add", { peerURLs: [victim.advertisedPeerUrl] }));
      // No answer: the add may have gone through; the member list says under which id.
      const newId = added?.member ? BigInt(added.member.ID).toString(16) : added === undefined ? await idByPeerUrl(at, victim.advertisedPeerUrl) : undefined;
      if (!newId) throw new Error(`nemesis: adding ${victim.name} back failed: ${JSON.stringify(added)}`);
      await cluster.join(victim);
      this.#ids.set(victim, newId);
    };
  }

  /** Cuts traffic from `a` to `b`, and from `b` to `a` unless one way; the heal restores every link. */
  #partition(a: readonly ClusterMember[], b: readonly ClusterMember[], bothWays: boolean, what: string): Heal {
    this.#note(`${what} ${names(a)} ${bothWays ? "<-/->" : "-/->"} ${names(b)}`);
    const cutTo = new Map<ClusterMember, Set<string>>();
    const cut = (from: readonly ClusterMember[], to: readonly ClusterMember[]) => {
      for (const t of to) {
        const senders = cutTo.get(t) ?? new Set<string>();
        for (const f of from) senders.add(this.#ids.get(f)!);
        cutTo.set(t, senders);
      }
    };
    cut(a, b);
    if (bothWays) cut(b, a);
    for (const [m, senders] of cutTo) m.proxy!.cut(senders);
    return () => {
      for (const m of cutTo.keys()) m.proxy!.cut([]);
    };
  }
}

/** A cluster call through `m`: the parsed answer, or undefined if it could not be had. */
async function clusterCall(m: ClusterMember, path: string, body: unknown): Promise<{ header?: unknown; member?: { ID: string } } | undefined> {
  const r = await fetch(`${m.clientUrl}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  return r ? await r.json().catch(() => undefined) : undefined;
}

/**
 * A membership call, tried again while etcd's rule refuses it ("unhealthy cluster": too few members
 * connected for five seconds, as just after a restart), as an operator would, for up to 15 s.
 */
async function untilHealthy(call: () => ReturnType<typeof clusterCall>): ReturnType<typeof clusterCall> {
  for (let attempt = 0;; attempt++) {
    const answer = await call();
    if (answer?.header || attempt === 30 || !JSON.stringify(answer ?? "").includes("unhealthy cluster")) return answer;
    await new Promise((r) => setTimeout(r, 500));
  }
}

type Listed = { ID: string; peerURLs?: string[] };

async function memberList(m: ClusterMember): Promise<Listed[] | undefined> {
  const r = await fetch(`${m.clientUrl}/v3/cluster/member/list`, { method: "POST", body: "{}", signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  return r?.ok ? ((await r.json()).members as Listed[] | undefined) ?? [] : undefined;
}

/** The members' ids (hex) as the leader lists them. */
async function memberIds(cluster: TestCluster): Promise<string[]> {
  const leader = await cluster.leader(10_000);
  return ((await memberList(leader)) ?? []).map((m) => BigInt(m.ID).toString(16));
}

/** The id (hex) of the member registered with `peerUrl`, as `m` lists them. */
async function idByPeerUrl(m: ClusterMember, peerUrl: string): Promise<string | undefined> {
  const found = (await memberList(m))?.find((x) => x.peerURLs?.includes(peerUrl));
  return found && BigInt(found.ID).toString(16);
}
