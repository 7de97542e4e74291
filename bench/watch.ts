/**
 * `npm run bench:watch`: watch fan-out against Concord (one member, on Bun) and Debian's etcd 3.4
 * (one member), in the same run: 256 and then 1,000 gateway watchers on one prefix, one writer
 * putting to that prefix as fast as it is answered; events delivered per second (all watchers
 * together) and the put-to-event latency (from sending the put to a watcher reading its event).
 * Each figure is measured twice, etcd, Concord, Concord, etcd, and averaged. Then 10,000 idle SSE
 * watchers on one Concord member: held without errors, and what they cost in memory.
 * Nothing else should run on the machine meanwhile.
 *
 * Flags: --seconds N (writing per measurement, default 5), --watchers 256,1000, --idle 10000.
 */
import { connect, type Socket } from "node:net";
import { type ServerProcess, startConcord, startEtcd } from "../testkit/processes.ts";
import { readFileSync } from "node:fs";
import { CLIENT_PORT_DESCRIPTORS_RESERVED } from "../config/limits.ts";
import { flag } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const WATCHERS = flag("watchers", "256,1000").split(",").map(Number);
/**
 * A member holds at most (its open-file limit − the reserve) / 3 client connections (each is three
 * descriptors behind the client port), and the member inherits this process's limit: the default
 * of 10,000 idle watchers is lowered to what fits, and said so (`npm run bench:watch` raises the
 * limit first where it may).
 */
function idleThatFits(wanted: number): number {
  const files = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  if (files === undefined) return wanted;
  const fits = Math.floor((Number(files) - CLIENT_PORT_DESCRIPTORS_RESERVED) / 3) - 100;
  if (fits >= wanted) return wanted;
  console.log(`bench:watch: an open-file limit of ${files} holds ${fits} idle watchers on one member, not ${wanted} (raise it with ulimit -n)`);
  return fits;
}
const IDLE = flag("idle", "") === "" ? idleThatFits(10_000) : Number(flag("idle", ""));

const b64 = (s: string) => Buffer.from(s).toString("base64");
const PREFIX = "fan/";
const VALUE = b64("x".repeat(64));
const REVISION_MARK = `"mod_revision":"`;

/**
 * One watch stream on a raw socket: the request written once, the answer scanned for events as
 * bytes arrive (a fetch-based client would be limited by its connection pool and cost more CPU
 * than the servers it measures).
 */
class RawWatcher {
  readonly #socket: Socket;
  #tail = "";
  created = false;
  failed = false;
  /** The newest revision seen. */
  last = 0;

  constructor(port: number, request: string, onEvent: (revision: number) => void) {
    this.#socket = connect(port, "127.0.0.1");
    this.#socket.setEncoding("latin1");
    this.#socket.on("error", () => (this.failed = true));
    this.#socket.on("close", () => (this.failed = this.failed || !this.closing));
    this.#socket.write(request);
    this.#socket.on("data", (chunk: string) => {
      const text = this.#tail + chunk;
      if (!this.created && text.includes(`"created":true`)) this.created = true;
      let at = text.indexOf(REVISION_MARK);
      let consumed = 0;
      while (at >= 0) {
        const end = text.indexOf(`"`, at + REVISION_MARK.length);
        if (end < 0) break;
        const revision = Number(text.slice(at + REVISION_MARK.length, end));
        this.last = revision;
        onEvent(revision);
        consumed = end;
        at = text.indexOf(REVISION_MARK, end);
      }
      // Keep what may hold the start of a mark split across chunks.
      this.#tail = text.slice(Math.max(consumed, text.length - REVISION_MARK.length - 24));
    });
  }

  closing = false;

  close(): void {
    this.closing = true;
    this.#socket.destroy();
  }
}

