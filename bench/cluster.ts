/**
 * `npm run bench:cluster`: put, txn and linearizable range with 64 clients against a 3-member
 * Concord cluster (on Bun) and a 3-member etcd 3.4 cluster (Debian's etcd-server), alternating in
 * the same run on the same machine, and prints each figure with Concord's ratio to etcd. Clients
 * spread over the members (client c talks to member c mod 3), so two thirds of the writes reach the
 * leader through a follower, as with etcd's clients. Nothing else should run on the machine.
 * Each figure is measured twice in the order etcd, Concord, Concord, etcd and averaged.
 *
 * Flags: --seconds N (per measurement, default 5), --clients 64, --workloads put,txn,range.
 */
import { TestCluster } from "../tests/support/cluster.ts";
import { type ServerProcess, startEtcdCluster } from "../tests/support/processes.ts";
import { type BodyMaker, type LoadResult, runLoad } from "./load.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "64").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,txn,range").split(",");
const KEY_SPACE = 10_000;
const SETTLE_MS = 1_000;
const VALUE = Buffer.from("x".repeat(256)).toString("base64");

const b64 = (s: string) => Buffer.from(s).toString("base64");
const keyOf = (c: number, i: number) => b64(`bench/${(c * 7919 + i * 104729) % KEY_SPACE}`);

const workloads: Record<string, { path: string; body: BodyMaker }> = {
  put: { path: "/v3/kv/put", body: (c, i) => `{"key":"${keyOf(c, i)}","value":"${VALUE}"}` },
  range: { path: "/v3/kv/range", body: (c, i) => `{"key":"${keyOf(c, i)}"}` },
  txn: {
    path: "/v3/kv/txn",
    body: (c, i) => {
      const key = keyOf(c, i);
      return `{"compare":[{"key":"${key}","target":"VERSION","result":"GREATER","version":"0"}],` +
        `"success":[{"request_put":{"key":"${key}","value":"${VALUE}"}}],"failure":[{"request_range":{"key":"${key}"}}]}`;
    },
  },
};

async function preload(urls: string[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async (_, c) => {
    while (next < KEY_SPACE) {
      const k = next++;
      await fetch(`${urls[c % urls.length]}/v3/kv/put`, { method: "POST", body: `{"key":"${b64(`bench/${k}`)}","value":"${VALUE}"}` })
        .then((r) => r.arrayBuffer());
    }
  }));
}

function mean(a: LoadResult, b: LoadResult): LoadResult {
  const avg = (k: keyof LoadResult) => (a[k] + b[k]) / 2;
  return { ops: a.ops + b.ops, errors: a.errors + b.errors, seconds: a.seconds + b.seconds, opsPerSecond: avg("opsPerSecond"), p50Ms: avg("p50Ms"), p99Ms: avg("p99Ms") };
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`bench:cluster: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients over 3 members, ${SECONDS} s each, 256-byte values`);
console.log("bench:cluster: starting a 3-member etcd cluster and a 3-member Concord cluster, preloading keys …");
let etcd: ServerProcess[] = [];
let concord: TestCluster | undefined;
const rows: string[] = [];
try {
  etcd = await startEtcdCluster(3);
  concord = await TestCluster.start(3);
  await concord.leader();
  const etcdUrls = etcd.map((s) => s.url);
  const concordUrls = concord.members.map((m) => m.clientUrl);
  await preload(etcdUrls);
  await preload(concordUrls);
  const total = WORKLOADS.length * CLIENTS.length;
  let step = 0;
  for (const name of WORKLOADS) {
    const w = workloads[name];
    if (!w) throw new Error(`unknown workload ${name}`);
    for (const clients of CLIENTS) {
      step++;
      const measure = async (urls: string[]): Promise<LoadResult> => {
        await new Promise((r) => setTimeout(r, SETTLE_MS)); // let the last run's disk writes drain
        await runLoad(urls, w.path, w.body, clients, Math.min(1, SECONDS / 5)); // warm up
        return runLoad(urls, w.path, w.body, clients, SECONDS);
      };
      const e1 = await measure(etcdUrls);
      const c1 = await measure(concordUrls);
      const c2 = await measure(concordUrls);
      const e2 = await measure(etcdUrls);
      const e = mean(e1, e2);
      const c = mean(c1, c2);
      rows.push(`| ${name} | ${clients} | ${fmt(e.opsPerSecond)} | ${fmt(c.opsPerSecond)} | **${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x** | ` +
        `${fmt(e.p99Ms, 1)} | ${fmt(c.p99Ms, 1)} | ${fmt(e.p50Ms, 1)} | ${fmt(c.p50Ms, 1)} |`);
      console.log(`bench:cluster [${step}/${total}] ${name} × ${clients}: etcd ${fmt(e.opsPerSecond)}/s p99 ${fmt(e.p99Ms, 1)} ms (${e.errors} errors), ` +
        `concord ${fmt(c.opsPerSecond)}/s p99 ${fmt(c.p99Ms, 1)} ms (${c.errors} errors) → ${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x`);
    }
  }
} finally {
  await Promise.all(etcd.map((s) => s.stop()));
  await concord?.close();
}
console.log("\n| workload | clients | etcd ops/s | Concord ops/s | ratio | etcd p99 ms | Concord p99 ms | etcd p50 ms | Concord p50 ms |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
