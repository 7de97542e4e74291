/**
 * A learner, as etcd serves one: it answers serializable reads and status, and every other call —
 * linearizable reads, writes, leases, watches, cluster calls (the member list too: a real etcd
 * 3.4.23 learner refuses it) and moving leadership — with etcd's "rpc not supported for learner"
 * (UNAVAILABLE, 503 through the gateway), before it looks at the request's body.
 * Real processes: one voter, one learner added with member add and started to join.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { get, post, put, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";

const REFUSAL = "etcdserver: rpc not supported for learner";

test("cluster > a learner serves serializable reads and status, and refuses the rest in etcd's words", async () => {
  const cluster = await TestCluster.start(1);
  try {
    const [voter] = cluster.members;
    await cluster.leader();
    assert.equal((await put(voter.clientUrl, "k", "v"))?.status, 200);
    const learner = await cluster.define("learner");
    const added = await post(voter.clientUrl, "/v3/cluster/member/add", JSON.stringify({ peerURLs: [learner.peerUrl], isLearner: true }));
    assert.equal(added.status, 200, added.text);
    await cluster.join(learner);
    const url = learner.clientUrl;
    await eventually("the learner has the key", 10_000, async () => (await get(url, "k", { serializable: true })) === "v" ? true : undefined);

    const status = await post(url, "/v3/maintenance/status", "{}");
    assert.equal(status.status, 200, status.text);
    assert.equal(JSON.parse(status.text).isLearner, true);

    const refused: [string, string][] = [
      ["/v3/kv/range", JSON.stringify({ key: btoa("k") })],
      ["/v3/kv/put", JSON.stringify({ key: btoa("k"), value: btoa("w") })],
      // Refused before the body is read: etcd checks the member first.
      ["/v3/kv/put", "{\"key\": 5}"],
      ["/v3/kv/deleterange", JSON.stringify({ key: btoa("k") })],
      ["/v3/kv/txn", "{}"],
      ["/v3/kv/compaction", JSON.stringify({ revision: "1" })],
      ["/v3/lease/grant", JSON.stringify({ TTL: "60" })],
      ["/v3/lease/revoke", JSON.stringify({ ID: "1" })],
      ["/v3/lease/timetolive", JSON.stringify({ ID: "1" })],
      ["/v3/lease/leases", "{}"],
      ["/v3/lease/keepalive", JSON.stringify({ ID: "1" })],
      ["/v3/watch", JSON.stringify({ create_request: { key: btoa("k") } })],
      ["/v3/cluster/member/list", "{}"],
      ["/v3/cluster/member/add", JSON.stringify({ peerURLs: ["http://127.0.0.1:9"] })],
      ["/v3/cluster/member/promote", JSON.stringify({ ID: "1" })],
      ["/v3/maintenance/transfer-leadership", JSON.stringify({ targetID: "1" })],
    ];
    for (const [path, body] of refused) {
      const answer = await post(url, path, body);
      assert.equal(answer.status, 503, `${path}: ${answer.text}`);
      const first = JSON.parse(answer.text.split("\n")[0]);
      assert.equal(first.message ?? first.error?.message, REFUSAL, `${path}: ${answer.text}`);
    }
    // The value was not changed by the refused put.
    assert.equal(await get(voter.clientUrl, "k"), "v");
  } finally {
    await cluster.close();
  }
});
