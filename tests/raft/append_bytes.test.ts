/**
 * Appends bounded in bytes (etcd's MaxSizePerMsg): the log cuts a slice before the entry that would
 * take it past the bound, never to nothing; and a leader catching up a follower that fell behind on
 * large entries sends appends that stay within the bound — an entry larger than the bound alone —
 * until the follower holds the whole log (issue 12: 64 entries of 1.5 MiB made one append larger
 * than any frame a member accepts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RaftLog } from "../../raft/log.ts";
import { Raft } from "../../raft/raft.ts";
import type { Entry, Message, NodeId } from "../../raft/types.ts";

const entryOf = (index: number, bytes: number): Entry => ({ index, term: 1, data: new Uint8Array(bytes) });
const indexes = (entries: Entry[]) => entries.map((e) => e.index);
const dataBytes = (entries: Entry[]) => entries.reduce((n, e) => n + e.data.byteLength, 0);

test("raft log > a slice bounded in bytes stops before the entry that would pass the bound, and is never empty", () => {
  // Entries 1…6 of 1, 2, 3, 10, 1 and 1 bytes.
  const log = new RaftLog([1, 2, 3, 10, 1, 1].map((bytes, i) => entryOf(i + 1, bytes)), 6);
  assert.deepEqual(indexes(log.slice(1, 7)), [1, 2, 3, 4, 5, 6], "no bound: every entry asked for");
  assert.deepEqual(indexes(log.slice(1, 7, 6)), [1, 2, 3], "1 + 2 + 3 bytes fit in 6 exactly");
  assert.deepEqual(indexes(log.slice(1, 7, 5)), [1, 2], "the third entry would make 6 bytes");
  assert.deepEqual(indexes(log.slice(4, 7, 5)), [4], "an entry larger than the bound comes alone");
  assert.deepEqual(indexes(log.slice(3, 7, 5)), [3], "an entry that would pass the bound is left for the next slice");
  assert.deepEqual(indexes(log.slice(5, 7, 0)), [5], "a bound of 0 still gives one entry");
  assert.deepEqual(indexes(log.slice(5, 6, 100)), [5], "the count bound (hi) still holds");
  assert.deepEqual(log.slice(7, 7, 5), [], "nothing asked, nothing given");
});

const KiB = 1024;
const ELECTION_TICKS = 10;

/**
 * Three nodes driven by hand: Readies run and messages delivered until none is left; a node that
 * is down neither receives nor sends. Every message delivered is kept in `delivered`.
 */
function threeNodes(maxAppendBytes: number) {
  const ids: NodeId[] = ["s1", "s2", "s3"];
  const nodes = new Map(ids.map((id) => [id, new Raft({
    id, voters: ids, electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: () => 0, preVote: true, checkQuorum: true,
    maxInflight: 64, maxEntriesPerAppend: 64, maxAppendBytes,
  }, { hardState: { term: 0, vote: "", commit: 0 }, entries: [], applied: 0 })]));
  const applied = new Map(ids.map((id) => [id, [] as Entry[]]));
  const down = new Set<NodeId>();
  const delivered: Message[] = [];
  const settle = () => {
    for (let round = 0; round < 1_000; round++) {
      const outbox: Message[] = [];
      for (const [id, raft] of nodes) {
        if (!raft.hasReady()) continue;
        const rd = raft.ready();
        outbox.push(...rd.messages);
        applied.get(id)!.push(...rd.committed);
        raft.advance(rd);
      }
      if (outbox.length === 0) return;
      for (const m of outbox) {
        if (down.has(m.from) || down.has(m.to)) continue;
        delivered.push(m);
        nodes.get(m.to)!.step(m);
      }
    }
    throw new Error("messages did not settle in 1,000 rounds");
  };
  return { nodes, applied, down, delivered, settle };
}

test("raft scenario > a follower catching up on large entries gets appends bounded in bytes, an oversized entry alone", () => {
  const BOUND = 10 * KiB;
  const c = threeNodes(BOUND);
  const s1 = c.nodes.get("s1")!;
  for (let i = 0; i < ELECTION_TICKS; i++) s1.tick();
  c.settle();
  assert.equal(s1.role, "leader");

  // s3 goes down; the others go on committing: 3 KiB entries, one of 25 KiB (over the bound), more of 3 KiB.
  c.down.add("s3");
  const sizes = [...Array(7).fill(3 * KiB), 25 * KiB, ...Array(4).fill(3 * KiB)];
  for (const bytes of sizes) {
    assert.ok(s1.propose(new Uint8Array(bytes)));
    c.settle();
  }
  assert.equal(s1.log.committed, s1.log.lastIndex, "s1 and s2 committed every entry without s3");
  const behind = c.nodes.get("s3")!.log.lastIndex;
  assert.ok(behind < s1.log.lastIndex - sizes.length + 1, "s3 holds none of them");

  // s3 comes back: the next heartbeat finds it behind, and the leader catches it up.
  c.down.delete("s3");
  const from = c.delivered.length;
  for (let i = 0; i < 3; i++) {
    s1.tick();
    c.settle();
  }
  const appends = c.delivered.slice(from).filter((m) => m.type === "app" && m.to === "s3" && m.entries.length > 0);
  for (const m of appends) {
    assert.ok(m.entries.length === 1 || dataBytes(m.entries) <= BOUND,
      `an append of ${m.entries.length} entries carried ${dataBytes(m.entries)} bytes, over ${BOUND}`);
  }
  const oversized = appends.filter((m) => m.entries.some((e) => e.data.byteLength > BOUND));
  assert.ok(oversized.length > 0 && oversized.every((m) => m.entries.length === 1), "the 25 KiB entry went, alone");
  assert.ok(appends.some((m) => m.entries.length === 3), "entries that fit rode along together (3 × 3 KiB)");
  assert.ok(appends.every((m) => m.entries.length <= 3), "no append carried a fourth 3 KiB entry");

  const s3 = c.nodes.get("s3")!;
  assert.equal(s3.log.lastIndex, s1.log.lastIndex, "s3 holds the whole log");
  assert.equal(s3.log.committed, s1.log.committed);
  assert.deepEqual(c.applied.get("s3")!.map((e) => e.data.byteLength), c.applied.get("s1")!.map((e) => e.data.byteLength));
});

test("raft scenario > without a byte bound a catching-up follower gets the whole backlog in one append", () => {
  // The behaviour issue 12 found: the count bound alone lets one append carry every large entry.
  const c = threeNodes(Infinity);
  const s1 = c.nodes.get("s1")!;
  for (let i = 0; i < ELECTION_TICKS; i++) s1.tick();
  c.settle();
  c.down.add("s3");
  for (let i = 0; i < 10; i++) {
    s1.propose(new Uint8Array(3 * KiB));
    c.settle();
  }
  c.down.delete("s3");
  const from = c.delivered.length;
  s1.tick();
  c.settle();
  const appends = c.delivered.slice(from).filter((m) => m.type === "app" && m.to === "s3" && m.entries.length > 0);
  assert.equal(appends.length, 1);
  assert.equal(appends[0].entries.length, 10);
});
