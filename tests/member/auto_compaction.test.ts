/**
 * Auto-compaction as etcd 3.4's compactor does it, on a clock the test turns: periodic mode
 * compacts first once a retention has passed, to the revision of a retention ago, then every
 * retention; revision mode every 5 minutes to the revision less the retention, never the same one
 * twice; only the leader compacts (a new one with the history it sampled as a follower); a failed
 * compaction is tried again, one that finds its revision compacted counts as done. And on a real
 * member started with --auto-compaction-retention: old revisions become unreadable by themselves.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AutoCompaction } from "../../config/maintenance.ts";
import { EtcdError, Errors, GrpcCode } from "../../etcd/errors.ts";
import { AutoCompactor, REVISION_COMPACTION_CHECK_MS } from "../../member/auto_compaction.ts";
import { eventually } from "../../testkit/eventually.ts";
import { startConcord } from "../../testkit/processes.ts";

/** A compactor on a turned clock, the revision one higher every second; what it compacted, when. */
function turned(
  setting: AutoCompaction,
  opts: { leads?: (now: number) => boolean; fails?: (n: number) => EtcdError | undefined; revisionAt?: (now: number) => number } = {},
) {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const compactions: [number, number][] = [];
  const compactor = new AutoCompactor(setting, {
    revision: () => opts.revisionAt?.(now) ?? Math.floor(now / 1000) + 1,
    leads: () => opts.leads?.(now) ?? true,
    compact: (revision) => {
      compactions.push([now, revision]);
      return Promise.resolve(opts.fails?.(compactions.length));
    },
    log: () => {},
    now: () => now,
    after: (ms, fn) => {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => timers.splice(timers.indexOf(timer), 1);
    },
  });
  compactor.start();
  return {
    compactions,
    async advanceTo(ms: number) {
      for (let next = timers.sort((a, b) => a.at - b.at)[0]; next && next.at <= ms; next = timers.sort((a, b) => a.at - b.at)[0]) {
        timers.splice(timers.indexOf(next), 1);
        now = next.at;
        next.fn();
        await new Promise((resolve) => setImmediate(resolve));
      }
      now = ms;
    },
    stop: () => compactor.stop(),
  };
}

// As etcd's: the oldest of the samples kept is a retention and one sample old, but for the first compaction.
test("auto-compaction > periodic: first after a retention, to the revision of a retention ago, then every retention", async () => {
  const c = turned({ mode: "periodic", retentionMs: 10_000 });
  await c.advanceTo(9_999);
  assert.deepEqual(c.compactions, []);
  await c.advanceTo(30_000);
  assert.deepEqual(c.compactions, [[10_000, 1], [20_000, 10], [30_000, 20]]);
  c.stop();
  await c.advanceTo(60_000);
  assert.equal(c.compactions.length, 3);
});

test("auto-compaction > periodic over an hour: samples every 6 minutes, compacts hourly to a retention ago", async () => {
  const c = turned({ mode: "periodic", retentionMs: 2 * 3_600_000 });
  await c.advanceTo(4 * 3_600_000);
  assert.deepEqual(c.compactions.map(([at]) => at / 3_600_000), [2, 3, 4]);
  assert.deepEqual(c.compactions.map(([at, revision]) => (at - (revision - 1) * 1000) / 3_600_000), [2, 2.1, 2.1]);
});

test("auto-compaction > only the leader compacts; a new leader uses the history it sampled as a follower", async () => {
  const c = turned({ mode: "periodic", retentionMs: 10_000 }, { leads: (now) => now >= 25_000 });
  await c.advanceTo(24_999);
  assert.deepEqual(c.compactions, []);
  await c.advanceTo(25_000);
  assert.deepEqual(c.compactions, [[25_000, 15]]);
});

test("auto-compaction > a failed compaction is tried again at the next sample; one already compacted counts as done", async () => {
  const failed = new EtcdError(GrpcCode.UNAVAILABLE, "etcdserver: no leader");
  const c = turned({ mode: "periodic", retentionMs: 10_000 }, { fails: (n) => (n === 1 ? failed : n === 2 ? Errors.compacted : undefined) });
  await c.advanceTo(21_000);
  assert.deepEqual(c.compactions, [[10_000, 1], [11_000, 1], [21_000, 11]]);
});

test("auto-compaction > revision: every 5 minutes to the revision less the retention, never the same twice, never at or below 0", async () => {
  // The revision stops at 700 after 699 s: the compaction to 300 is not made twice.
  const c = turned({ mode: "revision", retentionRevisions: 400 }, { revisionAt: (now) => Math.min(Math.floor(now / 1000) + 1, 700) });
  await c.advanceTo(4 * REVISION_COMPACTION_CHECK_MS);
  assert.deepEqual(c.compactions, [[2 * REVISION_COMPACTION_CHECK_MS, 201], [3 * REVISION_COMPACTION_CHECK_MS, 300]]);
});

test("auto-compaction > a member started with --auto-compaction-retention=1s compacts its history by itself", async () => {
  const member = await startConcord({ name: "auto-compaction", flags: ["--auto-compaction-retention", "1s"] });
  try {
    const post = async (path: string, body: unknown) =>
      (await fetch(`${member.url}${path}`, { method: "POST", body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    for (let i = 0; i < 5; i++) await post("/v3/kv/put", { key: btoa("k"), value: btoa(String(i)) });
    const first = await post("/v3/kv/range", { key: btoa("k"), revision: 2 });
    assert.equal((first.kvs as { value: string }[])[0].value, btoa("0"));
    const refused = await eventually("revision 2 compacted", 10_000, async () => {
      const r = await post("/v3/kv/range", { key: btoa("k"), revision: 2 });
      return r.error ? r : undefined;
    });
    assert.equal(refused.error, Errors.compacted.message);
    const latest = await post("/v3/kv/range", { key: btoa("k") });
    assert.equal((latest.kvs as { value: string }[])[0].value, btoa("4"));
  } finally {
    await member.stop();
  }
});