function gatewayRequest(body: string): string {
  return `POST /v3/watch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

type FanOut = { eventsPerSecond: number; puts: number; p50Ms: number; p99Ms: number; missing: number };

/** One measurement: `n` watchers on the prefix, one writer for SECONDS, until every event arrived. */
async function fanOut(url: string, n: number): Promise<FanOut> {
  const port = Number(new URL(url).port);
  const sentAt = new Map<number, number>();
  let measuring = false;
  let firstRevision = Infinity;
  let lastRevision = 0;
  const latencies: number[] = [];
  let delivered = 0;
  let lastArrival = 0;
  const onEvent = (revision: number) => {
    if (!measuring || revision < firstRevision) return;
    const now = performance.now();
    const sent = sentAt.get(revision);
    if (sent !== undefined) latencies.push(now - sent);
    delivered++;
    lastArrival = now;
  };
  const request = gatewayRequest(JSON.stringify({ create_request: { key: b64(PREFIX), range_end: b64("fan0") } }));
  const watchers = Array.from({ length: n }, () => new RawWatcher(port, request, onEvent));
  try {
    await until(`${n} watches created`, 30_000, () => watchers.every((w) => w.created || w.failed));
    const failed = watchers.filter((w) => w.failed).length;
    if (failed > 0) throw new Error(`${failed} of ${n} watches failed to start`);
    // The only writer: each put takes the next revision, so its events can arrive before its answer.
    let revision = Number((await (await fetch(`${url}/v3/kv/range`, { method: "POST", body: `{"key":"${b64("x")}"}` })).json()).header.revision);
    const put = async (i: number): Promise<void> => {
      sentAt.set(revision + 1, performance.now());
      const r = await fetch(`${url}/v3/kv/put`, { method: "POST", body: `{"key":"${b64(`${PREFIX}${i % 100}`)}","value":"${VALUE}"}` });
      const answered = Number((await r.json()).header.revision);
      if (answered !== revision + 1) throw new Error(`put answered revision ${answered}, expected ${revision + 1}: another writer?`);
      revision = answered;
      if (measuring) lastRevision = revision;
    };
    // Warm up for a second (a fifth of a short measurement), then measure.
    const warmUntil = performance.now() + Math.min(1_000, SECONDS * 200);
    let i = 0;
    while (performance.now() < warmUntil) await put(i++);
    const warmedTo = revision;
    await until("warm-up events delivered", 30_000, () => watchers.every((w) => w.last >= warmedTo));
    firstRevision = revision + 1;
    measuring = true;
    const started = performance.now();
    const stopAt = started + SECONDS * 1_000;
    while (performance.now() < stopAt) await put(i++);
    await until("every event delivered", 60_000, () => watchers.every((w) => w.last >= lastRevision));
    const puts = lastRevision - firstRevision + 1;
    const sorted = Float64Array.from(latencies).sort();
    return {
      eventsPerSecond: delivered / ((lastArrival - started) / 1_000),
      puts,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      missing: puts * n - delivered,
    };
  } finally {
    for (const w of watchers) w.close();
  }
}

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
}

/** 10,000 SSE watchers on their own keys: all created, all held, what they cost. */
async function idleSse(url: string, n: number): Promise<void> {
  const port = Number(new URL(url).port);
  const before = await metric(url, "process_resident_memory_bytes");
  const hits = new Map<number, number>();
  const watchers: RawWatcher[] = [];
  for (let i = 0; i < n; i++) {
    const request = `GET /v3/watch?prefix=idle/${i}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
    watchers.push(new RawWatcher(port, request, () => hits.set(i, (hits.get(i) ?? 0) + 1)));
    if (i % 1_000 === 999) {
      await until(`${i + 1} SSE watches created`, 60_000, () => watchers.every((w) => w.created || w.failed));
      console.log(`bench:watch: ${i + 1} idle SSE watchers open`);
    }
  }
  await until(`${n} SSE watches created`, 60_000, () => watchers.every((w) => w.created || w.failed));
  const held = await metric(url, "concord_sse_watch_streams");
  const after = await metric(url, "process_resident_memory_bytes");
  // Every hundredth watcher gets an event: they are held, not just counted.
  for (let i = 0; i < n; i += 100) await fetch(`${url}/v3/kv/put`, { method: "POST", body: `{"key":"${b64(`idle/${i}/k`)}","value":"${VALUE}"}` });
  await until("events to the idle watchers", 30_000, () => [...Array(Math.ceil(n / 100)).keys()].every((k) => hits.get(k * 100) === 1));
  const failed = watchers.filter((w) => w.failed).length;
  console.log(
    `\nbench:watch: ${fmt(n)} idle SSE watchers on one member: ${fmt(held)} held, ${failed} errors; ` +
      `resident memory ${fmt(before / 2 ** 20)} MiB → ${fmt(after / 2 ** 20)} MiB ` +
      `(${fmt((after - before) / n / 1024, 1)} KiB per watcher); every hundredth got its event`,
  );
  for (const w of watchers) w.close();
}

console.log(`bench:watch: ${WATCHERS.join(" and ")} watchers on one prefix, one writer, ${SECONDS} s each; then ${fmt(IDLE)} idle SSE watchers`);
let etcd: ServerProcess | undefined;
let concord: ServerProcess | undefined;
try {
  [etcd, concord] = await Promise.all([startEtcd("bench-etcd"), startConcord({ name: "bench-watch" })]);
  const rows: string[] = [];
  for (const n of WATCHERS) {
    const measure = async (server: ServerProcess, label: string) => {
      await new Promise((r) => setTimeout(r, Math.min(1_000, SECONDS * 200)));
      const r = await fanOut(server.url, n);
      console.log(`bench:watch: ${label} × ${n}: ${fmt(r.eventsPerSecond)} events/s (${r.puts} puts), p99 ${fmt(r.p99Ms, 1)} ms, ${r.missing} missing`);
      return r;
    };
    const e1 = await measure(etcd, "etcd");
    const c1 = await measure(concord, "concord");
    const c2 = await measure(concord, "concord");
    const e2 = await measure(etcd, "etcd");
    const avg = (a: FanOut, b: FanOut, k: keyof FanOut) => (a[k] + b[k]) / 2;
    const e = { events: avg(e1, e2, "eventsPerSecond"), p99: avg(e1, e2, "p99Ms"), p50: avg(e1, e2, "p50Ms") };
    const c = { events: avg(c1, c2, "eventsPerSecond"), p99: avg(c1, c2, "p99Ms"), p50: avg(c1, c2, "p50Ms") };
    rows.push(`| ${fmt(n)} | ${fmt(e.events)} | ${fmt(c.events)} | **${fmt(c.events / e.events, 2)}x** | ${fmt(e.p99, 1)} | ${fmt(c.p99, 1)} | ${fmt(e.p50, 1)} | ${fmt(c.p50, 1)} |`);
  }
  console.log("\n| watchers | etcd events/s | Concord events/s | ratio | etcd put→event p99 ms | Concord p99 ms | etcd p50 ms | Concord p50 ms |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  if (IDLE > 0) await idleSse(concord.url, IDLE);
} finally {
  await Promise.all([etcd?.stop(), concord?.stop()]);
}
