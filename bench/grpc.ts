/**
 * `npm run bench:grpc`: Concord vs Debian's etcd 3.4.23 over gRPC, one load generator for both —
 * bench/grpc-bench (etcd's own Go client, clientv3, built with Debian's Go) — on one member and on
 * three (clients at the leader, and spread over the members: clientv3 given every endpoint), alternating in the same run on the same machine (etcd, Concord,
 * Concord, etcd; averaged). Beside throughput and latency it reports the members' CPU time per
 * operation (all member processes together, from /proc/PID/stat), the figure that shows where a
 * change helped on two shared cores. Nothing else should run on the machine meanwhile.
 *
 * Flags: --seconds N (per measurement, default 5), --clients 1,16,64,256, --workloads
 * put,txn,range,lease-grant, --members 1,3, --shapes leader,spread (spread: on three members only).
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { TestCluster } from "../testkit/cluster.ts";
import { GO_CACHE_DIR } from "../testkit/go_programs.ts";
import { ROOT, type ServerProcess, startConcord, startEtcd, startEtcdCluster } from "../testkit/processes.ts";
import { cpuSeconds } from "./cpu.ts";
import { flag } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "1,16,64,256").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,txn,range,lease-grant").split(",").sort((a, b) => Number(a === "lease-grant") - Number(b === "lease-grant"));
const MEMBERS = flag("members", "1,3").split(",").map(Number);
const SHAPES = flag("shapes", "leader,spread").split(",") as Shape[];
type Shape = "leader" | "spread";
/** gRPC connections the generator's clients share (clientv3 multiplexes calls on a connection). */
const CONNECTIONS = 8;

type Result = { ops_per_s: number; p50_ms: number; p99_ms: number; errors: number; ops: number; cpuUsPerOp: number };

function build(): string {
  return execFileSync("bash", [join(ROOT, "bench", "grpc-bench", "build.sh"), join(ROOT, ".test-artifacts", "grpc-bench")], {
    encoding: "utf8",
    env: { ...process.env, GOCACHE: GO_CACHE_DIR },
  }).trim();
}

function runLoad(bin: string, endpoint: string, workload: string, clients: number, seconds: number, pids: number[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const args = ["-e", endpoint, "-w", workload, "-c", String(clients), "-conns", String(Math.min(CONNECTIONS, clients)), "-d", `${seconds}s`, "-warmup", "1s"];
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    // The generator preloads (range, txn) and warms up before it measures: the servers' CPU is
    // counted between its "measuring" and "measured" lines, so neither is charged to the operations.
    let cpuStart: number | undefined;
    let cpuEnd: number | undefined;
    const cpuNow = () => pids.reduce((s, p) => s + cpuSeconds(p), 0);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
      if (cpuStart === undefined && /^measuring$/m.test(err)) cpuStart = cpuNow();
      if (cpuEnd === undefined && /^measured$/m.test(err)) cpuEnd = cpuNow();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 120) * 1000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const cpu = (cpuEnd ?? 0) - (cpuStart ?? 0);
      if (code !== 0) return reject(new Error(`grpc-bench ${args.join(" ")} exited ${code}: ${err}`));
      const r = JSON.parse(out.trim().split("\n").pop()!) as Result;
      resolve({ ...r, cpuUsPerOp: r.ops > 0 ? (cpu * 1e6) / r.ops : 0 });
    });
  });
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mean = (a: Result, b: Result): Result => ({
  ops_per_s: (a.ops_per_s + b.ops_per_s) / 2, p50_ms: (a.p50_ms + b.p50_ms) / 2, p99_ms: (a.p99_ms + b.p99_ms) / 2,
  errors: a.errors + b.errors, ops: a.ops + b.ops, cpuUsPerOp: (a.cpuUsPerOp + b.cpuUsPerOp) / 2,
});

interface Side {
  /** The leader's endpoint, and every member's (the leader's first). */
  endpoint: string;
  spread: string;
  pids: number[];
  stop(): Promise<void>;
}

