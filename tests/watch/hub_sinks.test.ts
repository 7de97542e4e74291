/**
 * What the watch hub does with its consumers beyond handing them events. A stream that fails (a
 * bug in its consumer) costs that stream, not the member: writes go on being applied, every other
 * watcher still gets every event, and the failed stream is closed. Periodic progress notifications
 * go to watchers that asked for them and were given no events since the last one (etcd's rule).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { keySpan } from "../../etcd/keys.ts";
import { type WatchEvent, Watcher, WatchHub, type WatchSink } from "../../watch/hub.ts";
import { hubStoreOf, memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A consumer that takes everything, or throws at a chosen call; `closed` settles when it is closed. */
class Sink implements WatchSink {
  readonly ready = true;
  readonly revisions: number[] = [];
  progressed = 0;
  readonly progressAt: number[] = [];
  readonly closed: Promise<void>;
  #close!: () => void;
  constructor(readonly fails: { deliver?: boolean; progress?: boolean } = {}) {
    this.closed = new Promise((resolve) => (this.#close = resolve));
  }
  deliver(_w: Watcher, events: readonly WatchEvent[]): boolean {
    if (this.fails.deliver) throw new TypeError("Invalid state: Controller is already closed");
    this.revisions.push(...events.map((e) => e.revision));
    return true;
  }
  compacted(): void {}
  progress(_w: Watcher, revision: number): void {
    if (this.fails.progress) throw new RangeError("progress failed");
    this.progressed++;
    this.progressAt.push(revision);
  }
  close(): void {
    this.#close();
  }
}

async function setup(progressNotifyMs: number) {
  const { db, mvcc, sm } = await memoryState();
  sm.openBatch();
  const hub = new WatchHub(hubStoreOf(mvcc), { progressNotifyMs });
  sm.listener = hub;
  let index = 0;
  const put = (key: string) =>
    sm.apply([{ index: ++index, command: { op: "put", put: { key: enc(key), value: enc("v"), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } } }]);
  const watch = (sink: Sink, progressNotify = false) => {
    const w = new Watcher(0, { span: keySpan(enc("k/"), enc("k0")), startRevision: mvcc.revision + 1, prevKv: true, noPut: false, noDelete: false, progressNotify }, sink);
    hub.add(w);
    return w;
  };
  return { db, mvcc, hub, put, watch };
}

test("watch hub > a stream whose delivery throws is closed; writes and the other watchers go on", async () => {
  const { db, mvcc, hub, put, watch } = await setup(0);
  const good = new Sink();
  const bad = new Sink({ deliver: true });
  watch(good);
  watch(bad);
  for (let i = 0; i < 20; i++) put(`k/${i % 3}`);
  await bad.closed;
  assert.equal(mvcc.revision, 21, "a write was not applied");
  assert.deepEqual(good.revisions, Array.from({ length: 20 }, (_, i) => i + 2));
  assert.equal(hub.size, 1, "the failed watcher is still held");
  hub.close();
  db.close();
});

test("watch hub > a stream whose progress notification throws is closed; the others are notified", async () => {
  const { db, hub, watch } = await setup(5);
  const good = new Sink();
  const bad = new Sink({ progress: true });
  watch(good, true);
  watch(bad, true);
  await bad.closed;
  assert.equal(hub.size, 1);
  assert.ok(good.progressed > 0, "the other watcher was not notified");
  hub.close();
  db.close();
});

test("watch hub > progress notifications skip watchers given events since the last one", async () => {
  const { db, mvcc, hub, put, watch } = await setup(0);
  const busy = new Sink();
  const idle = new Sink();
  const unasked = new Sink();
  watch(busy, true);
  // Another span: it sees none of the puts.
  const w = new Watcher(1, { span: keySpan(enc("other"), new Uint8Array()), startRevision: mvcc.revision + 1, prevKv: false, noPut: false, noDelete: false, progressNotify: true }, idle);
  hub.add(w);
  watch(unasked);
  put("k/1");
  hub.notifyProgress();
  assert.deepEqual([busy.progressAt, idle.progressAt], [[], [2]], "after a put");
  hub.notifyProgress();
  assert.deepEqual([busy.progressAt, idle.progressAt], [[2], [2, 2]], "after a quiet interval");
  put("k/2");
  put("other");
  hub.notifyProgress();
  assert.deepEqual([busy.progressAt, idle.progressAt], [[2], [2, 2]], "after puts to both");
  hub.notifyProgress();
  assert.deepEqual([busy.progressAt, idle.progressAt], [[2, 4], [2, 2, 4]]);
  assert.equal(unasked.progressed, 0, "a watcher that did not ask was notified");
  hub.close();
  db.close();
});

test("watch hub > a stream that fails while its watchers catch up leaves none of them behind", async () => {
  const { db, hub, put } = await setup(0);
  for (let i = 0; i < 5; i++) put(`k/${i}`);
  const bad = new Sink({ deliver: true });
  // Two watchers of one stream, both from the past: one sees events (and fails), one sees none.
  const failing = new Watcher(0, { span: keySpan(enc("k/"), enc("k0")), startRevision: 2, prevKv: false, noPut: false, noDelete: false, progressNotify: false }, bad);
  const quiet = new Watcher(1, { span: keySpan(enc("q"), new Uint8Array()), startRevision: 2, prevKv: false, noPut: false, noDelete: false, progressNotify: false }, bad);
  // The stream removes every watcher of its own when it closes, as WatchStream does.
  bad.close = () => {
    hub.remove(failing);
    hub.remove(quiet);
    Sink.prototype.close.call(bad);
  };
  hub.add(failing);
  hub.add(quiet);
  await bad.closed;
  // The catch-up pass that failed runs to its end in this turn.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([hub.size, hub.catchingUp, hub.wantsChanges()], [0, 0, false], "a watcher of the closed stream is still held");
  hub.close();
  db.close();
});
