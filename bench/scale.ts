/**
 * `npm run bench:scale`: a big data set on 3 members, etcd 3.4 (Debian's) and Concord one after the
 * other on the same machine: load --keys keys of --value-bytes (1,000,000 × 1,000 by default: ~1
 * GiB), then put and range throughput with 64 clients spread over the members, each member's
 * resident memory, the time a new member takes to catch up by snapshot while 8 clients keep
 * writing — with the leader changes seen meanwhile (the goal: none) — and the time a restarted
 * follower takes to serve again. Both sides run with --snapshot-count 5000, so the new member needs a snapshot,
 * and with --strict-reconfig-check=false, so a short run's member add need not wait for the members
 * to have been connected 5 s.
 * Nothing else should run on the machine.
 *
 * Flags: --keys N, --value-bytes N, --seconds N (per throughput measurement, default 10),
 * --sides etcd,concord.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TestCluster } from "../testkit/cluster.ts";
import { ETCD_BINARY, freePort, tempDir } from "../testkit/processes.ts";
import { runLoad } from "./load.ts";
import { flag } from "./workloads.ts";

const KEYS = Number(flag("keys", "1000000"));
const VALUE_BYTES = Number(flag("value-bytes", "1000"));
const SECONDS = Number(flag("seconds", "10"));
const SIDES = flag("sides", "etcd,concord").split(",");
const PUTS_PER_TXN = 100;
const LOAD_CLIENTS = 16;
const CATCH_UP_MS_MAX = 600_000;
/** A pause before each measurement for the last one's disk writes to drain (shorter for short runs). */
const SETTLE_MS = Math.min(2_000, SECONDS * 200);
const QUOTA = String(8 * 1024 ** 3);
const SNAPSHOT_COUNT = "5000";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const VALUE = b64("v".repeat(VALUE_BYTES));
const keyOf = (n: number) => b64(`scale/${String(n).padStart(8, "0")}`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the benchmark needs of a 3-member cluster, whichever it is. */
interface Side {
  name: string;
  urls(): string[];
  pids(): number[];
  /** Kills a follower and starts it again on its data dir; resolves once it has been spawned. */
  restartFollower(): Promise<string>;
  /** Adds a member (member add, then started to join); its client URL. */
  addMember(): Promise<string>;
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any -- etcd's JSON answers, read field by field
async function json(url: string, path: string, body: unknown = {}): Promise<Record<string, any>> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return await r.json();
}

/** Member add, asked until the cluster takes it (a leader may be changing). */
async function addMember(side: Side, peerUrl: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    // deno-lint-ignore no-explicit-any -- etcd's JSON answer
    const answer: Record<string, any> = await json(await leaderUrl(side), "/v3/cluster/member/add", { peerURLs: [peerUrl] }).catch((e) => ({ error: String(e) }));
    if (answer.member) return;
    if (tries >= 60) throw new Error(`member add refused: ${JSON.stringify(answer)}`);
    await sleep(500);
  }
}

