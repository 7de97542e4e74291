/**
 * Watchers are bounded (config/limits.ts): a stream holds at most WATCHERS_PER_STREAM_MAX and a
 * member WATCHERS_MAX; a create past either is answered as etcd refuses a watch — created and
 * canceled, watch id -1, the reason named, and counted under the limit's name in /metrics — and a
 * watcher canceled frees its place.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WATCHERS_MAX, WATCHERS_PER_STREAM_MAX } from "../../config/limits.ts";
import { LimitRefusals } from "../../metrics/limit_refusals.ts";
import { Metrics } from "../../metrics/registry.ts";
import { WatchHub } from "../../watch/hub.ts";
import { type WatchOutput, type WatchResult, WatchSession } from "../../watch/session.ts";
import { hubStoreOf, memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const create = (key: string) => ({
  key: enc(key), rangeEnd: new Uint8Array(0), startRevision: 0, prevKv: false, noPut: false, noDelete: false, progressNotify: false,
  fragment: false, watchId: 0,
});

class Output implements WatchOutput {
  readonly ready = true;
  readonly results: WatchResult[] = [];
  control(_revision: number, result: WatchResult): void {
    this.results.push(result);
  }
  events(): void {}
  close(): void {}
}

test("watch limits > a stream past its watchers is refused as etcd refuses a watch; a cancel frees a place", async () => {
  const { mvcc } = await memoryState();
  const hub = new WatchHub(hubStoreOf(mvcc), { progressNotifyMs: 0 });
  const output = new Output();
  const metrics = new Metrics();
  const refusals = new LimitRefusals(metrics);
  const session = new WatchSession({ revision: 1, watches: hub, refusals }, output);
  for (let i = 0; i < WATCHERS_PER_STREAM_MAX; i++) assert.ok(session.create(create(`k${i}`)), `watcher ${i} refused`);
  assert.equal(session.create(create("one-more")), undefined);
  assert.deepEqual(output.results.at(-1), {
    watchId: -1, created: true, canceled: true, cancelReason: `concord: a watch stream holds at most ${WATCHERS_PER_STREAM_MAX} watchers`,
  });
  assert.equal(hub.size, WATCHERS_PER_STREAM_MAX);
  assert.match(metrics.text(), /^concord_limit_refusals_total\{limit="WATCHERS_PER_STREAM_MAX"\} 1$/m);
  session.cancel(0);
  assert.ok(session.create(create("after-a-cancel")));
  session.close();
  assert.equal(hub.size, 0);
});

test("watch limits > a member holding its most watchers refuses another stream's create", () => {
  const output = new Output();
  const full = { size: WATCHERS_MAX } as WatchHub;
  const refusals = new LimitRefusals(new Metrics());
  const session = new WatchSession({ revision: 1, watches: full, refusals }, output);
  assert.equal(session.create(create("k")), undefined);
  assert.deepEqual(output.results, [{ watchId: -1, created: true, canceled: true, cancelReason: `concord: a member holds at most ${WATCHERS_MAX} watchers` }]);
  assert.equal(session.create(create("k2")), undefined);
  assert.equal(refusals.refused("WATCHERS_MAX"), 2);
});
