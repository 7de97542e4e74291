/**
 * What both benchmarks send and how they compare: the workloads over a 10,000-key space with
 * 256-byte values, preloading those keys, flags, the ABBA comparison and its table.
 *
 * Owns: request bodies, the order of measurements and the report. Never: starts servers (kv.ts
 * and cluster.ts do) or times requests (load.ts).
 */
import { type BodyMaker, type LoadResult, runLoad } from "./load.ts";

export const KEY_SPACE = 10_000;
const VALUE = Buffer.from("x".repeat(256)).toString("base64");

const b64 = (s: string) => Buffer.from(s).toString("base64");
const keyOf = (c: number, i: number) => b64(`bench/${(c * 7919 + i * 104729) % KEY_SPACE}`);

export const workloads: Record<string, { path: string; body: BodyMaker }> = {
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

/** `--name value` from the command line, or the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/**
 * Puts every key of the key space, spread over `urls`, so range and txn meet real data — unless
 * every workload is put, which needs nothing there (its warm-up writes the keys it then rewrites).
 */
export async function preload(urls: readonly string[], names: readonly string[]): Promise<void> {
  if (names.every((name) => name === "put")) return;
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

/** One row of the results table: etcd's and Concord's figures and the ratio. */
function row(name: string, clients: number, e: LoadResult, c: LoadResult): string {
  return `| ${name} | ${clients} | ${fmt(e.opsPerSecond)} | ${fmt(c.opsPerSecond)} | **${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x** | ` +
    `${fmt(e.p99Ms, 1)} | ${fmt(c.p99Ms, 1)} | ${fmt(e.p50Ms, 1)} | ${fmt(c.p50Ms, 1)} |`;
}

const TABLE_HEADER = "| workload | clients | etcd ops/s | Concord ops/s | ratio | etcd p99 ms | Concord p99 ms | etcd p50 ms | Concord p50 ms |\n" +
  "|---|---|---|---|---|---|---|---|---|";

/**
 * Runs every workload × client count against both sides, each measured twice in the order etcd,
 * Concord, Concord, etcd (so neither always runs right after the other's disk work) after a
 * warm-up and a pause, averaged; prints progress as it goes and the table at the end.
 */
export async function compare(opts: {
  label: string;
  workloads: readonly string[];
  clients: readonly number[];
  seconds: number;
  etcd: readonly string[];
  concord: readonly string[];
}): Promise<void> {
  // A second for the last run's disk writes to drain, or a fifth of a short measurement.
  const SETTLE_MS = Math.min(1_000, opts.seconds * 200);
  const rows: string[] = [];
  const total = opts.workloads.length * opts.clients.length;
  let step = 0;
  for (const name of opts.workloads) {
    const w = workloads[name];
    if (!w) throw new Error(`unknown workload ${name}`);
    for (const clients of opts.clients) {
      step++;
      const measure = async (urls: readonly string[]): Promise<LoadResult> => {
        await new Promise((r) => setTimeout(r, SETTLE_MS)); // let the last run's disk writes drain
        await runLoad(urls, w.path, w.body, clients, Math.min(1, opts.seconds / 5)); // warm up
        return runLoad(urls, w.path, w.body, clients, opts.seconds);
      };
      const e1 = await measure(opts.etcd);
      const c1 = await measure(opts.concord);
      const c2 = await measure(opts.concord);
      const e2 = await measure(opts.etcd);
      const e = mean(e1, e2);
      const c = mean(c1, c2);
      rows.push(row(name, clients, e, c));
      console.log(`${opts.label} [${step}/${total}] ${name} × ${clients}: etcd ${fmt(e.opsPerSecond)}/s p99 ${fmt(e.p99Ms, 1)} ms (${e.errors} errors), ` +
        `concord ${fmt(c.opsPerSecond)}/s p99 ${fmt(c.p99Ms, 1)} ms (${c.errors} errors) → ${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x`);
    }
  }
  console.log(`\n${TABLE_HEADER}`);
  for (const r of rows) console.log(r);
}
