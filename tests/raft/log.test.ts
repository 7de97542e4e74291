/**
 * The core's log: appends, conflicts, stability, and compaction — what survives it and what a
 * restart from a compacted log looks like.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { COMPACTED_TERM, RaftLog } from "../../raft/log.ts";
import type { Entry } from "../../raft/types.ts";

const entry = (index: number, term: number, text = ""): Entry => ({ index, term, data: new TextEncoder().encode(text) });
const terms = (log: RaftLog) => log.slice(log.firstIndex, log.lastIndex + 1).map((e) => e.term);

test("raft log > a conflicting append truncates the tail and pulls stable back", () => {
  const log = new RaftLog([entry(1, 1), entry(2, 1), entry(3, 2)], 1);
  assert.equal(log.stable, 3);
  assert.equal(log.appendFollowing(1, [entry(2, 1), entry(3, 3), entry(4, 3)]), 4);
  assert.deepEqual(terms(log), [1, 1, 3, 3]);
  assert.equal(log.stable, 2, "the replaced entries must be persisted again");
  assert.deepEqual(log.unstable().map((e) => e.index), [3, 4]);
  assert.throws(() => log.appendFollowing(0, [entry(1, 9)]), /committed/);
});

test("raft log > compaction forgets applied entries and keeps the rest working", () => {
  const log = new RaftLog([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], 4);
  log.applied = 3;
  assert.throws(() => log.compact(4), /beyond applied/);
  log.compact(3);
  assert.equal(log.firstIndex, 4);
  assert.equal(log.term(3), 2, "the last compacted entry's term is kept");
  assert.equal(log.term(2), COMPACTED_TERM);
  assert.ok(log.matchTerm(3, 2));
  assert.throws(() => log.slice(3, 5), /starts at 4/);
  assert.equal(log.appendFollowing(4, [entry(5, 3)]), 5);
  assert.deepEqual(terms(log), [2, 3]);
  assert.equal(log.findConflictByTerm(5, 1), 3, "back-off stops at the start of the log");
});

test("raft log > a log restarts from its compacted tail", () => {
  const log = new RaftLog([entry(11, 4), entry(12, 5)], 12, { index: 10, term: 4 });
  assert.equal(log.firstIndex, 11);
  assert.equal(log.lastIndex, 12);
  assert.equal(log.applied, 10, "what was compacted was applied");
  assert.equal(log.committed, 12);
  assert.deepEqual(log.toApply().map((e) => e.index), [11, 12]);
  assert.throws(() => new RaftLog([entry(12, 5)], 12, { index: 10, term: 4 }), /position 11/);
});

test("raft log > its data bytes follow appends, conflicts, compaction and a snapshot; entries up to an index are found within a budget", () => {
  const log = new RaftLog([entry(1, 1, "aaaa"), entry(2, 1, "bb")], 2);
  assert.equal(log.bytes, 6);
  log.appendOwn([entry(3, 1, "cccccc")]);
  assert.equal(log.bytes, 12);
  // A leader of term 2 replaces entry 3 with a shorter one and adds another.
  log.appendFollowing(2, [entry(3, 2, "d"), entry(4, 2, "eee")]);
  assert.equal(log.bytes, 10);
  // Up to 4: 3 bytes (4) + 1 (3) fit in 4; entry 2's 2 more do not.
  assert.equal(log.firstWithinBytes(4, 4), 3);
  assert.equal(log.firstWithinBytes(2, 4), 5, "entry 4 alone is over the budget");
  assert.equal(log.firstWithinBytes(100, 4), 1, "everything fits");
  assert.equal(log.firstWithinBytes(4, 2), 2, "counted from the index asked");
  log.stableTo(4, 2);
  log.commitTo(4);
  log.applied = 4;
  log.compact(2);
  assert.equal(log.bytes, 4);
  log.restore(9, 3);
  assert.equal(log.bytes, 0);
});
