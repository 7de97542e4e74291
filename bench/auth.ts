/**
 * `npm run bench:auth`: what auth costs. Put and range over the JSON gateway with auth off and
 * with auth on (simple tokens; the clients log in as a user whose role may read and write the
 * benchmark's keys — not root, whose requests skip the permission check), on one Concord member
 * each (on Bun) and, for scale, on one etcd 3.4.23 member each. Each pair is measured twice in the
 * order off, on, on, off and averaged; beside throughput it reports the member's CPU time per
 * operation (/proc/PID/stat). Nothing else should run on the machine meanwhile.
 *
 * Flags: --seconds N (per measurement, default 5), --clients 16,64, --workloads put,range.
 */
import { type ServerProcess, startConcord, startEtcd } from "../testkit/processes.ts";
import { cpuSeconds } from "./cpu.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { flag, KEY_SPACE, preload, workloads } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "16,64").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,range").split(",");
/** A pause before each measurement for the last one's disk writes to drain: a second, or a fifth of a short measurement. */
const SETTLE_MS = Math.min(1_000, SECONDS * 200);

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function post(url: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {} });
  const answer = await r.json();
  if (r.status !== 200) throw new Error(`${path}: ${JSON.stringify(answer)}`);
  return answer;
}

/** Turns auth on with a user who may read and write every benchmark key; answers that user's token. */
async function authOn(url: string): Promise<string> {
  await post(url, "/v3/auth/user/add", { name: "root", password: "rootpw" });
  await post(url, "/v3/auth/user/grant", { user: "root", role: "root" });
  await post(url, "/v3/auth/role/add", { name: "bench" });
  await post(url, "/v3/auth/role/grant", { name: "bench", perm: { permType: "READWRITE", key: b64("bench/"), range_end: b64("bench0") } });
  await post(url, "/v3/auth/user/add", { name: "bench", password: "benchpw" });
  await post(url, "/v3/auth/user/grant", { user: "bench", role: "bench" });
  await post(url, "/v3/auth/enable", {});
  return (await post(url, "/v3/auth/authenticate", { name: "bench", password: "benchpw" })).token as string;
}

type Measured = LoadResult & { cpuUsPerOp: number };

async function measure(server: ServerProcess, workload: string, clients: number, token?: string): Promise<Measured> {
  const w = workloads[workload];
  if (!w) throw new Error(`unknown workload ${workload}`);
  const headers: Record<string, string> = token ? { Authorization: token } : {};
  await new Promise((r) => setTimeout(r, SETTLE_MS)); // let the last run's disk writes drain
  await runLoad(server.url, w.path, w.body, clients, Math.min(1, SECONDS / 5), undefined, headers);
  const cpuStart = cpuSeconds(server.child.pid!);
  const result = await runLoad(server.url, w.path, w.body, clients, SECONDS, undefined, headers);
  const cpu = cpuSeconds(server.child.pid!) - cpuStart;
  return { ...result, cpuUsPerOp: result.ops > 0 ? (cpu * 1e6) / result.ops : 0 };
}

function mean(a: Measured, b: Measured): Measured {
  const avg = (k: keyof Measured) => (a[k] + b[k]) / 2;
  return {
    ops: a.ops + b.ops, errors: a.errors + b.errors, seconds: a.seconds + b.seconds,
    opsPerSecond: avg("opsPerSecond"), p50Ms: avg("p50Ms"), p99Ms: avg("p99Ms"), cpuUsPerOp: avg("cpuUsPerOp"),
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`bench:auth: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients, auth off and on, ${SECONDS} s each, 256-byte values, ${KEY_SPACE} keys`);
console.log("bench:auth: starting two Concord members and two etcd members, preloading keys …");
const servers = await Promise.all([
  startConcord({ name: "bench-off" }), startConcord({ name: "bench-on" }), startEtcd("bench-etcd-off"), startEtcd("bench-etcd-on"),
]);
try {
  const [concordOff, concordOn, etcdOff, etcdOn] = servers;
  for (const s of servers) await preload([s.url], WORKLOADS);
  const sides = [
    { name: "Concord", off: concordOff, on: concordOn, token: await authOn(concordOn.url) },
    { name: "etcd", off: etcdOff, on: etcdOn, token: await authOn(etcdOn.url) },
  ];
  const rows: string[] = [];
  const total = sides.length * WORKLOADS.length * CLIENTS.length;
  let step = 0;
  for (const workload of WORKLOADS) {
    for (const clients of CLIENTS) {
      for (const side of sides) {
        step++;
        const off1 = await measure(side.off, workload, clients);
        const on1 = await measure(side.on, workload, clients, side.token);
        const on2 = await measure(side.on, workload, clients, side.token);
        const off2 = await measure(side.off, workload, clients);
        const off = mean(off1, off2);
        const on = mean(on1, on2);
        const ratio = on.opsPerSecond / off.opsPerSecond;
        console.log(`bench:auth [${step}/${total}] ${side.name} ${workload} × ${clients}: off ${fmt(off.opsPerSecond)}/s (${off.errors} errors), ` +
          `on ${fmt(on.opsPerSecond)}/s (${on.errors} errors) → ${fmt(ratio, 2)}`);
        rows.push(`| ${side.name} | ${workload} | ${clients} | ${fmt(off.opsPerSecond)} | ${fmt(on.opsPerSecond)} | **${fmt(ratio, 2)}** | ` +
          `${fmt(off.cpuUsPerOp)} | ${fmt(on.cpuUsPerOp)} | ${fmt(off.p99Ms, 1)} | ${fmt(on.p99Ms, 1)} |`);
      }
    }
  }
  console.log("\n| server | workload | clients | auth off ops/s | auth on ops/s | on / off | CPU µs/op off | CPU µs/op on | p99 ms off | p99 ms on |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
