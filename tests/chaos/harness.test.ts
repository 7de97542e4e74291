/**
 * The chaos harness's own means, proven before they are trusted: a partition made through the peer
 * proxies is real (the isolated leader loses its cluster, the others elect a new one and take
 * writes it cannot, and after the heal it follows them); a one-way cut stops only one direction;
 * and the watch checker names each way a watch can go wrong — a revision twice, out of order,
 * missing, or with another value than the history's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TestCluster, put } from "../../testkit/cluster.ts";
import { watchAnomaly } from "../../testkit/chaos/watchers.ts";
import { eventually } from "../../testkit/eventually.ts";

test("chaos harness > a partition through the peer proxies is real, and heals", async () => {
  const cluster = await TestCluster.start(3, { proxies: true });
  try {
    const leader = await cluster.leader();
    const others = cluster.members.filter((m) => m !== leader);
    const ids = new Map(await Promise.all(cluster.members.map(async (m) => [m, BigInt((await cluster.status(m))!.memberId).toString(16)] as const)));
    // Both ways: nothing from the others reaches the leader, nothing from it reaches them.
    leader.proxy!.cut(others.map((m) => ids.get(m)!));
    for (const m of others) m.proxy!.cut([ids.get(leader)!]);
    const newLeader = await cluster.leader(10_000, others);
    assert.notEqual(newLeader, leader);
    assert.equal((await put(newLeader.clientUrl, "p", "majority", 3_000))?.status, 200);
    const cutOff = await put(leader.clientUrl, "p", "minority", 2_500);
    assert.notEqual(cutOff?.status, 200, "the isolated member took a write");
    for (const m of cluster.members) m.proxy!.cut([]);
    await cluster.leader(10_000);
    const newId = (await cluster.status(newLeader))!.memberId;
    await eventually("the old leader follows the new one", 10_000, async () => ((await cluster.status(leader))?.leader === newId ? true : undefined));
  } finally {
    await cluster.close();
  }
});

test("chaos harness > a one-way cut stops only what one member sends to another", async () => {
  const cluster = await TestCluster.start(3, { proxies: true });
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const followerId = BigInt((await cluster.status(follower))!.memberId).toString(16);
    // The follower's answers never reach the leader; the leader's heartbeats still reach it.
    leader.proxy!.cut([followerId]);
    assert.equal((await put(leader.clientUrl, "w", "1", 3_000))?.status, 200, "the leader and the third member still make a majority");
    const leaderId = (await cluster.status(leader))!.memberId;
    assert.equal((await cluster.status(follower))?.leader, leaderId, "the follower still hears the leader");
    leader.proxy!.cut([]);
  } finally {
    await cluster.close();
  }
});

test("chaos harness > the watch checker names a revision twice, out of order, missing, or changed", () => {
  const history = [1, 2, 3, 4].map((revision) => ({ revision, key: `k${revision}`, value: `v${revision}` }));
  const [a, b, c, d] = history;
  assert.equal(watchAnomaly(history, history), undefined);
  assert.equal(watchAnomaly([a, b], history), undefined, "a watcher that has seen a prefix so far is right");
  assert.match(watchAnomaly([a, b, b, c], history)!, /revision 2 after 2: delivered twice/);
  assert.match(watchAnomaly([a, c, b, d], history)!, /revision 2 after 3: out of order/);
  assert.match(watchAnomaly([a, b, d], history)!, /1 revisions up to 4 never delivered, the first 3 \(k3=v3\)/);
  assert.match(watchAnomaly([a, { ...b, value: "other" }], history)!, /revision 2: saw k2=other, the history has k2=v2/);
  assert.match(watchAnomaly([a, { revision: 9, key: "k9", value: "v9" }], history)!, /revision 9 \(k9=v9\) is not in the prefix's history/);
});
