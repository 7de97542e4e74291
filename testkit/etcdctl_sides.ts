/**
 * Test support: one side of an etcdctl differential session — a fresh etcd 3.4 or a fresh Concord,
 * of one member or three, and a fourth member to add — with its members named the same way on
 * both sides (`<ep1>`, `<peer1>`, `<name1>`, `<member1>`, `<cluster1>`), asked over HTTP what
 * etcdctl cannot wait on (watchers started, the leader, every member caught up).
 *
 * Owns: the processes of a side, their ports and data dirs, and leaving none behind. Never:
 * runs etcdctl (etcdctl_session.ts does) or asserts anything.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { type ClusterMember, TestCluster } from "./cluster.ts";
import type { EtcdctlProcess } from "./etcdctl.ts";
import { Names } from "./etcdctl_normalise.ts";
import type { Json } from "./json.ts";
import { ETCD_BINARY, freePort, type ServerProcess, startConcord, startEtcd, startEtcdCluster, tempDir } from "./processes.ts";

export type Flavour = "etcd" | "concord";

interface Member {
  clientUrl: string;
  peerUrl: string;
  name: string;
  /** Stops its process; undefined once stopped (or never started). */
  stop?: () => Promise<void>;
}

export interface Background {
  process: EtcdctlProcess;
  member: number;
  watchersBefore: number;
}

