/**
 * One chaos run: a cluster of real Concord processes behind peer proxies; clients doing puts,
 * linearizable gets and compare-and-sets (recorded), a watcher on every member, lease clients —
 * all while the nemesis injects faults drawn from the seed. Then every fault is healed, the
 * watchers catch up, and the checkers judge: the KV history linearizable (which includes that no
 * acknowledged write is lost), every acknowledged write in the prefix's final history (durability),
 * every watcher's events exactly that history, no kept-alive lease gone early, and after the
 * faults a lease left to expire gone within its TTL plus one election timeout. A cluster with no
 * leader, or a member that answers no read, once the faults are healed is an anomaly too (a member
 * that finds its own data dir inconsistent stops, and says why: that is reported).
 *
 * Owns: the run's phases and its report. Never: the checks' rules (linearizability.ts,
 * watchers.ts, leases.ts) or the faults (nemesis.ts).
 */
import { type ClusterMember, TestCluster } from "../cluster.ts";
import { eventually } from "../eventually.ts";
import { checkLinearizable, ok, Recorder } from "../linearizability.ts";
import { prng } from "../prng.ts";
import { startWorkload } from "../workload.ts";
import { startLeaseClients } from "./leases.ts";
import { FAULT_KINDS, type FaultKind, Nemesis } from "./nemesis.ts";
import { powerCutsUnavailable } from "../power_cut.ts";
import { ChaosWatcher, type SeenEvent, watchAnomaly, watchOnce } from "./watchers.ts";

export interface ChaosOptions {
  seconds: number;
  members: number;
  seed: number;
  kinds?: readonly FaultKind[];
  clients?: number;
  /** A Raft bug planted in every member (raft/planted_bugs.ts), to prove the checkers find it. */
  plantedBug?: string;
  /** Each line of progress and of the schedule. */
  log: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  seconds: number;
  operations: number;
  answered: number;
  acknowledgedWrites: number;
  faults: Record<string, number>;
  schedule: string[];
  watchEvents: number;
  watchReconnects: number;
  leases: { granted: number; keepAlives: number };
  /** What the checkers found; empty when the run is clean. */
  anomalies: string[];
  /** Acknowledged writes missing from the final history. */
  lost: number;
}

const PREFIX = "chaos/";
const KEYS = Array.from({ length: 12 }, (_, i) => `${PREFIX}k${i}`);
const ELECTION_TIMEOUT_MS = 1_000;
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Every event of the prefix from revision 1, read from `url` up to the last write to it. */
async function prefixHistory(url: string): Promise<SeenEvent[]> {
  const lastWrite = await lastWriteToPrefix(url);
  const events: SeenEvent[] = [];
  const abort = new AbortController();
  const reading = watchOnce(url, PREFIX, 1, abort.signal, (e) => void events.push(e)).catch(() => {});
  await eventually("the prefix's history read back", 15_000, () => ((events.at(-1)?.revision ?? 0) >= lastWrite ? true : undefined));
  abort.abort();
  await reading;
  return events;
}

/**
 * The revision of the last write to the prefix (a linearizable range, newest first), asked until
 * answered: a member just healed may answer "leader changed" first, and taking that for "no
 * write" would make the history empty and every acknowledged write look lost.
 */
