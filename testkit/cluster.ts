/**
 * Test support: a Concord cluster of real processes on 127.0.0.1 — start, kill -9, pause
 * (SIGSTOP), resume, restart, add members — and finding who leads, by asking the members. With
 * `proxies`, each member's peer port sits behind a PeerProxy whose address it advertises, so a
 * test can partition and slow the cluster. With `powerCuts` (Bun only), each member runs with
 * testkit/power_cut.ts's preload: it can lose power (kill -9, then every write no fsync covered
 * undone) and have a slow disk.
 *
 * Owns: ports, data dirs and flags of each member, and leaving no process or directory behind.
 * Never: asserts anything.
 */
import type { Json } from "./json.ts";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { PeerProxy } from "./peer_proxy.ts";
import { type DroppedWrites, dropUnsyncedWrites, powerCutEnv, setFsyncDelay } from "./power_cut.ts";
import { freePort, post, runConcordCommand, type Runtime, type ServerProcess, spawnConcord, tempDir } from "./processes.ts";

export interface ClusterMember {
  name: string;
  clientUrl: string;
  /** Where the member listens for peers. */
  peerUrl: string;
  /** Where peers reach it: its proxy's address with `proxies`, else peerUrl. */
  advertisedPeerUrl: string;
  proxy: PeerProxy | undefined;
  dataDir: string;
  /** Where the power cut preload keeps the member's undo logs, with `powerCuts`. */
  undoDir: string | undefined;
  process: ServerProcess | undefined;
  /** Everything the member printed, across restarts. */
  output: string;
  /** Where in `output` its current process began. */
  outputMark: number;
}

export interface Status {
  memberId: string;
  leader: string;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
  revision: number;
}

export class TestCluster {
  readonly members: ClusterMember[] = [];
  readonly token = `test-${Math.random().toString(36).slice(2)}`;
  readonly #root = tempDir("cluster");
  readonly #runtime: Runtime | undefined;
  readonly #extraFlags: string[];
  readonly #proxies: boolean;
  readonly #env: Record<string, string>;
  readonly #powerCuts: boolean;

  private constructor(runtime: Runtime | undefined, extraFlags: string[], proxies: boolean, env: Record<string, string>, powerCuts: boolean) {
    this.#runtime = runtime;
    this.#extraFlags = extraFlags;
    this.#proxies = proxies;
    this.#env = env;
    this.#powerCuts = powerCuts;
  }

  /**
   * Starts `size` members founding a new cluster; resolves once every one serves clients. `env`:
   * more variables for every member. `restoreFrom`: a backup each member's data dir is first
   * restored from, with `concord snapshot restore`.
   */
  static async start(
    size: number,
    opts: { runtime?: Runtime; flags?: string[]; proxies?: boolean; env?: Record<string, string>; powerCuts?: boolean; restoreFrom?: string } = {},
  ): Promise<TestCluster> {
    if (opts.powerCuts && (opts.runtime ?? process.env.CONCORD_TEST_RUNTIME ?? "bun") !== "bun") throw new Error("power cuts need members on Bun");
    const cluster = new TestCluster(opts.runtime, opts.flags ?? [], opts.proxies ?? false, opts.env ?? {}, opts.powerCuts ?? false);
    for (let i = 1; i <= size; i++) await cluster.#define(`m${i}`);
    if (opts.restoreFrom) {
      await Promise.all(cluster.members.map(async (m) => {
        const restored = await runConcordCommand([
          "snapshot", "restore", opts.restoreFrom!, "--name", m.name, "--data-dir", m.dataDir,
          "--initial-cluster", cluster.#initialCluster(cluster.members), "--initial-advertise-peer-urls", m.advertisedPeerUrl,
          "--initial-cluster-token", cluster.token,
        ], opts.runtime);
        if (restored.code !== 0) throw new Error(`restoring ${m.name} failed: ${restored.stderr}${restored.stdout}`);
      }));
    }
    await Promise.all(cluster.members.map((m) => cluster.#spawn(m, "new")));
    return cluster;
  }

  async #define(name: string): Promise<ClusterMember> {
    const [client, peer] = [await freePort(), await freePort()];
    const proxy = this.#proxies ? await PeerProxy.start(await freePort(), peer) : undefined;
    const m: ClusterMember = {
      name, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`,
      advertisedPeerUrl: `http://127.0.0.1:${proxy?.port ?? peer}`, proxy, dataDir: join(this.#root, name),
      undoDir: this.#powerCuts ? join(this.#root, `${name}.undo`) : undefined, process: undefined,
      output: "", outputMark: 0,
    };
    this.members.push(m);
    return m;
  }

  #initialCluster(members: ClusterMember[]): string {
    return members.map((m) => `${m.name}=${m.advertisedPeerUrl}`).join(",");
  }

  async #spawn(m: ClusterMember, state: "new" | "existing", initial = this.members, moreFlags: string[] = []): Promise<void> {
    m.outputMark = m.output.length;
    m.process = await spawnConcord({
      runtime: this.#runtime,
      url: m.clientUrl,
      dataDir: m.dataDir,
      removeDir: false,
      env: { ...this.#env, ...(m.undoDir ? powerCutEnv(m.dataDir, m.undoDir) : {}) },
      onOutput: (text) => {
        m.output += text;
        if (process.env.CONCORD_TEST_VERBOSE) process.stderr.write(text.replace(/^/gm, `${m.name} | `));
      },
      flags: [
        "--name", m.name, "--data-dir", m.dataDir,
        "--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl,
        "--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.advertisedPeerUrl,
        "--initial-cluster", this.#initialCluster(initial), "--initial-cluster-state", state,
        "--initial-cluster-token", this.token, ...this.#extraFlags, ...moreFlags,
      ],
    });
  }