const hostPort = (url: string) => url.replace(/^https?:\/\//, "");
const WAIT_MS = 20_000;

async function call(url: string, path: string, body: unknown = {}): Promise<Json | undefined> {
  try {
    const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(2_000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `fn` every 25 ms until it answers true; false past `timeoutMs`. */
async function until(timeoutMs: number, fn: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A joining etcd member (`--initial-cluster-state existing`), ready once it answers status. */
async function startEtcdMember(m: Member, initialCluster: string): Promise<() => Promise<void>> {
  const dataDir = tempDir("etcd");
  const child: ChildProcess = spawn(ETCD_BINARY, [
    "--name", m.name, "--data-dir", dataDir,
    "--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl,
    "--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.peerUrl,
    "--initial-cluster", initialCluster, "--initial-cluster-state", "existing", "--log-level", "error",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on("exit", () => child.kill("SIGKILL"));
  if (!(await until(WAIT_MS, async () => child.exitCode === null && (await call(m.clientUrl, "/v3/maintenance/status")) !== undefined))) {
    await kill();
    throw new Error(`etcd ${m.name} did not answer within ${WAIT_MS} ms:\n${output}`);
  }
  return kill;
}

export class Side {
  readonly names = new Names();
  readonly cwd = tempDir("etcdctl");
  readonly background = new Map<string, Background>();
  readonly #members: Member[] = [];
  readonly #cluster: TestCluster | undefined;
  readonly #defined = new Map<number, ClusterMember>();

  private constructor(readonly label: string, cluster: TestCluster | undefined) {
    this.#cluster = cluster;
  }

  /** A fresh side of `size` members, named, led by member 1; nothing left running if it fails. */
  static async open(label: string, flavour: Flavour, size: 1 | 3): Promise<Side> {
    let side: Side | undefined;
    try {
      if (flavour === "concord" && size === 3) {
        const cluster = await TestCluster.start(3);
        side = new Side(label, cluster);
        for (const m of cluster.members) side.#members.push({ clientUrl: m.clientUrl, peerUrl: m.peerUrl, name: m.name, stop: () => cluster.kill9(m) });
      } else {
        side = new Side(label, undefined);
        const servers: ServerProcess[] = flavour === "etcd" ? (size === 1 ? [await startEtcd("solo")] : await startEtcdCluster(3)) : [await startConcord({ name: "solo" })];
        for (const s of servers) side.#members.push({ clientUrl: s.url, peerUrl: "", name: "", stop: () => s.stop() });
      }
      await side.#learnMembers();
      if (size > 1) await side.lead(1);
      return side;
    } catch (e) {
      await side?.close();
      throw e;
    }
  }

  /** Names each member's endpoint, peer URL, name and id by its place, and the cluster's id. */
  async #learnMembers(): Promise<void> {
    // A member is listed without client URLs until it has published them (through the log).
    let list: Json | undefined;
    const published = await until(WAIT_MS, async () => {
      list = await call(this.#members[0].clientUrl, "/v3/cluster/member/list");
      return list?.members?.length === this.#members.length && list.members.every((x: Json) => x.clientURLs?.length);
    });
    if (!published) throw new Error(`${this.label}: members not all published within ${WAIT_MS} ms: ${JSON.stringify(list)}`);
    this.names.id("cluster", list.header.cluster_id);
    for (const [i, m] of this.#members.entries()) {
      const listed = list.members.find((x: Json) => x.clientURLs?.includes(m.clientUrl));
      if (!listed) throw new Error(`${this.label}: ${m.clientUrl} is not in the member list ${JSON.stringify(list)}`);
      m.peerUrl = listed.peerURLs[0];
      m.name = listed.name;
      this.#name(i + 1, m);
      this.names.id("member", listed.ID);
    }
  }

  #name(n: number, m: Member): void {
    this.names.alias(hostPort(m.clientUrl), `ep${n}`);
    this.names.alias(hostPort(m.peerUrl), `peer${n}`);
    this.names.alias(m.name, `name${n}`);
  }

  endpoint(n: number): string {
    return hostPort(this.#member(n).clientUrl);
  }

  #member(n: number): Member {
    const m = this.#members[n - 1];
    if (!m) throw new Error(`${this.label}: no member ${n}`);
    return m;
  }

  async status(n: number): Promise<{ id: string; leader: string; revision: string } | undefined> {
    const s = await call(this.#member(n).clientUrl, "/v3/maintenance/status");
    return s && { id: s.header.member_id, leader: s.leader ?? "0", revision: s.header.revision };
  }

  /** etcd_debugging_mvcc_watcher_total of member `n`. */
  async watchers(n: number): Promise<number> {
    try {
      const text = await (await fetch(`${this.#member(n).clientUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? NaN);
    } catch {
      return NaN;
    }
  }

  awaitWatchers(n: number, holds: (count: number) => boolean, timeoutMs: number): Promise<boolean> {
    return until(timeoutMs, async () => holds(await this.watchers(n)));
  }

  /** Members `among` all answer status and agree that member `n` leads. */
  async #ledBy(n: number, among: number[]): Promise<boolean> {
    const statuses = await Promise.all(among.map((i) => this.status(i)));
    const id = (await this.status(n))?.id;
    return id !== undefined && statuses.every((s) => s?.leader === id);
  }

  /** Moves leadership to member `n` (over HTTP) unless it leads, and waits until all agree. */
  async lead(n: number, among = [1, 2, 3]): Promise<void> {
    const ok = await until(WAIT_MS, async () => {
      if (await this.#ledBy(n, among)) return true;
      const leaderId = (await this.status(among[0]))?.leader;
      const leader = among.find((i) => this.names.apply(leaderId ?? "") === `<member${i}>`);
      const target = (await this.status(n))?.id;
      if (leader !== undefined && target !== undefined) {
        await call(this.#member(leader).clientUrl, "/v3/maintenance/transfer-leadership", { targetID: target });
      }
      return false;
    });
    if (!ok) throw new Error(`${this.label}: member ${n} not leading within ${WAIT_MS} ms`);
  }

  /** Waits until members `among` report the same revision (a write is applied everywhere). */
  async caughtUp(among: number[]): Promise<string> {
    const ok = await until(WAIT_MS, async () => {
      const revisions = await Promise.all(among.map(async (i) => (await this.status(i))?.revision));
      return revisions[0] !== undefined && revisions.every((r) => r === revisions[0]);
    });
    if (!ok) throw new Error(`members ${among.join(", ")} not at one revision within ${WAIT_MS} ms`);
    return "caught up";
  }

  /** Waits until member `n` reports no leader. */
  async leaderless(n: number): Promise<string> {
    const ok = await until(WAIT_MS, async () => (await this.status(n))?.leader === "0");
    if (!ok) throw new Error(`member ${n} still has a leader after ${WAIT_MS} ms`);
    return "no leader";
  }

  /** Member `n`'s ports and name, chosen and named but not started (for `member add`). */
  async define(n: number): Promise<void> {
    if (this.#members[n - 1]) throw new Error(`${this.label}: member ${n} exists`);
    let m: Member;
    if (this.#cluster) {
      const defined = await this.#cluster.define(`m${n}`);
      this.#defined.set(n, defined);
      m = { clientUrl: defined.clientUrl, peerUrl: defined.peerUrl, name: defined.name };
    } else {
      const [client, peer] = [await freePort(), await freePort()];
      m = { clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, name: `etcd${n}` };
    }
    this.#members[n - 1] = m;
    this.#name(n, m);
  }

  /** Starts member `n` (added with `member add`), joining the running cluster. */
  async start(n: number): Promise<string> {
    const m = this.#member(n);
    const defined = this.#defined.get(n);
    if (this.#cluster && defined) {
      await this.#cluster.join(defined);
      m.stop = () => this.#cluster!.kill9(defined);
    } else {
      const initial = this.#members.filter((x) => x.stop || x === m).map((x) => `${x.name}=${x.peerUrl}`).join(",");
      m.stop = await startEtcdMember(m, initial);
    }
    return "started";
  }

  async stop(n: number): Promise<string> {
    const m = this.#member(n);
    const stop = m.stop;
    m.stop = undefined;
    await stop?.();
    return "stopped";
  }

  async close(): Promise<void> {
    await Promise.all([...this.background.values()].map((b) => b.process.stop("SIGKILL")));
    this.background.clear();
    await Promise.all(this.#members.map((m) => m.stop?.().catch(() => {})));
    await this.#cluster?.close();
    rmSync(this.cwd, { recursive: true, force: true });
  }
}
