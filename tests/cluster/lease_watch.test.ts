/**
 * Leases and watches in a three-member cluster of real processes: keep-alives sent through a
 * follower hold a lease across kill -9 of the leader, and once they stop its keys vanish within
 * TTL + one election timeout; watchers on every member — gateway and SSE — see the same events,
 * each acknowledged write exactly once and in revision order, across kill -9 of the leader (the
 * watchers on the killed member resume on a survivor: the gateway one from the revision after the
 * last it saw, the SSE one with Last-Event-ID, as a browser reconnects).
 */
import type { Json } from "../../testkit/json.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClusterMember, post, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";
import { GatewayStream, SseStream, type WatchResult } from "../../testkit/streams.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();
const ELECTION_MS = 1_000;

async function call(url: string, path: string, body: unknown, timeoutMs = 5_000): Promise<Json | undefined> {
  try {
    const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    const answer = await r.text();
    return r.status === 200 ? JSON.parse(answer) : undefined;
  } catch {
    return undefined;
  }
}

test("cluster leases > keep-alives through a follower hold a lease across kill -9 of the leader", onBunOnly("forwarding keep-alives and lease failover are the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const [follower, other] = cluster.running().filter((m) => m !== leader);
    const ttl = 3;
    const { ID } = await call(follower.clientUrl, "/v3/lease/grant", { TTL: ttl });
    for (const k of ["x", "y"]) assert.ok(await call(other.clientUrl, "/v3/kv/put", { key: b64(`lk/${k}`), value: b64(k), lease: ID }));
    let keeping = true;
    let lastRenewal = 0;
    const keeper = (async () => {
      while (keeping) {
        const r = await post(follower.clientUrl, "/v3/lease/keepalive", JSON.stringify({ ID })).catch(() => undefined);
        if (r?.status === 200 && JSON.parse(r.text).result?.TTL === String(ttl)) lastRenewal = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    await eventually("a keep-alive through the follower", 5_000, () => (lastRenewal > 0 ? true : undefined));
    await cluster.kill9(leader);
    const next = await cluster.leader(10_000);
    // Kept alive through the new leadership for three TTLs: the lease and its keys stay.
    const renewedAfterFailover = Date.now();
    await eventually("keep-alives through the new leader", 10_000, () => (lastRenewal > renewedAfterFailover ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 3 * ttl * 1000));
    for (const m of [follower, other]) {
      const r = await call(m.clientUrl, "/v3/kv/range", { key: b64("lk/"), range_end: b64("lk0") });
      assert.equal(r?.count, "2", `keys of the kept lease through ${m.name}`);
    }
    const described = await call(other.clientUrl, "/v3/lease/timetolive", { ID });
    assert.ok(Number(described.TTL) > 0, `TTL through ${other.name}: ${described.TTL}`);
    assert.equal(described.grantedTTL, String(ttl));

    // Keep-alives stop: the keys go within TTL + one election timeout, seen by a watcher on a follower.
    const watched = next === follower ? other : follower;
    const watch = await GatewayStream.open(watched.clientUrl, "/v3/watch", JSON.stringify({ create_request: { key: b64("lk/"), range_end: b64("lk0") } }));
    try {
      await watch.result();
      keeping = false;
      await keeper;
      const gone = await watch.result(15_000);
      const elapsed = Date.now() - lastRenewal;
      assert.deepEqual(gone.events!.map((e) => [e.type, text(e.kv.key)]), [["DELETE", "lk/x"], ["DELETE", "lk/y"]]);
      assert.ok(elapsed <= ttl * 1000 + ELECTION_MS, `keys vanished ${elapsed} ms after the last keep-alive`);
    } finally {
      watch.close();
    }
  } finally {
    await cluster.close();
  }
});

test("cluster leases > a lease left alone expires though leadership moves every two seconds (checkpoints)", onBunOnly("checkpoints are the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const ttl = 5;
    const { ID } = await call(leader.clientUrl, "/v3/lease/grant", { TTL: ttl });
    assert.ok(await call(leader.clientUrl, "/v3/kv/put", { key: b64("ck/k"), value: b64("v"), lease: ID }));
    const granted = Date.now();
    const watch = await GatewayStream.open(leader.clientUrl, "/v3/watch", JSON.stringify({ create_request: { key: b64("ck/k") } }));
    await watch.result();
    const gone = watch.result(60_000);
    let vanished = false;
    let vanishedAfter = Infinity;
    gone.then(() => {
      vanished = true;
      vanishedAfter = Date.now() - granted;
    }, () => {});
    // Each new leader gives the lease its remaining TTL plus an election timeout: without the
    // remaining TTL checkpointed, a leadership that moves more often than that never lets it expire.
    // Every two seconds (not three): the lease, 5 s, must see at least two moves before it can
    // expire even with checkpoints, whatever the machine's pace.
    let moves = 0;
    while (!vanished && Date.now() - granted < 40_000) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      if (vanished) break;
      const current = await cluster.leader();
      const to = cluster.running().find((m) => m !== current)!;
      const target = (await cluster.status(to))!.memberId;
      if (await call(current.clientUrl, "/v3/maintenance/transfer-leadership", { targetID: target })) moves++;
    }
    const deletes = await gone;
    assert.equal(deletes.events?.[0]?.type, "DELETE");
    assert.ok(vanishedAfter < 30_000, `the lease expired ${vanishedAfter} ms after its grant, only once leadership stopped moving`);
    assert.ok(moves >= 2, `leadership moved only ${moves} times before the lease expired`);
    watch.close();
  } finally {
    await cluster.close();
  }
});

