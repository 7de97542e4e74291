/**
 * How far a member trims its log (member/state_commits.ts logKeptFrom): a --snapshot-count at a
 * time, keeping LOG_RETAINED_ENTRIES for members that fall behind — and, when the Raft core's
 * entries hold more than their byte budget (large values), down to half of it at once, but never
 * past what the state has made durable.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LOG_RETAINED_ENTRIES, RAFT_LOG_MEMORY_BYTES_MAX } from "../../config/limits.ts";
import { logKeptFrom } from "../../member/state_commits.ts";

const MiB = 1024 * 1024;
/** A core log of `count` entries of `entryBytes` each, from index `first`. */
function memory(first: number, count: number, entryBytes: number) {
  return {
    bytes: count * entryBytes,
    firstWithinBytes: (maxBytes: number, upTo: number) => Math.max(first, upTo - Math.floor(maxBytes / entryBytes) + 1),
  };
}

test("log trim > small entries: a snapshot count at a time, the retained entries kept, whatever the bytes", () => {
  const base = { stateDurable: 20_000, stateApplied: 20_000, logFirst: 1, snapshotCount: 10_000 };
  assert.equal(logKeptFrom({ ...base, memory: memory(1, 20_000, 100) }), 20_000 - LOG_RETAINED_ENTRIES + 1);
  assert.equal(logKeptFrom({ ...base, stateApplied: 12_000, stateDurable: 12_000, memory: memory(1, 12_000, 100) }), undefined, "not a snapshot count's worth yet");
});

test("log trim > large entries: past the byte budget the log keeps half of it, never what is not durable", () => {
  const entryBytes = 1.5 * MiB;
  const applied = 1_000;
  const count = Math.ceil(RAFT_LOG_MEMORY_BYTES_MAX / entryBytes) + 10;
  const first = applied - count + 1;
  const base = { stateDurable: applied, stateApplied: applied, logFirst: first, snapshotCount: 10_000 };
  const keepFrom = logKeptFrom({ ...base, memory: memory(first, count, entryBytes) })!;
  assert.ok(keepFrom > first, "nothing trimmed past the budget");
  assert.ok((applied - keepFrom + 1) * entryBytes <= RAFT_LOG_MEMORY_BYTES_MAX / 2, `${applied - keepFrom + 1} entries kept`);
  assert.ok((applied - keepFrom + 2) * entryBytes > RAFT_LOG_MEMORY_BYTES_MAX / 2, "more trimmed than needed");
  assert.equal(logKeptFrom({ ...base, stateDurable: first + 3, memory: memory(first, count, entryBytes) }), first + 4, "the state's undurable entries stay");
  assert.equal(logKeptFrom({ ...base, memory: memory(first, 10, entryBytes) }), undefined, "within the budget nothing goes");
});
