/**
 * Hostile load against a three-member cluster: requests that once stopped a member — a read-only
 * txn of thousands of full-range reads (refused past RANGE_RESPONSE_BYTES_MAX), ranges with no
 * limit over ~60 MB of keys (one sorted), a range at a past revision, a search that matches
 * nothing, a compaction of a long history, thousands of idle leases — sent to the leader one
 * after another while a probe stands for every other client:
 * a put through a follower and a linearizable read through each member every 100 ms, and each
 * member's status and resident memory. None of it may move leadership (no new term, the same
 * leader), hold up any probe request past 1 s, or take a member's memory past a bound. The figures
 * are printed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type ClusterMember, TestCluster } from "../../testkit/cluster.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
/** Keys written first, with small values: the history a compaction drops. */
const HISTORY_KEYS = 25_000;
/** Keys then rewritten with large values and kept (the others deleted): ~60 MB of state to read. */
const KEPT_KEYS = 15_000;
const LARGE_VALUE = "v".repeat(4_000);
const PUTS_PER_TXN = 128;
const PROBE_EVERY_MS = 100;
const PROBE_SLOWEST_MS_MAX = 1_000;
const RSS_BYTES_MAX = 1_536 * 1024 * 1024;

/**
 * A call and its answer; an answer of more than a megabyte is not parsed (`body` is empty): this
 * process parsing 80 MB would hold up the probe's own timers and be counted against the member.
 */
async function call(url: string, path: string, body: unknown, timeoutMs = 60_000): Promise<{ status: number; body: Record<string, unknown>; ms: number; bytes: number }> {
  const started = performance.now();
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const answer = new Uint8Array(await r.arrayBuffer());
  const parsed = answer.length <= 1024 * 1024 ? JSON.parse(new TextDecoder().decode(answer)) : {};
  return { status: r.status, body: parsed, ms: Math.round(performance.now() - started), bytes: answer.length };
}

