/**
 * What both benchmarks send and how they compare: the workloads over a 10,000-key space with
 * 256-byte values, preloading those keys, flags, the ABBA comparison and its table.
 *
 * Owns: request bodies, the order of measurements and the report. Never: starts servers (kv.ts
 * and cluster.ts do) or times requests (load.ts).
 */
import { cpuSeconds } from "./cpu.ts";
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

/** A measurement with the CPU time its server processes spent on it, per operation answered. */
type Measured = LoadResult & { cpuUsPerOp: number };

function mean(a: Measured, b: Measured): Measured {
  const avg = (k: keyof Measured) => (a[k] + b[k]) / 2;
  return {
    ops: a.ops + b.ops, errors: a.errors + b.errors, seconds: a.seconds + b.seconds, opsPerSecond: avg("opsPerSecond"), p50Ms: avg("p50Ms"),
    p99Ms: avg("p99Ms"), cpuUsPerOp: avg("cpuUsPerOp"),
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** One row of the results table: etcd's and Concord's figures and the ratio. */
function row(name: string, clients: number, e: Measured, c: Measured, shape: string | undefined): string {
  return `|${shape === undefined ? "" : ` ${shape} |`} ${name} | ${clients} | ${fmt(e.opsPerSecond)} | ${fmt(c.opsPerSecond)} | **${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x** | ` +
    `${fmt(e.p99Ms, 1)} | ${fmt(c.p99Ms, 1)} | ${fmt(e.p50Ms, 1)} | ${fmt(c.p50Ms, 1)} | ${fmt(e.cpuUsPerOp)} | ${fmt(c.cpuUsPerOp)} |`;
}

const tableHeader = (shaped: boolean) =>
  `|${shaped ? " clients at |" : ""} workload | clients | etcd ops/s | Concord ops/s | ratio | etcd p99 ms | Concord p99 ms | etcd p50 ms | Concord p50 ms | etcd CPU µs/op | Concord CPU µs/op |\n` +
  `|${shaped ? "---|" : ""}---|---|---|---|---|---|---|---|---|---|---|`;

/** One side to measure: the URLs its clients use (client c uses URL c mod n), and its servers' pids. */
export interface BenchSide {
  urls: readonly string[];
  pids: readonly number[];
}

/** What the load costs the servers: CPU seconds (user + system) of every process, summed. */
const cpuOf = (pids: readonly number[]) => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);

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
  /** Each shape's sides (one shape, unnamed, for one member). */
  shapes: readonly { name?: string; etcd: BenchSide; concord: BenchSide }[];
}): Promise<void> {
  // A second for the last run's disk writes to drain, or a fifth of a short measurement.
  const SETTLE_MS = Math.min(1_000, opts.seconds * 200);
  const rows: string[] = [];
  const total = opts.shapes.length * opts.workloads.length * opts.clients.length;
  const shaped = opts.shapes.some((s) => s.name !== undefined);
  let step = 0;
  for (const shape of opts.shapes) {
    for (const name of opts.workloads) {
      const w = workloads[name];
      if (!w) throw new Error(`unknown workload ${name}`);
      for (const clients of opts.clients) {
        step++;
        const measure = async (side: BenchSide): Promise<Measured> => {
          await new Promise((r) => setTimeout(r, SETTLE_MS)); // let the last run's disk writes drain
          await runLoad(side.urls, w.path, w.body, clients, Math.min(1, opts.seconds / 5)); // warm up
          const cpuBefore = cpuOf(side.pids);
          const result = await runLoad(side.urls, w.path, w.body, clients, opts.seconds);
          return { ...result, cpuUsPerOp: ((cpuOf(side.pids) - cpuBefore) * 1e6) / Math.max(1, result.ops) };
        };
        const e1 = await measure(shape.etcd);
        const c1 = await measure(shape.concord);
        const c2 = await measure(shape.concord);
        const e2 = await measure(shape.etcd);
        const e = mean(e1, e2);
        const c = mean(c1, c2);
        rows.push(row(name, clients, e, c, shape.name));
        console.log(`${opts.label} [${step}/${total}]${shape.name ? ` at ${shape.name}:` : ""} ${name} × ${clients}: etcd ${fmt(e.opsPerSecond)}/s p99 ${fmt(e.p99Ms, 1)} ms ` +
          `(${e.errors} errors, ${fmt(e.cpuUsPerOp)} µs CPU/op), concord ${fmt(c.opsPerSecond)}/s p99 ${fmt(c.p99Ms, 1)} ms ` +
          `(${c.errors} errors, ${fmt(c.cpuUsPerOp)} µs CPU/op) → ${fmt(c.opsPerSecond / e.opsPerSecond, 2)}x`);
      }
    }
  }
  console.log(`\n${tableHeader(shaped)}`);
  for (const r of rows) console.log(r);
}