async function lastWriteToPrefix(url: string): Promise<number> {
  return await eventually("the prefix's last write", 15_000, async () => {
    const r = await fetch(`${url}/v3/kv/range`, {
      method: "POST", body: JSON.stringify({ key: b64(PREFIX), range_end: b64("chaos0"), sort_order: "DESCEND", sort_target: "MOD", limit: 1 }),
      signal: AbortSignal.timeout(3_000),
    }).catch(() => undefined);
    if (r?.status !== 200) return undefined;
    const body = await r.json();
    return Number(body.kvs?.[0]?.mod_revision ?? 0);
  });
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  // One stream of draws each, so the faults drawn do not depend on how fast the clients went.
  const [faultDraws, clientDraws, leaseDraws] = [prng(opts.seed), prng(opts.seed + 1), prng(opts.seed + 2)];
  const anomalies: string[] = [];
  // Power cuts and slow disks need the preload built: without a C compiler, the other faults only.
  const machineFaults: readonly FaultKind[] = ["power-cut", "slow-disk"];
  const unavailable = powerCutsUnavailable();
  if (unavailable && opts.kinds?.some((k) => machineFaults.includes(k))) throw new Error(unavailable);
  if (unavailable) opts.log(`chaos: ${unavailable}; those faults are not drawn`);
  const kinds = unavailable ? (opts.kinds ?? FAULT_KINDS).filter((k) => !machineFaults.includes(k)) : opts.kinds;
  const cluster = await TestCluster.start(opts.members, { proxies: true, powerCuts: !unavailable, ...(opts.plantedBug ? { env: { CONCORD_PLANTED_BUG: opts.plantedBug } } : {}) });
  try {
    await cluster.leader();
    const reachable = () => cluster.running();
    const recorder = new Recorder();
    const workload = startWorkload({
      clients: opts.clients ?? 8, keys: KEYS, targets: () => reachable().map((m) => m.clientUrl), recorder,
      requestTimeoutMs: 2_000, maxOpsPerClient: 1_000_000, random: clientDraws,
    });
    const watchers = cluster.members.map((m) => new ChaosWatcher(m, PREFIX));
    const leases = startLeaseClients({ clients: 2, ttlSeconds: 3, targets: reachable, random: leaseDraws, requestTimeoutMs: 2_000, started: performance.now() });
    const nemesis = new Nemesis({ cluster, random: faultDraws, kinds, holdMs: [1_000, 4_000], quietMs: [500, 2_000], log: opts.log });
    await nemesis.start();
    const started = performance.now();
    let lastReport = started;
    while (performance.now() - started < opts.seconds * 1_000) {
      await new Promise((r) => setTimeout(r, 500));
      if (performance.now() - lastReport >= 10_000) {
        lastReport = performance.now();
        opts.log(`chaos: ${Math.round((lastReport - started) / 1000)} s of ${opts.seconds}: ${workload.answered()} operations answered`);
      }
    }
    const faults = await nemesis.stop();
    opts.log("chaos: faults healed; the clients finish, the watchers catch up");
    const [kv, leaseReport] = await Promise.all([workload.stop(), leases.stop()]);
    anomalies.push(...kv.unexpected.map((u) => `an answer no fault explains: ${u}`), ...leaseReport.anomalies);
    const leader = await cluster.leader(15_000).catch(() => undefined);
    if (!leader) {
      await Promise.all(watchers.map((w) => w.stop()));
      anomalies.push(`no leader once every fault was healed: the cluster did not recover (${whyStopped(cluster.members)})`);
      return {
        seed: opts.seed, seconds: opts.seconds, operations: kv.ops, answered: kv.answered, acknowledgedWrites: 0, faults: faults.faults,
        schedule: faults.schedule, watchEvents: 0, watchReconnects: 0, leases: { granted: leaseReport.granted, keepAlives: leaseReport.keepAlives },
        anomalies, lost: 0,
      };
    }

    // Final reads of every key through every member, recorded too: a lost write shows as a stale read.
    let client = 10_000;
    for (const m of cluster.members) {
      for (const key of KEYS) {
        const done = recorder.invoke(client++, key, { kind: "get" });
        const answer = await eventually(`a final read of ${key} through ${m.name}`, 15_000, async () => {
          const r = await fetch(`${m.clientUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: b64(key) }), signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
          return r?.status === 200 ? await r.json() : undefined;
        }).catch(() => undefined);
        if (answer === undefined) {
          // The read stays unanswered in the history (it may or may not have happened).
          anomalies.push(`${m.name} answered no read within 15 s after every fault was healed (${whyStopped([m])})`);
          break;
        }
        const value = answer.kvs?.[0]?.value;
        done(ok(value === undefined ? null : Buffer.from(value, "base64").toString()));
      }
    }
    const history = recorder.history();
    const verdict = checkLinearizable(history);
    if (verdict.ok !== true) anomalies.push(`linearizability (${verdict.ok === false ? "violated" : "undecided"}) on ${verdict.key}: ${verdict.explanation}`);

    const readBack = await prefixHistory(leader.clientUrl).catch((e: Error) => {
      anomalies.push(`the prefix's history could not be read back from ${leader.name}: ${e.message} (${whyStopped(cluster.members)})`);
      return undefined;
    });
    // Unread, nothing can be judged lost or seen wrongly: the anomaly above says why.
    const truth = readBack ?? [];
    const acknowledged = history.flatMap((op) =>
      (op.kind === "put" && op.ret !== Infinity) || (op.kind === "cas" && op.result === true) ? [{ kind: op.kind, key: op.key, value: op.value }] : []
    );
    const written = new Set(truth.map((e) => `${e.key}=${e.value}`));
    const lost = readBack ? acknowledged.filter((op) => !written.has(`${op.key}=${op.value}`)) : [];
    for (const op of lost.slice(0, 5)) anomalies.push(`acknowledged ${op.kind} ${op.key}=${op.value} is not in the history`);

    const last = truth.at(-1)?.revision ?? 0;
    await eventually("every watcher caught up", 20_000, () => (watchers.every((w) => w.lastRevision >= last) ? true : undefined)).catch(() => {});
    await Promise.all(watchers.map((w) => w.stop()));
    for (const w of readBack ? watchers : []) {
      const anomaly = watchAnomaly(w.events, truth);
      if (anomaly) anomalies.push(`watcher on ${w.member.name}: ${anomaly}`);
      else if (w.lastRevision < last) anomalies.push(`watcher on ${w.member.name} stopped at revision ${w.lastRevision} of ${last}`);
    }

    const expiry = await leaseExpiry(leader.clientUrl).catch((e: Error) => `the final lease check could not finish: ${e.message}`);
    if (expiry) anomalies.push(expiry);

    return {
      seed: opts.seed, seconds: opts.seconds, operations: kv.ops, answered: kv.answered, acknowledgedWrites: acknowledged.length,
      faults: faults.faults, schedule: faults.schedule, watchEvents: watchers.reduce((n, w) => n + w.events.length, 0),
      watchReconnects: watchers.reduce((n, w) => n + w.reconnects, 0), leases: { granted: leaseReport.granted, keepAlives: leaseReport.keepAlives },
      anomalies, lost: lost.length,
    };
  } finally {
    await cluster.close();
  }
}

/** What each member last said of stopping, if anything: why a cluster did not come back. */
function whyStopped(members: readonly ClusterMember[]): string {
  return members.map((m) => {
    const said = m.output.match(/[^\n]*(?:stopped|failure|damaged)[^\n]*/g)?.at(-1);
    return `${m.name}: ${said?.slice(0, 200) ?? "nothing"}`;
  }).join("; ");
}

/**
 * After the faults: a lease kept alive, then let go, must take its key within its TTL plus one
 * election timeout — plus one more for each election meanwhile (a new leader gives every lease an
 * election timeout more, as etcd's does).
 */
async function leaseExpiry(url: string): Promise<string | undefined> {
  const ttlSeconds = 2;
  const post = async (path: string, body: unknown) => (await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) })).text();
  const term = async () => Number(JSON.parse(await post("/v3/maintenance/status", {})).raftTerm ?? 0);
  const termBefore = await term();
  const id = JSON.parse(await post("/v3/lease/grant", { TTL: ttlSeconds })).ID;
  await post("/v3/kv/put", { key: b64("chaos-lease/final"), value: b64("x"), lease: id });
  await post("/v3/lease/keepalive", { ID: id });
  const lastKeptAlive = performance.now();
  const gone = await eventually("the final lease's key goes", 30_000, async () => {
    const answer = JSON.parse(await post("/v3/kv/range", { key: b64("chaos-lease/final") }));
    return answer.kvs?.length ? undefined : performance.now();
  });
  const tookMs = gone - lastKeptAlive;
  const elections = (await term()) - termBefore;
  const boundMs = ttlSeconds * 1_000 + (1 + elections) * ELECTION_TIMEOUT_MS + 200;
  return tookMs > boundMs ? `a lease let go outlived its TTL of ${ttlSeconds} s: its key went after ${Math.round(tookMs)} ms` : undefined;
}