/** Resident memory of a member's process, bytes (Linux). */
function rssBytes(m: ClusterMember): number {
  const status = readFileSync(`/proc/${m.process!.child.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

interface ProbeReport {
  requests: number;
  slowestMs: number;
  slowest: string;
  /** The slowest probe request while each stall ran, ms. */
  slowestBy: Record<string, number>;
  failed: string[];
  terms: Set<number>;
  leaders: Set<string>;
  rssMaxBytes: Record<string, number>;
}

/** The other clients: every PROBE_EVERY_MS a put through a follower, a read through each member, and each one's status and memory. */
function startProbe(cluster: TestCluster, follower: ClusterMember): { stop(): Promise<ProbeReport>; phase: (name: string) => void; slowestIn: (name: string) => number } {
  const report: ProbeReport = { requests: 0, slowestMs: 0, slowest: "", slowestBy: {}, failed: [], terms: new Set(), leaders: new Set(), rssMaxBytes: {} };
  let phase = "";
  let stopping = false;
  let n = 0;
  const timed = async (what: string, url: string, path: string, body: unknown) => {
    try {
      const answer = await call(url, path, body, 5_000);
      report.requests++;
      if (answer.ms > report.slowestMs) [report.slowestMs, report.slowest] = [answer.ms, `${what}, during ${phase}`];
      report.slowestBy[phase] = Math.max(report.slowestBy[phase] ?? 0, answer.ms);
      if (answer.status !== 200) report.failed.push(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      return answer.body;
    } catch (e) {
      report.failed.push(`${what}: ${e}`);
    }
  };
  const loop = (async () => {
    while (!stopping) {
      const tick = new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      n++;
      await Promise.all([
        timed(`put through ${follower.name}`, follower.clientUrl, "/v3/kv/put", { key: b64("probe"), value: b64(String(n)) }),
        ...cluster.members.map(async (m) => {
          await timed(`read through ${m.name}`, m.clientUrl, "/v3/kv/range", { key: b64("probe") });
          const status = await timed(`status of ${m.name}`, m.clientUrl, "/v3/maintenance/status", {}) as { raftTerm?: string; leader?: string } | undefined;
          if (status?.raftTerm) report.terms.add(Number(status.raftTerm));
          if (status?.leader) report.leaders.add(status.leader);
          report.rssMaxBytes[m.name] = Math.max(report.rssMaxBytes[m.name] ?? 0, rssBytes(m));
        }),
      ]);
      await tick;
    }
  })();
  return {
    phase: (name) => void (phase = name),
    slowestIn: (name) => report.slowestBy[name] ?? 0,
    async stop() {
      stopping = true;
      await loop;
      return report;
    },
  };
}

test("hostile load > at the leader, no request stalls the cluster: no leader change, no other request past 1 s, memory bounded", onBunOnly("the bounds are the member's code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const name = (k: number) => `big/${String(k).padStart(6, "0")}`;
    /** Keys from … to, in txns of PUTS_PER_TXN puts, four writers at once. */
    const write = async (from: number, to: number, value: (k: number) => string) => {
      let next = from;
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let i = next; i < to; i = next) {
          next = Math.min(to, i + PUTS_PER_TXN);
          const puts = [];
          for (let k = i; k < next; k++) puts.push({ request_put: { key: b64(name(k)), value: b64(value(k)) } });
          const answer = await call(leader.clientUrl, "/v3/kv/txn", { success: puts });
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
        }
      }));
    };
    const loadStarted = performance.now();
    await write(0, HISTORY_KEYS, (k) => `small ${k}`);
    const historyRevision = Number(((await call(leader.clientUrl, "/v3/kv/range", { key: b64("big/"), count_only: true })).body.header as { revision: string }).revision);
    await write(0, KEPT_KEYS, (k) => `${k}${LARGE_VALUE}`);
    await call(leader.clientUrl, "/v3/kv/deleterange", { key: b64(name(KEPT_KEYS)), range_end: b64("big0") });
    console.log(`hostile load: ${HISTORY_KEYS} keys written, ${KEPT_KEYS} rewritten with ${LARGE_VALUE.length} bytes, the rest deleted, in ${Math.round(performance.now() - loadStarted)} ms`);

    const probe = startProbe(cluster, follower);
    const stalls: [string, () => Promise<{ status: number; body: Record<string, unknown>; ms: number; bytes: number }>][] = [
      // etcd's --max-txn-ops (128) bounds each level less what the levels above it take: 32 × 96.
      ["a read-only txn of 3,072 full-range reads", () => {
        const read = { request_range: { key: b64("big/"), range_end: b64("big0") } };
        const nested = { request_txn: { success: Array.from({ length: 96 }, () => read) } };
        return call(leader.clientUrl, "/v3/kv/txn", { success: Array.from({ length: 32 }, () => nested) });
      }],
      ["a range of every key, no limit", () => call(leader.clientUrl, "/v3/kv/range", { key: b64("\0"), range_end: b64("\0") })],
      ["a range of every key sorted by value", () => call(leader.clientUrl, "/v3/kv/range", { key: b64("\0"), range_end: b64("\0"), sort_order: "DESCEND", sort_target: "VALUE" })],
      ["a range at a past revision", () => call(leader.clientUrl, "/v3/kv/range", { key: b64("big/"), range_end: b64("big0"), revision: String(historyRevision) })],
      ["a search that matches nothing", () => call(leader.clientUrl, "/concord/v1/search", { key: b64("\0"), range_end: b64("\0"), contains: "nowhere-to-be-found", limit: 10 })],
      ["a compaction of the whole history", async () => {
        const now = await call(leader.clientUrl, "/v3/kv/range", { key: b64("big/"), count_only: true });
        return call(leader.clientUrl, "/v3/kv/compaction", { revision: (now.body.header as { revision: string }).revision, physical: true });
      }],
      ["3,000 leases granted and left idle for three checkpoint scans", async () => {
        const started = performance.now();
        await Promise.all(Array.from({ length: 16 }, async (_, c) => {
          for (let i = c; i < 3_000; i += 16) await call(leader.clientUrl, "/v3/lease/grant", { TTL: 600 });
        }));
        await new Promise((r) => setTimeout(r, 3_000));
        return { status: 200, body: {}, ms: Math.round(performance.now() - started), bytes: 0 };
      }],
    ];
    for (const [what, stall] of stalls) {
      probe.phase(what);
      const answer = await stall();
      const said = answer.status === 200 ? `${(answer.bytes / 1024 / 1024).toFixed(1)} MiB answered` : JSON.stringify(answer.body).slice(0, 160);
      console.log(`hostile load: ${what}: ${answer.status} in ${answer.ms} ms (${said}); the slowest probe request meanwhile ${probe.slowestIn(what)} ms`);
    }
    const report = await probe.stop();
    const rss = Object.entries(report.rssMaxBytes).map(([name, b]) => `${name} ${Math.round(b / 1024 / 1024)} MiB`).join(", ");
    console.log(`hostile load: probe made ${report.requests} requests; slowest ${report.slowestMs} ms (${report.slowest}); terms ${[...report.terms].join(",")}; most memory: ${rss}`);
    assert.deepEqual(report.failed, []);
    assert.equal(report.leaders.size, 1, `leadership moved: leaders ${[...report.leaders].join(", ")}`);
    assert.equal(report.terms.size, 1, `the term moved: ${[...report.terms].join(", ")}`);
    assert.ok(report.slowestMs <= PROBE_SLOWEST_MS_MAX, `a probe request took ${report.slowestMs} ms: ${report.slowest}`);
    for (const [name, bytes] of Object.entries(report.rssMaxBytes)) assert.ok(bytes <= RSS_BYTES_MAX, `${name} held ${bytes} bytes`);
  } finally {
    await cluster.close();
  }
});
