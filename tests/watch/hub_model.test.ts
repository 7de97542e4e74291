/**
 * The watch hub against a reference, over seeded random histories on a real store: watchers come
 * and go on single keys, prefixes, ranges and everything-from-a-key, with filters, prev_kv and
 * start revisions in the past (some compacted away), while puts, deletes, two-key txns, txns
 * bigger than a catch-up read and compactions are applied and consumers stall and recover at random. Every watcher must end up
 * with exactly the events of its range from its start revision, in order, each once — or, if its
 * next revision was compacted away, exactly those before it and a compaction notice.
 * `CONCORD_SEED=n` replays one seed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { compareBytes, keySpan, prefixEnd } from "../../etcd/keys.ts";
import { EMPTY_BYTES, EventType, type KeyValue } from "../../etcd/types.ts";
import { type WatchEvent, Watcher, WatchHub, type WatchSink } from "../../watch/hub.ts";
import { prng } from "../../testkit/prng.ts";
import { hubStoreOf, memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const KEYS = ["a", "a/1", "a/2", "ab", "b", "b/x", "c"];

/** An event as compared. */
type Seen = { revision: number; type: "PUT" | "DELETE"; key: string; value?: string; prev?: string };

function seen(e: { type: EventType; kv: KeyValue }, prev: KeyValue | undefined, withPrev: boolean): Seen {
  return {
    revision: e.kv.modRevision,
    type: e.type === EventType.PUT ? "PUT" : "DELETE",
    key: dec(e.kv.key),
    ...(e.type === EventType.PUT ? { value: dec(e.kv.value) } : {}),
    ...(withPrev && prev ? { prev: dec(prev.value) } : {}),
  };
}

/** A consumer that takes everything while ready, and nothing while stalled. */
class TestSink implements WatchSink {
  ready = true;
  readonly got = new Map<Watcher, Seen[]>();
  readonly compactedAt = new Map<Watcher, { next: number; compactRevision: number }>();

  deliver(w: Watcher, events: readonly WatchEvent[]): boolean {
    if (!this.ready) return false;
    const list = this.got.get(w) ?? [];
    for (const e of events) list.push(seen(e.change, e.prevKv(), w.spec.prevKv));
    this.got.set(w, list);
    return true;
  }

  compacted(w: Watcher, compactRevision: number): void {
    this.compactedAt.set(w, { next: w.nextRevision, compactRevision });
  }