/** etcd's processes, killed when the benchmark ends however it ends. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

async function healthyWithin(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ok) return true;
    await sleep(10);
  }
  return false;
}

async function leaderUrl(side: Side): Promise<string> {
  for (let i = 0; i < 200; i++) {
    for (const url of side.urls()) {
      const s = await json(url, "/v3/maintenance/status").catch(() => undefined);
      if (s?.leader && s.leader === s.header?.member_id) return url;
    }
    await sleep(50);
  }
  throw new Error("no leader");
}

async function leaderChanges(urls: string[]): Promise<number> {
  const seen = await Promise.all(urls.map(async (url) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^etcd_server_leader_changes_seen_total (\S+)$/m.exec(text)?.[1] ?? 0);
  }));
  return Math.max(...seen);
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function etcdSide(): Promise<Side> {
  const root = tempDir("scale-etcd");
  mkdirSync(root, { recursive: true });
  type M = { name: string; client: string; peer: string; dir: string; child?: ChildProcess };
  const members: M[] = [];
  const define = async (name: string) => {
    const m = { name, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}`, dir: join(root, name) };
    members.push(m);
    return m;
  };
  const start = (m: M, state: "new" | "existing") => {
    m.child = spawn(ETCD_BINARY, [
      "--name", m.name, "--data-dir", m.dir, "--listen-client-urls", m.client, "--advertise-client-urls", m.client,
      "--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
      "--initial-cluster", members.map((x) => `${x.name}=${x.peer}`).join(","), "--initial-cluster-state", state,
      "--initial-cluster-token", "scale", "--quota-backend-bytes", QUOTA, "--snapshot-count", SNAPSHOT_COUNT, "--strict-reconfig-check=false", "--log-level", "error",
    ], { stdio: ["ignore", "ignore", openSync(`${m.dir}.log`, "a")] });
    children.add(m.child);
    m.child.once("exit", () => children.delete(m.child!));
  };
  for (const name of ["e1", "e2", "e3"]) await define(name);
  for (const m of members) start(m, "new");
  for (const m of members) if (!await healthyWithin(m.client, 30_000)) throw new Error(`${m.name} did not start`);
  const stop = async (m: M) => {
    if (!m.child || m.child.exitCode !== null || m.child.signalCode !== null) return;
    const exited = new Promise((r) => m.child!.once("exit", r));
    m.child.kill("SIGKILL");
    await exited;
  };
  const side: Side = {
    name: "etcd",
    urls: () => members.map((m) => m.client),
    pids: () => members.flatMap((m) => m.child?.pid ?? []),
    async restartFollower() {
      const leader = await leaderUrl(side);
      const m = members.find((x) => x.client !== leader)!;
      await stop(m);
      start(m, "new");
      return m.client;
    },
    async addMember() {
      const m = await define(`e${members.length + 1}`);
      await addMember(side, m.peer);
      start(m, "existing");
      return m.client;
    },
    async close() {
      await Promise.all(members.map(stop));
      rmSync(root, { recursive: true, force: true });
    },
  };
  return side;
}

async function concordSide(): Promise<Side> {
  const cluster = await TestCluster.start(3, { flags: ["--quota-backend-bytes", QUOTA, "--snapshot-count", SNAPSHOT_COUNT, "--strict-reconfig-check=false"] });
  await cluster.leader();
  const side: Side = {
    name: "concord",
    urls: () => cluster.members.map((m) => m.clientUrl),
    pids: () => cluster.members.flatMap((m) => m.process?.child.pid ?? []),
    async restartFollower() {
      const leader = await cluster.leader();
      const m = cluster.members.find((x) => x !== leader)!;
      await cluster.kill9(m);
      const restarting = cluster.restart(m);
      void restarting.catch(() => {});
      return m.clientUrl;
    },
    async addMember() {
      const m = await cluster.define(`m${cluster.members.length + 1}`);
      await addMember(side, m.advertisedPeerUrl);
      void cluster.join(m).catch(() => {});
      return m.clientUrl;
    },
    close: () => cluster.close(),
  };
  return side;
}

async function load(side: Side): Promise<number> {
  const urls = side.urls();
  const started = performance.now();
  let next = 0;
  let lastShown = 0;
  await Promise.all(Array.from({ length: LOAD_CLIENTS }, async (_, c) => {
    while (next < KEYS) {
      const from = next;
      next = Math.min(KEYS, next + PUTS_PER_TXN);
      const success = [];
      for (let k = from; k < next; k++) success.push({ request_put: { key: keyOf(k), value: VALUE } });
      const answer = await json(urls[c % urls.length], "/v3/kv/txn", { success });
      if (!answer.header) throw new Error(`load failed: ${JSON.stringify(answer)}`);
      if (next - lastShown >= KEYS / 10) {
        lastShown = next;
        console.log(`bench:scale ${side.name}: loaded ${fmt(next)} of ${fmt(KEYS)} keys`);
      }
    }
  }));
  return (performance.now() - started) / 1000;
}

async function measure(side: Side): Promise<Record<string, string>> {
  const row: Record<string, string> = {};
  console.log(`bench:scale ${side.name}: loading ${fmt(KEYS)} keys of ${fmt(VALUE_BYTES)} bytes …`);
  const loadSeconds = await load(side);
  row["load (keys/s)"] = fmt(KEYS / loadSeconds);
  const status = await json(await leaderUrl(side), "/v3/maintenance/status");
  row["db size (MiB)"] = fmt(Number(status.dbSize) / 1024 / 1024);
  await sleep(SETTLE_MS);
  const urls = side.urls();
  const put = await runLoad(urls, "/v3/kv/put", (c, i) => `{"key":"${keyOf((c * 7919 + i * 104729) % KEYS)}","value":"${VALUE}"}`, 64, SECONDS);
  row["put ops/s (64 clients)"] = fmt(put.opsPerSecond);
  row["put p99 ms"] = fmt(put.p99Ms, 1);
  await sleep(SETTLE_MS);
  const range = await runLoad(urls, "/v3/kv/range", (c, i) => `{"key":"${keyOf((c * 7919 + i * 104729) % KEYS)}"}`, 64, SECONDS);
  row["range ops/s (64 clients)"] = fmt(range.opsPerSecond);
  row["range p99 ms"] = fmt(range.p99Ms, 1);
  const rss = side.pids().map(rssMiB);
  row["memory per member (MiB RSS, max)"] = fmt(Math.max(...rss));
  console.log(`bench:scale ${side.name}: ${JSON.stringify(row)}`);

  // A new member catches up while 8 clients write; leader changes counted meanwhile.
  const changesBefore = await leaderChanges(urls);
  let writing = true;
  const writes = runLoad(
    urls, "/v3/kv/put", (c, i) => `{"key":"${keyOf((c * 104729 + i * 7919) % KEYS)}","value":"${VALUE}"}`, 8, CATCH_UP_MS_MAX / 1000, 10_000_000, {},
    () => !writing,
  );
  // Timed from its start: the cluster may refuse the add for a few seconds first (a member connected under 5 s).
  const newcomer = await side.addMember();
  const added = performance.now();
  let caughtUp = false;
  while (!caughtUp && performance.now() - added < CATCH_UP_MS_MAX) {
    const leaderRevision = Number((await json(await leaderUrl(side), "/v3/maintenance/status")).header.revision);
    await sleep(100);
    const mine = await json(newcomer, "/v3/maintenance/status").catch(() => undefined);
    caughtUp = mine?.header?.revision !== undefined && Number(mine.header.revision) >= leaderRevision;
  }
  const catchUpSeconds = (performance.now() - added) / 1000;
  const changes = await leaderChanges(urls) - changesBefore;
  row["new member caught up (s)"] = caughtUp ? fmt(catchUpSeconds, 1) : `not within ${CATCH_UP_MS_MAX / 1000} s`;
  row["leader changes during catch-up"] = String(changes);
  writing = false;
  const written = await writes;
  row["writes during catch-up (ops/s)"] = fmt(written.opsPerSecond);

  const restarted = performance.now();
  const follower = await side.restartFollower();
  if (!await healthyWithin(follower, 120_000)) throw new Error("the restarted follower did not serve within 120 s");
  row["follower restart to healthy (s)"] = fmt((performance.now() - restarted) / 1000, 2);
  return row;
}

const results: Record<string, Record<string, string>> = {};
for (const name of SIDES) {
  console.log(`bench:scale: starting 3 ${name} members …`);
  const side = name === "etcd" ? await etcdSide() : await concordSide();
  try {
    results[name] = await measure(side);
  } finally {
    await side.close();
  }
}
const rows = Object.keys(results[SIDES[0]]);
console.log(`\n| ${fmt(KEYS)} keys × ${fmt(VALUE_BYTES)} B, 3 members | ${SIDES.join(" | ")} |\n|---|${SIDES.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r} | ${SIDES.map((s) => results[s][r]).join(" | ")} |`);