  member(name: string): ClusterMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Members whose process runs (and is not paused). */
  running(): ClusterMember[] {
    return this.members.filter((m) => m.process && m.process.child.exitCode === null && m.process.child.signalCode === null);
  }

  async kill9(m: ClusterMember): Promise<void> {
    await m.process?.kill9();
    m.process = undefined;
  }

  /** Starts a stopped member again on its data dir; `moreFlags` for this start only. */
  async restart(m: ClusterMember, moreFlags: string[] = []): Promise<void> {
    await this.#spawn(m, "new", this.members, moreFlags);
  }

  /**
   * Cuts the power of `ms` at once (cluster made with `powerCuts`): kill -9 each, then undo every
   * write of theirs no fsync covered. Answers what each lost; restart them after.
   */
  async powerCut(ms: readonly ClusterMember[]): Promise<DroppedWrites[]> {
    await Promise.all(ms.map((m) => this.kill9(m)));
    return ms.map((m) => dropUnsyncedWrites(m.undoDir!));
  }

  /** Makes each fsync of `m`'s (cluster made with `powerCuts`) take `ms` longer; 0 restores its disk. */
  slowDisk(m: ClusterMember, ms: number): void {
    setFsyncDelay(m.undoDir!, ms);
  }

  pause(m: ClusterMember): void {
    m.process!.child.kill("SIGSTOP");
  }

  resume(m: ClusterMember): void {
    m.process!.child.kill("SIGCONT");
  }

  /** Defines a new member, to be added with member add, then started with `join`. */
  async define(name: string): Promise<ClusterMember> {
    return await this.#define(name);
  }

  /** Removes a member's data dir (its process must have ended): it can then join afresh. */
  wipe(m: ClusterMember): void {
    rmSync(m.dataDir, { recursive: true, force: true });
    if (m.undoDir) dropUnsyncedWrites(m.undoDir);
  }

  /** Starts a member added with member add, `--initial-cluster-state existing`. */
  async join(m: ClusterMember): Promise<void> {
    await this.#spawn(m, "existing");
  }

  async status(m: ClusterMember): Promise<Status | undefined> {
    try {
      const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1_000) });
      if (!r.ok) return undefined;
      const s = await r.json();
      return {
        memberId: s.header.member_id, leader: s.leader ?? "0", raftTerm: Number(s.raftTerm ?? 0), raftIndex: Number(s.raftIndex ?? 0),
        raftAppliedIndex: Number(s.raftAppliedIndex ?? 0), revision: Number(s.header.revision ?? 0),
      };
    } catch {
      return undefined;
    }
  }

  /**
   * The member that leads, once `among` (default: every running member) agree on one that is
   * itself among them; polls until `timeoutMs`, or until too many of them have stopped after a
   * storage failure for any to lead.
   */
  async leader(timeoutMs = 10_000, among = this.running()): Promise<ClusterMember> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const failed = among.filter(stoppedAfterStorageFailure);
      if (failed.length > 0 && among.length - failed.length <= this.members.length / 2) {
        throw new Error(`no leader: ${failed.map((m) => m.name).join(", ")} stopped after a storage failure`);
      }
      const statuses = await Promise.all(among.map((m) => this.status(m)));
      const leaders = new Set(statuses.map((s) => s?.leader));
      const leader = among.find((_, i) => statuses[i] && statuses[i]!.leader === statuses[i]!.memberId);
      if (leader && leaders.size === 1 && !leaders.has(undefined)) return leader;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader agreed on within ${timeoutMs} ms`);
  }

  /** Stops every member and removes the data dirs. */
  async close(): Promise<void> {
    for (const m of this.members) {
      if (m.process?.child.signalCode === null) m.process.child.kill("SIGCONT");
    }
    await Promise.all(this.members.map((m) => m.process?.kill9()));
    await Promise.all(this.members.map((m) => m.proxy?.close()));
    rmSync(this.#root, { recursive: true, force: true });
  }
}

/** Whether the member's current process said it stopped taking writes after a storage failure. */
export function stoppedAfterStorageFailure(m: ClusterMember): boolean {
  return m.output.indexOf("stopped taking writes after a storage failure", m.outputMark) >= 0;
}

/** A put through `url`: status and parsed body (undefined body on a network error). */
export async function put(url: string, key: string, value: string, timeoutMs = 5_000): Promise<{ status: number; body: Json } | undefined> {
  try {
    const r = await fetch(`${url}/v3/kv/put`, {
      method: "POST", body: JSON.stringify({ key: btoa(key), value: btoa(value) }), signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: r.status, body: await r.json() };
  } catch {
    return undefined;
  }
}

/** A range of one key through `url`: its value (null if absent), or undefined on an error. */
export async function get(url: string, key: string, opts: { serializable?: boolean; timeoutMs?: number } = {}): Promise<string | null | undefined> {
  try {
    const r = await fetch(`${url}/v3/kv/range`, {
      method: "POST", body: JSON.stringify({ key: btoa(key), serializable: opts.serializable ?? false }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
    });
    if (!r.ok) return undefined;
    const body = await r.json();
    return body.kvs?.[0]?.value !== undefined ? atob(body.kvs[0].value) : null;
  } catch {
    return undefined;
  }
}

export { post };