  progress(): void {}
  close(): void {}
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function runSeed(seed: number, steps: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const { db, mvcc, sm } = await memoryState();
  sm.openBatch();
  const hub = new WatchHub(hubStoreOf(mvcc, (from, to, max, bytes) => {
    // A catch-up read is bounded: over the limits only when it is one revision, read whole.
    const read = mvcc.changesBetween(from, to, max, bytes);
    const revisions = new Set(read.changes.map((c) => c.kv.modRevision)).size;
    const size = read.changes.reduce((n, c) => n + c.kv.value.length, 0);
    assert.ok(revisions <= 1 || (read.changes.length <= max && size <= bytes), `seed ${seed}: a read of ${read.changes.length} changes in ${revisions} revisions, ${size} bytes, over ${max} changes / ${bytes} bytes`);
    return read;
  }), { progressNotifyMs: 0, retryMs: 1, catchUpChanges: 1 + Math.floor(random() * 8), catchUpBytes: 8 + Math.floor(random() * 64) });
  sm.listener = hub;

  // The reference: every change of every revision, with the key's value before it.
  const history: { type: EventType; kv: KeyValue; prev: KeyValue | undefined }[] = [];
  const live = new Map<string, KeyValue>();
  let index = 0;
  const apply = (command: Command) => {
    const before = mvcc.revision;
    sm.apply([{ index: ++index, command }]);
    if (mvcc.revision === before) return;
    for (const change of mvcc.changesBetween(mvcc.revision, mvcc.revision, 1_000, 1 << 30).changes) {
      const key = dec(change.kv.key);
      history.push({ type: change.type, kv: change.kv, prev: live.get(key) });
      if (change.type === EventType.PUT) live.set(key, change.kv);
      else live.delete(key);
    }
  };
  const put = (key: string, value: string) => ({ key: enc(key), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });

  const sinks = [new TestSink(), new TestSink(), new TestSink()];
  const watchers: { w: Watcher; sink: TestSink; start: number }[] = [];
  let nextId = 0;
  const spanOf = (): { key: Uint8Array; end: Uint8Array } => {
    const r = random();
    const key = enc(pick(KEYS));
    if (r < 0.35) return { key, end: EMPTY_BYTES };
    if (r < 0.7) return { key, end: prefixEnd(key) };
    if (r < 0.8) return { key, end: new Uint8Array([0]) };
    const other = enc(pick(KEYS));
    return compareBytes(key, other) < 0 ? { key, end: other } : { key: other, end: enc(dec(key) + "\u0000") };
  };

  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.35) apply({ op: "put", put: put(pick(KEYS), `v${step}`) });
    else if (r < 0.45) {
      const { key, end } = spanOf();
      apply({ op: "deleteRange", deleteRange: { key, rangeEnd: end, prevKv: false } });
    } else if (r < 0.52) {
      const [x, y] = [pick(KEYS), pick(KEYS)];
      if (x !== y) apply({ op: "txn", txn: { compare: [], success: [{ kind: "put", put: put(x, `t${step}`) }, { kind: "put", put: put(y, `t${step}`) }], failure: [] } });
    } else if (r < 0.54) {
      // A revision bigger than a catch-up read: every key at once.
      apply({ op: "txn", txn: { compare: [], success: KEYS.map((k) => ({ kind: "put" as const, put: put(k, `big${step}`.padEnd(8 + Math.floor(random() * 24), "!")) })), failure: [] } });
    } else if (r < 0.56 && mvcc.revision > mvcc.compactRevision + 2) {
      const at = Math.max(mvcc.compactRevision + 1, mvcc.revision - 1 - Math.floor(random() * 10));
      apply({ op: "compact", compact: { revision: at, physical: false } });
    } else if (r < 0.65) {
      const { key, end } = spanOf();
      const sink = pick(sinks);
      const past = random() < 0.5;
      let start = past ? Math.max(1, mvcc.revision - Math.floor(random() * 30)) : mvcc.revision + 1 + (random() < 0.1 ? 3 : 0);
      // A start at the compaction revision itself misses a delete made then, as in etcd: not modelled.
      if (start === mvcc.compactRevision) start++;
      const w = new Watcher(nextId++, {
        span: keySpan(key, end), startRevision: start, prevKv: random() < 0.5,
        noPut: random() < 0.15, noDelete: random() < 0.15, progressNotify: false,
      }, sink);
      watchers.push({ w, sink, start });
      hub.add(w);
    } else if (r < 0.75) {
      const sink = pick(sinks);
      sink.ready = !sink.ready;
      if (sink.ready) hub.wake();
    } else if (r < 0.8 && watchers.length > 0) {
      const gone = watchers.splice(Math.floor(random() * watchers.length), 1)[0];
      hub.remove(gone.w);
    } else {
      await turn();
    }
  }
  // Every consumer recovers: every watcher catches up.
  for (const sink of sinks) sink.ready = true;
  hub.wake();
  for (let i = 0; i < 200 && hub.catchingUp > 0; i++) await turn();
  assert.equal(hub.catchingUp, 0, `seed ${seed}: watchers still catching up`);

  for (const { w, sink, start } of watchers) {
    const where = `seed ${seed}, watcher ${w.id} from ${start}, ${JSON.stringify({ ...w.spec, span: undefined, kind: w.spec.span.kind, key: dec(w.spec.span.key) })}, compacted at ${mvcc.compactRevision} (replay: CONCORD_SEED=${seed})`;
    const expected = history
      .filter((e) => e.kv.modRevision >= start && w.matches({ type: e.type, kv: e.kv, prevRevision: 0, prevSub: 0 }))
      .map((e) => seen(e, e.prev, w.spec.prevKv));
    // A prev_kv that compaction removed is missing, as in etcd: only for an event at the compaction revision.
    const got = (sink.got.get(w) ?? []).map((e, i) =>
      e.prev === undefined && expected[i]?.prev !== undefined && e.revision <= mvcc.compactRevision ? { ...e, prev: expected[i].prev } : e
    );
    const compacted = sink.compactedAt.get(w);
    if (compacted) {
      assert.ok(compacted.next <= compacted.compactRevision, `${where}: compaction notice for a revision not compacted`);
      assert.deepEqual(got, expected.filter((e) => e.revision < compacted.next), `${where}: events before the compaction`);
    } else {
      assert.deepEqual(got, expected, where);
    }
  }
  hub.close();
  db.close();
}

const only = process.env.CONCORD_SEED;
const seeds = only ? [Number(only)] : Array.from({ length: Number(process.env.CONCORD_SEEDS ?? 40) }, (_, i) => i + 1);
test(`watch hub > every watcher gets exactly its events over ${seeds.length} seeds of 600 steps`, async () => {
  for (const seed of seeds) await runSeed(seed, 600);
});
