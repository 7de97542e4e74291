/**
 * A follower catching up on large values, with real processes (issue 12): while it is down the
 * others commit 48 values of 1.4 MiB — ~67 MiB, more than one 64 MiB frame's worth, so one append
 * of those entries (or one batch of queued appends) would be larger than any frame a member
 * accepts (on Bun the stream to the follower was closed on every try, and it never caught up) or
 * than a request carries within its timeout (over HTTP, on Deno, requests were given up). With
 * appends and batches bounded in bytes, it catches up by appends (the log is far from being
 * trimmed, so no snapshot is involved) within a bounded wait, and no member complains.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { get, put, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";
import { prng } from "../../testkit/prng.ts";

const VALUE_BYTES = Math.round(1.4 * 1024 * 1024);
/**
 * Fewer than one append may carry (RAFT_APPEND_ENTRIES_MAX, 64) but 48 × 1.4 MiB ≈ 67 MiB, more
 * than a 64 MiB frame, and far fewer entries and bytes than a log trim (--snapshot-count,
 * LOG_RETAINED_ENTRIES, RAFT_LOG_MEMORY_BYTES_MAX).
 */
const VALUES = 48;
/** Writers at once, each through one of the two members up (the leader, and the follower left, which forwards). */
const WRITERS = 4;

/** Value `i`: VALUE_BYTES of seeded random bytes, as the binary string put() and get() speak. */
function largeValue(i: number): string {
  const random = prng(i + 1);
  const bytes = new Uint8Array(VALUE_BYTES);
  for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
  let text = "";
  for (let j = 0; j < bytes.length; j += 0x8000) text += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
  return text;
}

test("cluster > a follower that missed ~67 MiB of 1.4 MiB values catches up by appends bounded in bytes", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const other = cluster.members.find((m) => m !== leader && m !== follower)!;
    await cluster.kill9(follower);

    // Written by a few writers at once, through the leader and through the other follower (which
    // hands them to the leader in batches of its own: the two members decode the large bodies on
    // two cores); the last value is written alone, last, through the leader.
    const started = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
      const through = w % 2 === 0 ? leader : other;
      for (let i = w; i < VALUES - 1; i += WRITERS) {
        const r = await put(through.clientUrl, `large/${i}`, largeValue(i), 15_000);
        assert.equal(r?.status, 200, `put of large/${i}: ${JSON.stringify(r?.body)}`);
      }
    }));
    const last = largeValue(VALUES - 1);
    const r = await put(leader.clientUrl, "large/last", last, 15_000);
    assert.equal(r?.status, 200, `put of large/last: ${JSON.stringify(r?.body)}`);
    const target = await eventually("the leader's status", 5_000, () => cluster.status(leader));
    console.log(`${VALUES} values of ${VALUE_BYTES} bytes written in ${Math.round(performance.now() - started)} ms, up to index ${target.raftIndex}`);

    const outputBefore = new Map(cluster.members.map((m) => [m, m.output.length]));
    const restarted = performance.now();
    await cluster.restart(follower);
    const printedSince = () => cluster.members.map((m) => `${m.name}:\n${m.output.slice(outputBefore.get(m)).slice(-4_000)}`).join("\n");
    const caughtUp = await eventually("the follower catches up with the leader", 30_000, async () => {
      const s = await cluster.status(follower);
      return s && s.raftAppliedIndex >= target.raftIndex && s.revision >= target.revision ? s : undefined;
    }).catch((e) => {
      throw new Error(`${(e as Error).message}; the members printed since the restart:\n${printedSince()}`);
    });
    console.log(`the follower caught up to index ${caughtUp.raftAppliedIndex} ${Math.round(performance.now() - restarted)} ms after its restart`);
    assert.equal(caughtUp.revision, target.revision);

    const read = await get(follower.clientUrl, "large/last", { serializable: true, timeoutMs: 15_000 });
    assert.ok(read === last, `a serializable read of large/last on the follower gave ${read === undefined ? "an error" : `${read?.length} bytes, not the value written`}`);
    const first = await get(follower.clientUrl, "large/0", { serializable: true, timeoutMs: 15_000 });
    assert.ok(first === largeValue(0), "large/0 on the follower is not the value written");

    // Caught up by appends on a stream that stayed open: no snapshot sent, no peer given up.
    for (const m of cluster.members) {
      assert.doesNotMatch(m.output.slice(outputBefore.get(m)), /unreachable|snapshot|error|failed/i, printedSince());
    }
  } finally {
    await cluster.close();
  }
});
