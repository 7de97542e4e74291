/**
 * Watches on one member, as a client sees them: under concurrent writers every watcher — gateway
 * or SSE, prefix or single key, filtered or with prev_kv — gets every event of its range exactly
 * once and in revision order; reconnecting with a start revision (gateway) or Last-Event-ID (SSE)
 * loses and repeats nothing; a start revision compacted away cancels the watch; one consumer that
 * never reads slows nobody and costs the member no memory.
 */
import type { Json } from "../../testkit/json.ts";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { eventually } from "../../testkit/eventually.ts";
import { post, type ServerProcess, startConcord } from "../../testkit/processes.ts";
import { GatewayStream, SseStream, type WatchResult } from "../../testkit/streams.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();

/** An event as compared: revision, type and key (and the value a put wrote). */
type Seen = { revision: number; type: "PUT" | "DELETE"; key: string; value?: string; prev?: string };

function seenOf(result: WatchResult): Seen[] {
  return (result.events ?? []).map((e) => ({
    revision: Number(e.kv.mod_revision),
    type: e.type === "DELETE" ? "DELETE" : "PUT",
    key: text(e.kv.key),
    ...(e.type === "DELETE" ? {} : { value: text(e.kv.value) }),
    ...(e.prev_kv ? { prev: text(e.prev_kv.value) } : {}),
  }));
}

let member: ServerProcess;

before(async () => {
  member = await startConcord({ name: "watch" });
});

after(async () => {
  await member?.stop();
});

async function call(path: string, body: unknown): Promise<Json> {
  const r = await post(member.url, path, JSON.stringify(body));
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text);
}

/**
 * Writers putting, deleting and txn-putting pairs of keys under `prefix` (and a key outside it),
 * concurrently; answers every event they caused, in revision order, from their acknowledgements.
 */
async function writeConcurrently(prefix: string, writers: number, opsEach: number): Promise<Seen[]> {
  const events: Seen[] = [];
  // Each writer owns its keys, so what each holds now is known: the prev_kv of its next change.
  const values = new Map<string, string>();
  const prevOf = (key: string) => (values.has(key) ? { prev: values.get(key)! } : {});
  const writer = async (w: number) => {
    for (let i = 0; i < opsEach; i++) {
      const key = `${prefix}${w}/${i % 7}`;
      const value = `v${w}.${i}`;
      const op = i % 5;
      if (op === 3) {
        const r = await call("/v3/kv/deleterange", { key: b64(key) });
        if (r.deleted === "1") events.push({ revision: Number(r.header.revision), type: "DELETE", key, ...prevOf(key) });
        values.delete(key);
      } else if (op === 4) {
        const other = `${prefix}${w}/t${i}`;
        const r = await call("/v3/kv/txn", { success: [{ request_put: { key: b64(key), value: b64(value) } }, { request_put: { key: b64(other), value: b64(value) } }] });
        const revision = Number(r.header.revision);
        events.push({ revision, type: "PUT", key, value, ...prevOf(key) }, { revision, type: "PUT", key: other, value, ...prevOf(other) });
        values.set(key, value);
        values.set(other, value);
      } else {
        const r = await call("/v3/kv/put", { key: b64(key), value: b64(value) });
        events.push({ revision: Number(r.header.revision), type: "PUT", key, value, ...prevOf(key) });
        values.set(key, value);
      }
      // A write outside the prefix: no watcher of the prefix may see it.
      if (i % 10 === 0) await call("/v3/kv/put", { key: b64(`outside/${w}`), value: b64(value) });
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  // Within a txn, events come in key order (the txn's op order here, which is key order too).
  return events.sort((a, b) => a.revision - b.revision || (a.key < b.key ? -1 : 1));
}

/** Reads a gateway watch until it has delivered the event at `lastRevision`. */
async function readGateway(stream: GatewayStream, lastRevision: number): Promise<Seen[]> {
  const seen: Seen[] = [];
  while (seen.length === 0 || seen[seen.length - 1].revision < lastRevision) seen.push(...seenOf(await stream.result()));
  return seen;
}

async function readSse(stream: SseStream, lastRevision: number): Promise<{ seen: Seen[]; ids: string[] }> {
  const seen: Seen[] = [];
  const ids: string[] = [];
  while (seen.length === 0 || seen[seen.length - 1].revision < lastRevision) {
    const { id, result } = await stream.result();
    const events = seenOf(result);
    if (events.length === 0) continue;
    // One SSE event per revision, its id that revision.
    assert.equal(new Set(events.map((e) => e.revision)).size, 1, "an SSE event holds one revision");
    assert.equal(id, String(events[0].revision));
    ids.push(id!);
    seen.push(...events);
  }
  return { seen, ids };
}

const withoutPrev = (events: Seen[]) => events.map(({ prev: _, ...e }) => e);

/** Equal event lists, or a failure that shows where they first part. */
function sameEvents(actual: Seen[], expected: Seen[], what: string): void {
  const at = actual.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(expected[i]));
  if (at === -1 && actual.length === expected.length) return;
  const from = Math.max(0, (at === -1 ? Math.min(actual.length, expected.length) : at) - 2);
  assert.fail(`${what}: ${actual.length} events seen, ${expected.length} expected; first difference at ${at}:\n` +
    `seen     ${JSON.stringify(actual.slice(from, from + 5))}\nexpected ${JSON.stringify(expected.slice(from, from + 5))}`);
}

test("watch > under concurrent writers every watcher sees each event of its range once, in order", async () => {
  const prefix = "cw/";
  const start = await call("/v3/kv/range", { key: b64("x") });
  const firstRevision = Number(start.header.revision) + 1;
  const all = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("cw0") } }));
  const withPrev = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("cw0"), prev_kv: true } }));
  const deletesOnly = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("cw0"), filters: ["NOPUT"] } }));
  const oneKey = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("cw/1/3") } }));
  const sse = await SseStream.open(member.url, `prefix=${encodeURIComponent(prefix)}`);
  try {
    for (const s of [all, withPrev, deletesOnly, oneKey]) assert.equal((await s.result()).created, true);
    assert.equal((await sse.result()).result.created, true);

    const expected = await writeConcurrently(prefix, 6, 60);
    assert.ok(expected[0].revision >= firstRevision);
    const last = expected[expected.length - 1].revision;
    sameEvents(withoutPrev(await readGateway(all, last)), withoutPrev(expected), "prefix watch");
    sameEvents(await readGateway(withPrev, last), expected, "prefix watch with prev_kv");
    const deletes = expected.filter((e) => e.type === "DELETE");
    sameEvents(withoutPrev(await readGateway(deletesOnly, deletes[deletes.length - 1].revision)), withoutPrev(deletes), "NOPUT watch");
    const mine = expected.filter((e) => e.key === "cw/1/3");
    sameEvents(withoutPrev(await readGateway(oneKey, mine[mine.length - 1].revision)), withoutPrev(mine), "single-key watch");
    sameEvents(withoutPrev((await readSse(sse, last)).seen), withoutPrev(expected), "SSE prefix watch");
  } finally {
    for (const s of [all, withPrev, deletesOnly, oneKey, sse]) s.close();
  }
});