async function etcdSide(members: number): Promise<Side> {
  if (members === 1) {
    const e = await startEtcd("bench-grpc-etcd");
    const endpoint = e.url.replace("http://", "");
    return { endpoint, spread: endpoint, pids: [e.child.pid!], stop: () => e.stop() };
  }
  const servers: ServerProcess[] = await startEtcdCluster(members);
  // The leader is the member whose status names itself.
  let leader = servers[0];
  for (const s of servers) {
    const status = await (await fetch(`${s.url}/v3/maintenance/status`, { method: "POST", body: "{}" })).json();
    if (status.leader === status.header.member_id) leader = s;
  }
  const all = [leader, ...servers.filter((s) => s !== leader)].map((s) => s.url.replace("http://", "")).join(",");
  return { endpoint: leader.url.replace("http://", ""), spread: all, pids: servers.map((s) => s.child.pid!), stop: () => Promise.all(servers.map((s) => s.stop())).then(() => {}) };
}

async function concordSide(members: number): Promise<Side> {
  if (members === 1) {
    const c = await startConcord({ name: "bench-grpc" });
    const endpoint = c.url.replace("http://", "");
    return { endpoint, spread: endpoint, pids: [c.child.pid!], stop: () => c.stop() };
  }
  const cluster = await TestCluster.start(members);
  const leader = await cluster.leader();
  const all = [leader, ...cluster.members.filter((m) => m !== leader)].map((m) => m.clientUrl.replace("http://", "")).join(",");
  return {
    endpoint: leader.clientUrl.replace("http://", ""),
    spread: all,
    pids: cluster.members.map((m) => m.process!.child.pid!),
    stop: () => cluster.close(),
  };
}

const bin = build();
console.log(`bench:grpc: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients on ${MEMBERS.join(" and ")} member(s), ${SECONDS} s each, load from ${bin}`);
const tables: string[] = [];
// Fresh members for every shape: what one shape's runs leave behind (lease-grant's leases above
// all) must not weigh on the next. Lease-grant runs last within a shape for the same reason.
for (const members of MEMBERS) {
  for (const shape of SHAPES.filter((s) => s === "leader" || members > 1)) {
    const etcd = await etcdSide(members);
    const concord = await concordSide(members);
    try {
      for (const workload of WORKLOADS) {
        for (const clients of CLIENTS) {
          const measure = async (side: Side) => {
            await new Promise((r) => setTimeout(r, 1_000)); // the last run's disk writes drain
            return runLoad(bin, shape === "leader" ? side.endpoint : side.spread, workload, clients, SECONDS, side.pids);
          };
          const e1 = await measure(etcd);
          const c1 = await measure(concord);
          const c2 = await measure(concord);
          const e2 = await measure(etcd);
          const [e, c] = [mean(e1, e2), mean(c1, c2)];
          const ratio = c.ops_per_s / e.ops_per_s;
          console.log(`bench:grpc ${members} member(s), clients at ${shape}, ${workload} × ${clients}: etcd ${fmt(e.ops_per_s)}/s p99 ${fmt(e.p99_ms, 1)} ms ` +
            `(${e.errors} errors, ${fmt(e.cpuUsPerOp)} µs CPU/op), concord ${fmt(c.ops_per_s)}/s p99 ${fmt(c.p99_ms, 1)} ms ` +
            `(${c.errors} errors, ${fmt(c.cpuUsPerOp)} µs CPU/op) → ${fmt(ratio, 2)}x`);
          tables.push(`| ${members} | ${shape} | ${workload} | ${clients} | ${fmt(e.ops_per_s)} | ${fmt(c.ops_per_s)} | **${fmt(ratio, 2)}x** | ` +
            `${fmt(e.p99_ms, 1)} | ${fmt(c.p99_ms, 1)} | ${fmt(e.cpuUsPerOp)} | ${fmt(c.cpuUsPerOp)} |`);
        }
      }
    } finally {
      await Promise.all([etcd.stop(), concord.stop()]);
    }
  }
}
console.log("\n| members | clients at | workload | clients | etcd ops/s | Concord ops/s | ratio | etcd p99 ms | Concord p99 ms | etcd CPU µs/op | Concord CPU µs/op |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of tables) console.log(r);
