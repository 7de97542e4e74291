/**
 * No entry can make applying fail: one that holds no command the member can apply — in the log
 * however it got there (the peer port refuses such writes) — changes nothing, and the member goes on
 * taking writes, then and after a restart. A real member, in process, alone (so it leads at once);
 * the entry is put in through the leader's own door for forwarded writes, past the peer port.
 */
import { peerDial } from "../../runtime/dial.ts";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isEtcdError } from "../../etcd/errors.ts";
import { Member, type MemberConfig } from "../../member/member.ts";
import { eventually } from "../../testkit/eventually.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const put = (key: string) => ({ op: "put" as const, put: { key: bytes(key), value: bytes("v"), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });

test("poisoned entry > an entry that is not a command changes nothing, and the member takes writes after it and after a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-poison-"));
  const peer = "http://127.0.0.1:1";
  const lines: string[] = [];
  const config: MemberConfig = {
    name: "solo", dataDir: dir, peerUrls: [peer], clientUrls: ["http://127.0.0.1:2"], clusterToken: "t", peerDial: peerDial(undefined),
    initialCluster: [{ name: "solo", peerUrls: [peer] }], initialClusterState: "new",
    heartbeatMs: 100, electionMs: 1000, snapshotCount: 10_000, log: (line) => lines.push(line),
  };
  let member = await Member.open(config);
  try {
    assert.ok(!isEtcdError(await member.propose(put("before"))));
    const revision = member.revision;
    const poisons = [new Uint8Array([1, 2, 3]), bytes(JSON.stringify({ op: "conf", kind: "removeNode", id: "x" })), bytes(JSON.stringify({ op: "put", put: {} }))];
    const placed = member.acceptForwarded(poisons.map((data, i) => ({ rid: `p${i}`, data })));
    assert.ok(placed.every((p) => p.index > 0), "in the log");
    await eventually("the three entries applied as nothing", 5_000, () =>
      lines.filter((l) => l.includes("holds no command this member can apply")).length === poisons.length || undefined);
    assert.equal(member.revision, revision, "they changed nothing");
    assert.ok(!isEtcdError(await member.propose(put("after"))), "and the member still takes writes");
    await member.close();
    member = await Member.open(config);
    assert.ok(!isEtcdError(await member.propose(put("after restart"))), "its log replays past them");
    const found = await member.range({
      key: bytes("after"), rangeEnd: new Uint8Array(), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: true, keysOnly: false,
      countOnly: true, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    });
    assert.ok(!isEtcdError(found) && found.count === 1, "the write before the restart is there");
  } finally {
    await member.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