test("watch > a gateway watch resumed with start_revision and an SSE watch with Last-Event-ID miss nothing", async () => {
  const prefix = "rc/";
  const gateway = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("rc0") } }));
  const sse = await SseStream.open(member.url, `key=${encodeURIComponent(b64(prefix))}&range_end=${encodeURIComponent(b64("rc0"))}`);
  await gateway.result();
  await sse.result();
  const writing = writeConcurrently(prefix, 4, 60);
  // Each reads a part, drops its connection while writes go on, and comes back for the rest.
  const firstGateway = seenOf(await gateway.result());
  gateway.close();
  const firstSse = await readSse(sse, 0);
  sse.close();
  const expected = await writing;
  const last = expected[expected.length - 1].revision;
  const lastSeen = firstGateway[firstGateway.length - 1].revision;
  const resumed = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("rc0"), start_revision: lastSeen + 1 } }));
  const resumedSse = await SseStream.open(member.url, `prefix=${prefix}`, firstSse.ids[firstSse.ids.length - 1]);
  try {
    assert.equal((await resumed.result()).created, true);
    sameEvents(withoutPrev([...firstGateway, ...await readGateway(resumed, last)]), withoutPrev(expected), "resumed gateway watch");
    assert.equal((await resumedSse.result()).result.created, true);
    sameEvents(withoutPrev([...firstSse.seen, ...(await readSse(resumedSse, last)).seen]), withoutPrev(expected), "resumed SSE watch");
  } finally {
    resumed.close();
    resumedSse.close();
  }
});

test("watch > a start revision below the compaction revision cancels the watch with compact_revision", async () => {
  for (let i = 0; i < 5; i++) await call("/v3/kv/put", { key: b64("cp"), value: b64(`${i}`) });
  const { header } = await call("/v3/kv/range", { key: b64("cp") });
  const compactAt = Number(header.revision) - 1;
  await call("/v3/kv/compaction", { revision: compactAt });
  const stale = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("cp"), start_revision: compactAt - 2 } }));
  try {
    assert.equal((await stale.result()).created, true);
    const canceled = await stale.result();
    assert.equal(canceled.canceled, true);
    assert.equal(canceled.compact_revision, String(compactAt));
  } finally {
    stale.close();
  }
  // At the compaction revision itself the watch goes on, and sees the newest change.
  const fresh = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("cp"), start_revision: compactAt + 1 } }));
  try {
    await fresh.result();
    assert.deepEqual(seenOf(await fresh.result()).map((e) => e.value), ["4"]);
  } finally {
    fresh.close();
  }
});

