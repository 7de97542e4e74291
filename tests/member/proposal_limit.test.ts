/**
 * The proposal limit counts every write waiting to be applied on the leader — its own clients'
 * and those followers handed it — so a flood of forwarded writes is refused as etcd refuses when it
 * falls behind ("etcdserver: too many requests"), and the limit frees as entries are applied. A
 * real member, in process, alone (so it leads at once), with the limit turned down.
 */
import { peerDial } from "../../runtime/dial.ts";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeCommand } from "../../etcd/commands.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { Member } from "../../member/member.ts";
import { REFUSED_BUSY } from "../../peer/types.ts";
import { eventually } from "../../testkit/eventually.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const put = (key: string) => ({ op: "put" as const, put: { key: bytes(key), value: bytes("v"), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
const putOf = (key: string, rid: string) => encodeCommand(put(key), rid);

test("proposal limit > forwarded writes count against it, beside the leader's own, until applied", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-limit-"));
  const peer = "http://127.0.0.1:1";
  const member = await Member.open({
    name: "solo", dataDir: dir, peerUrls: [peer], clientUrls: ["http://127.0.0.1:2"], clusterToken: "t", peerDial: peerDial(undefined),
    initialCluster: [{ name: "solo", peerUrls: [peer] }], initialClusterState: "new",
    heartbeatMs: 100, electionMs: 1000, snapshotCount: 10_000, pendingProposalsMax: 3, log: () => {},
  });
  try {
    const before = member.revision;
    // One of the leader's own writes and two handed over, in one turn: the fourth is one too many.
    const own = [member.propose(put("a"))];
    const placements = member.acceptForwarded([{ rid: "f1", data: putOf("b", "f1") }, { rid: "f2", data: putOf("c", "f2") }, { rid: "f3", data: putOf("d", "f3") }]);
    assert.deepEqual(placements.map((p) => p.index > 0), [true, true, false]);
    assert.equal(placements[2].index, REFUSED_BUSY);
    const refused = await member.propose(put("e"));
    assert.ok(isEtcdError(refused) && refused.message === "etcdserver: too many requests", String(refused));
    assert.ok(!isEtcdError(await own[0]));
    // Once the forwarded entries are applied they no longer count.
    await eventually("forwarded writes applied", 5_000, () => (member.revision >= before + 3 ? true : undefined));
    const after = member.acceptForwarded([{ rid: "f4", data: putOf("d", "f4") }]);
    assert.ok(after[0].index > 0, "a forwarded write is placed again once the earlier ones are applied");
  } finally {
    await member.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
