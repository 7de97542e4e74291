/**
 * The limits in config/limits.ts fit together, and a set that does not is refused with the
 * relation it breaks — the start-up check a member runs before it serves.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { checkLimits, LIMITS } from "../../config/limits.ts";
import { ROOT } from "../../testkit/processes.ts";

test("limits > the defaults keep every relation", () => {
  assert.deepEqual(checkLimits(), []);
  assert.deepEqual(checkLimits(LIMITS, { heartbeatMs: 100, electionMs: 1000 }), []);
});

test("limits > an append that would not fit in a frame the receiver accepts is refused", () => {
  // The mismatch issue 12 found by reading: 64 entries of 1.5 MiB against a 64 MiB frame cap.
  const broken = checkLimits({ ...LIMITS, RAFT_APPEND_BYTES_MAX: 96 * 1024 * 1024 });
  assert.ok(broken.some((b) => b.includes("RAFT_APPEND_BYTES_MAX")), broken.join("\n"));
  const frames = checkLimits({ ...LIMITS, PEER_FRAME_BYTES_MAX: LIMITS.PEER_BATCH_BYTES_MAX });
  assert.ok(frames.some((b) => b.includes("PEER_FRAME_BYTES_MAX")), frames.join("\n"));
});

test("limits > forwarded batches must fit under the proposal limit and in a frame", () => {
  const broken = checkLimits({ ...LIMITS, PEER_PROPOSALS_PER_BATCH_MAX: LIMITS.PENDING_PROPOSALS_MAX + 1, PEER_PROPOSALS_BATCH_BYTES_MAX: LIMITS.PEER_FRAME_BYTES_MAX });
  assert.equal(broken.length, 2, broken.join("\n"));
});

test("limits > timing: a tick shorter than a millisecond is refused", () => {
  assert.deepEqual(checkLimits(LIMITS, { heartbeatMs: 10, electionMs: 50 }), []);
  const broken = checkLimits(LIMITS, { heartbeatMs: 5, electionMs: 50 });
  assert.ok(broken.some((b) => b.includes("a tick")), broken.join("\n"));
});

test("limits > a member whose timing breaks a relation does not start, and says which", () => {
  // --heartbeat-interval 5 passes the flags' own checks but makes ticks of half a millisecond.
  const bin = `${ROOT}/node_modules/.bin/bun`;
  const run = spawnSync(bin, ["server.ts", "--heartbeat-interval", "5", "--election-timeout", "50", "--data-dir", "/nonexistent/never-created"], {
    cwd: ROOT, encoding: "utf8", timeout: 20_000,
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /limits that do not fit together/);
  assert.match(run.stderr, /a tick/);
});