/** The member's anonymous resident memory (heap, not the database's mapped file), bytes. */
function anonymousMemory(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/RssAnon:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

test("watch > watchers that never read slow no one and cost bounded memory", async () => {
  const prefix = "slow/";
  // Clients that ask for a watch (with prev_kv: twice the bytes) and never read a byte of the answer.
  const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("slow0"), prev_kv: true } });
  const stuck = Array.from({ length: STUCK_WATCHERS }, () => {
    const socket = connect(Number(new URL(member.url).port), "127.0.0.1");
    socket.write(`POST /v3/watch HTTP/1.1\r\nHost: ${new URL(member.url).host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    socket.pause();
    return socket;
  });
  const reader = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64(prefix), range_end: b64("slow0") } }));
  try {
    await reader.result();
    const before = anonymousMemory(member.child.pid!);
    const value = b64("x".repeat(VALUE_BYTES));
    let last = 0;
    for (let i = 0; i < PUTS; i++) {
      const r = await call("/v3/kv/put", { key: b64(`${prefix}${i % 10}`), value });
      last = Number(r.header.revision);
    }
    // The reading watcher got every one of them meanwhile.
    const seen = await readGateway(reader, last);
    assert.equal(seen.length, PUTS);
    const grown = anonymousMemory(member.child.pid!) - before;
    const owed = STUCK_WATCHERS * PUTS * VALUE_BYTES * 2 * 4 / 3;
    assert.ok(
      grown < owed / 4,
      `the member's memory grew by ${Math.round(grown / 1e6)} MB while ${STUCK_WATCHERS} watchers did not read ` +
        `(buffering for them would take ${Math.round(owed / 1e6)} MB)`,
    );
  } finally {
    reader.close();
    for (const socket of stuck) socket.destroy();
  }
});

/**
 * The stuck watchers are owed ~5 GB of events, which a member that buffered for them would hold;
 * one that does not still makes garbage of a few hundred MB (requests, the reading watcher's
 * events), which its allocator may keep.
 */
const STUCK_WATCHERS = 16;
const PUTS = 1_000;
const VALUE_BYTES = 100_000;

test("watch > progress notifications, SSE heartbeats, and a member that stops ends its streams", async () => {
  const own = await startConcord({
    name: "watch-intervals", flags: ["--experimental-watch-progress-notify-interval", "300ms", "--sse-heartbeat-interval", "200ms"],
  });
  let stopped = false;
  try {
    await post(own.url, "/v3/kv/put", JSON.stringify({ key: b64("p"), value: b64("1") }));
    const notified = await GatewayStream.open(own.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("p"), progress_notify: true } }));
    const sse = await SseStream.open(own.url, "prefix=p");
    assert.equal(sse.contentType, "text/event-stream");
    assert.equal((await notified.result()).created, true);
    // A progress notification: the watch's id and the current revision, no events.
    const progress = await notified.result(5_000);
    assert.deepEqual({ ...progress, header: { revision: progress.header.revision } }, { header: { revision: "2" } });
    const blocks = [await sse.next(), await sse.next(), await sse.next(), await sse.next()];
    assert.equal(blocks[0]?.retry, "1000");
    assert.ok(JSON.parse(blocks[1]!.data!).created);
    assert.ok(blocks.slice(2).every((b) => b?.comment === "heartbeat"), JSON.stringify(blocks));
    // SIGTERM with both streams open: the member ends them and exits, rather than waiting on them
    // until the harness kills it (5 s).
    const stopping = Date.now();
    await own.stop();
    stopped = true;
    assert.ok(Date.now() - stopping < 3_000, "the member had to be killed: it waited on its open streams");
    assert.equal(await notified.next(), undefined);
    assert.equal(await sse.next(), undefined);
  } finally {
    if (!stopped) await own.stop();
  }
});

async function watcherCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(text)![1]);
}

test("watch > a client that goes away takes its watchers with it", async () => {
  const baseline = await watcherCount(member.url);
  const streams: { close(): void }[] = [];
  for (let i = 0; i < 5; i++) {
    const gateway = await GatewayStream.open(member.url, "/v3/watch", `{"create_request":{"key":"${b64("gone")}"}}{"create_request":{"key":"${b64("gone2")}"}}`);
    await gateway.result();
    await gateway.result();
    const sse = await SseStream.open(member.url, "prefix=gone");
    await sse.result();
    streams.push(gateway, sse);
  }
  assert.equal(await watcherCount(member.url), baseline + 15);
  for (const s of streams) s.close();
  await eventually("watchers released", 5_000, async () => ((await watcherCount(member.url)) === baseline ? true : undefined));
});