type Seen = { revision: number; type: string; key: string; value: string };

function seenOf(result: WatchResult): Seen[] {
  return (result.events ?? []).map((e) => ({
    revision: Number(e.kv.mod_revision), type: e.type ?? "PUT", key: text(e.kv.key), value: text(e.kv.value),
  }));
}

/** A watcher's events as they arrive, until its stream ends or is closed. */
class Collector {
  readonly seen: Seen[] = [];
  createdAt = 0;
  done: Promise<void>;
  #stream: GatewayStream | SseStream;

  constructor(stream: GatewayStream | SseStream) {
    this.#stream = stream;
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const raw = await this.#stream.result(120_000);
        const result = "result" in raw && !("header" in raw) ? (raw as { result: WatchResult }).result : raw as WatchResult;
        if (result.created) this.createdAt = Number(result.header.revision);
        this.seen.push(...seenOf(result));
      }
    } catch {
      // The stream ended: its member died, or the test closed it.
    }
  }

  get last(): number {
    return this.seen.length > 0 ? this.seen[this.seen.length - 1].revision : this.createdAt;
  }

  close(): void {
    this.#stream.close();
  }
}

const WATCH = (extra: object = {}) => JSON.stringify({ create_request: { key: b64("cw/"), range_end: b64("cw0"), ...extra } });

