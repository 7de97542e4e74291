/**
 * A range over more keys than one page (member/paged_range.ts), on a real member in process: it
 * answers the key space as it was when it began although writes and a compaction are applied
 * between its pages, and other requests are answered meanwhile; the compaction drops that history
 * only once the read is done; and a read whose answer would pass RANGE_RESPONSE_BYTES_MAX is
 * refused RESOURCE_EXHAUSTED, changing nothing — a read-only txn's ranges counted together — while
 * one that holds less (keys only, a sort's first few, what a filter lets through) is answered.
 */
import { peerDial } from "../../runtime/dial.ts";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RANGE_PAGE_KEYS, RANGE_RESPONSE_BYTES_MAX, REQUEST_BYTES_MAX } from "../../config/limits.ts";
import type { Command } from "../../etcd/commands.ts";
import { GrpcCode, isEtcdError } from "../../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../../etcd/types.ts";
import { Member, type MemberConfig } from "../../member/member.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const put = (key: string, value: string | Uint8Array): Command =>
  ({ op: "put", put: { key: bytes(key), value: typeof value === "string" ? bytes(value) : value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
const rangeOf = (prefix: string, more: Partial<RangeRequest> = {}): RangeRequest => ({
  key: bytes(prefix), rangeEnd: bytes(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)), limit: 0, revision: 0,
  sortOrder: 0, sortTarget: 0, serializable: true, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0,
  maxCreateRevision: 0, ...more,
});

async function withMember(run: (member: Member) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "concord-paged-"));
  const peer = "http://127.0.0.1:1";
  const config: MemberConfig = {
    name: "solo", dataDir: dir, peerUrls: [peer], clientUrls: ["http://127.0.0.1:2"], clusterToken: "t", peerDial: peerDial(undefined),
    initialCluster: [{ name: "solo", peerUrls: [peer] }], initialClusterState: "new",
    heartbeatMs: 100, electionMs: 1000, snapshotCount: 100_000, log: () => {},
  };
  const member = await Member.open(config);
  try {
    await run(member);
  } finally {
    await member.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function propose(member: Member, command: Command): Promise<void> {
  const result = await member.propose(command);
  assert.ok(!isEtcdError(result), String(result));
}

test("paged range > answers the keys as they were when it began, though writes and a compaction apply between its pages", async () => {
  await withMember(async (member) => {
    const keys = RANGE_PAGE_KEYS * 20;
    const name = (i: number) => `p/${String(i).padStart(5, "0")}`;
    for (let i = 0; i < keys; i += 128) {
      const success = Array.from({ length: Math.min(128, keys - i) }, (_, k) => {
        const write = put(name(i + k), `old${i + k}`) as Extract<Command, { op: "put" }>;
        return { kind: "put" as const, put: write.put };
      });
      await propose(member, { op: "txn", txn: { compare: [], success, failure: [] } });
    }
    const began = member.revision;
    const reading = member.range(rangeOf("p/"));
    assert.ok(reading instanceof Promise, "a range over many pages is read in pages");
    // Meanwhile: keys rewritten ahead of the read and behind it, a span deleted, and a compaction past where it began.
    const writes: Promise<void>[] = [];
    for (let i = 0; i < keys; i += 997) writes.push(propose(member, put(name(i), "new")));
    writes.push(propose(member, { op: "deleteRange", deleteRange: { key: bytes(name(0)), rangeEnd: bytes(name(100)), prevKv: false } }));
    let compacted = false;
    writes.push(propose(member, { op: "compact", compact: { revision: began + writes.length, physical: false } }).then(() => void (compacted = true)));
    const answer = await reading;
    const compactedMeanwhile = compacted;
    await Promise.all(writes);
    assert.ok(compactedMeanwhile, "the writes and the compaction were applied while the read went on");
    assert.ok(!isEtcdError(answer));
    assert.equal(answer.kvs.length, keys);
    assert.equal(answer.count, keys);
    const wrong = answer.kvs.findIndex((kv, i) => text(kv.value) !== `old${i}` || kv.modRevision > began);
    assert.equal(wrong, -1, `a key read as it was after the read began: ${wrong >= 0 && text(answer.kvs[wrong].key)}`);
    // Once it is done, the compaction drops the history it held back.
    const after = await member.range(rangeOf("p/", { revision: began }));
    assert.ok(isEtcdError(after) && after.message.includes("compacted"), "the revision the read was at is compacted now");
  });
});

test("paged range > a read-only txn's ranges all read the revision it began at, though a compaction passes it meanwhile", async () => {
  await withMember(async (member) => {
    const keys = RANGE_PAGE_KEYS * 10;
    const name = (i: number) => `q/${String(i).padStart(5, "0")}`;
    for (let i = 0; i < keys; i += 128) {
      const success = Array.from({ length: Math.min(128, keys - i) }, (_, k) => ({ kind: "put" as const, put: (put(name(i + k), "old") as Extract<Command, { op: "put" }>).put }));
      await propose(member, { op: "txn", txn: { compare: [], success, failure: [] } });
    }
    const began = member.revision;
    const read = { kind: "range" as const, range: rangeOf("q/") };
    const reading = member.propose({ op: "txn", txn: { compare: [], success: [read, read, read], failure: [] } });
    let compacted = false;
    const writes = [propose(member, put(name(keys - 1), "new")), propose(member, put(name(0), "new"))];
    writes.push(propose(member, { op: "compact", compact: { revision: began + 2, physical: false } }).then(() => void (compacted = true)));
    const answer = await reading;
    const compactedMeanwhile = compacted;
    await Promise.all(writes);
    assert.ok(compactedMeanwhile, "the compaction was applied while the txn read");
    assert.ok(!isEtcdError(answer), `the txn failed: ${isEtcdError(answer) ? answer.message : ""}`);
    const ranges = (answer as { responses: { range: RangeResponse }[] }).responses.map((r) => r.range);
    assert.equal(ranges.length, 3);
    for (const r of ranges) {
      assert.equal(r.kvs.length, keys);
      assert.ok(r.kvs.every((kv) => text(kv.value) === "old"), "a range saw a write made after the txn began");
    }
  });
});

test("paged range > a read whose answer would pass RANGE_RESPONSE_BYTES_MAX is refused RESOURCE_EXHAUSTED", async () => {
  await withMember(async (member) => {
    const value = new Uint8Array(REQUEST_BYTES_MAX - 1024).fill(120);
    const values = Math.ceil(RANGE_RESPONSE_BYTES_MAX / value.length) + 1;
    for (let i = 0; i < values; i++) await propose(member, put(`big/${String(i).padStart(3, "0")}`, value));
    const revision = member.revision;
    const answer = await member.range(rangeOf("big/", { limit: values }));
    assert.ok(isEtcdError(answer), "answered");
    assert.equal(answer.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.match(answer.message, new RegExp(`^grpc: trying to send message larger than max \\(\\d+ vs\\. ${RANGE_RESPONSE_BYTES_MAX}\\)$`));
    assert.equal(member.revision, revision);
    assert.equal(member.refusals.refused("RANGE_RESPONSE_BYTES_MAX"), 1, "the refusal counted for /metrics");
    const some = await member.range(rangeOf("big/", { limit: 3 }));
    assert.ok(!isEtcdError(some) && some.kvs.length === 3 && some.more, "a limit under it is answered");
    // What the answer holds is what counts: keys only, the newest one, or the few a filter lets through.
    const keysOnly = await member.range(rangeOf("big/", { keysOnly: true }));
    assert.ok(!isEtcdError(keysOnly) && keysOnly.kvs.length === values, "keys only over more than the bound");
    const newest = await member.range(rangeOf("big/", { sortOrder: 2, sortTarget: 3, limit: 1 }));
    assert.ok(!isEtcdError(newest) && newest.kvs.length === 1 && text(newest.kvs[0].key) === `big/${String(values - 1).padStart(3, "0")}`, "the newest one");
    const recent = await member.range(rangeOf("big/", { minModRevision: revision - 1 }));
    assert.ok(!isEtcdError(recent) && recent.kvs.length === 2 && recent.count === values, "the two a filter lets through");
    // A read-only txn's ranges count together: many small reads of the same values pass it too.
    const reads = Math.ceil(RANGE_RESPONSE_BYTES_MAX / (2 * value.length)) + 1;
    const txn = { compare: [], success: Array.from({ length: reads }, () => ({ kind: "range" as const, range: rangeOf("big/", { limit: 2 }) })), failure: [] };
    const answered = await member.propose({ op: "txn", txn });
    assert.ok(isEtcdError(answered) && answered.code === GrpcCode.RESOURCE_EXHAUSTED, `a txn of ${reads} reads of two values: ${JSON.stringify(answered).slice(0, 200)}`);
    const fewer = await member.propose({ op: "txn", txn: { ...txn, success: txn.success.slice(0, 4) } });
    assert.ok(!isEtcdError(fewer), "four of them are answered");
    assert.equal(member.revision, revision);
  });
});