test("cluster watches > every member's watchers see each acknowledged write once, in order, across kill -9 of the leader", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const watchers = new Map<ClusterMember, Collector>();
    for (const m of cluster.running()) watchers.set(m, new Collector(await GatewayStream.open(m.clientUrl, "/v3/watch", WATCH())));
    const follower = cluster.running().find((m) => m !== leader)!;
    const sse = new Collector(await SseStream.open(follower.clientUrl, `prefix=cw/`));
    const orphanSse = new Collector(await SseStream.open(leader.clientUrl, `prefix=cw/`));
    await eventually("every watch created", 5_000, () => ([...watchers.values(), sse, orphanSse].every((c) => c.createdAt > 0) ? true : undefined));

    const acknowledged: Seen[] = [];
    let writing = true;
    let n = 0;
    const writer = async (w: number) => {
      while (writing) {
        const targets = cluster.running();
        const target = targets[n % targets.length];
        const key = `cw/${w}/${n % 5}`;
        const value = `v${n++}`;
        const r = await call(target.clientUrl, "/v3/kv/put", { key: b64(key), value: b64(value) }, 3_000);
        if (r) acknowledged.push({ revision: Number(r.header.revision), type: "PUT", key, value });
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    await eventually("writes before the kill", 10_000, () => (acknowledged.length >= 150 ? true : undefined));
    await cluster.kill9(leader);
    // The killed member's watcher resumes on a survivor, right after the last revision it saw.
    const orphan = watchers.get(leader)!;
    await orphan.done;
    const survivor = cluster.running()[0];
    const resumed = new Collector(await GatewayStream.open(survivor.clientUrl, "/v3/watch", WATCH({ start_revision: orphan.last + 1 })));
    // The SSE watcher on it reconnects as a browser would, saying the last event id it saw.
    await orphanSse.done;
    const resumedSse = new Collector(await SseStream.open(survivor.clientUrl, "prefix=cw/", String(orphanSse.last)));
    await cluster.leader(10_000);
    const afterKill = acknowledged.length;
    await eventually("writes after the kill", 15_000, () => (acknowledged.length >= afterKill + 150 ? true : undefined));
    writing = false;
    await Promise.all(writers);

    const last = Math.max(...acknowledged.map((a) => a.revision));
    const all = [...watchers.entries()].filter(([m]) => m !== leader).map(([, c]) => c);
    await eventually("every watcher caught up", 15_000, () =>
      [...all, sse, resumed, resumedSse].every((c) => c.last >= last) ? true : undefined);
    const histories = [...all.map((c) => c.seen), sse.seen, [...orphan.seen, ...resumed.seen], [...orphanSse.seen, ...resumedSse.seen]];
    for (const history of histories) {
      const ids = history.map((e) => `${e.revision}/${e.key}`);
      assert.equal(new Set(ids).size, ids.length, "an event was delivered twice");
      for (let i = 1; i < history.length; i++) assert.ok(history[i].revision > history[i - 1].revision, "events out of revision order");
      const byRevision = new Map(history.map((e) => [e.revision, e]));
      for (const a of acknowledged) assert.deepEqual(byRevision.get(a.revision), a, `acknowledged write at revision ${a.revision} not seen`);
    }
    // Every member applied the same log: the same events, acknowledged or not.
    for (const history of histories.slice(1)) assert.deepEqual(history, histories[0]);
    for (const c of [...watchers.values(), sse, resumed, resumedSse]) c.close();
  } finally {
    await cluster.close();
  }
});

test("cluster watches > a watcher on a follower that is caught up by a snapshot misses and repeats nothing", async () => {
  const cluster = await TestCluster.start(3, { flags: ["--snapshot-count", "100"] });
  try {
    const leader = await cluster.leader();
    const follower = cluster.running().find((m) => m !== leader)!;
    const watcher = new Collector(await GatewayStream.open(follower.clientUrl, "/v3/watch", WATCH({ prev_kv: true })));
    await eventually("watch created", 5_000, () => (watcher.createdAt > 0 ? true : undefined));
    const acknowledged: Seen[] = [];
    const write = async (i: number) => {
      const key = `cw/${i % 13}`;
      const r = await call(leader.clientUrl, "/v3/kv/put", { key: b64(key), value: b64(`v${i}`) });
      assert.ok(r, `put ${i}`);
      acknowledged.push({ revision: Number(r.header.revision), type: "PUT", key, value: `v${i}` });
    };
    for (let i = 0; i < 20; i++) await write(i);
    // Paused while the leader trims its log far past it: it can only catch up from a snapshot.
    cluster.pause(follower);
    for (let i = 20; i < 700; i++) await write(i);
    cluster.resume(follower);
    const last = acknowledged[acknowledged.length - 1].revision;
    await eventually("the watcher caught up", 20_000, () => (watcher.last >= last ? true : undefined));
    assert.match(follower.output, /installed snapshot at index \d+/);
    assert.deepEqual(watcher.seen, acknowledged);
    watcher.close();
  } finally {
    await cluster.close();
  }
});
