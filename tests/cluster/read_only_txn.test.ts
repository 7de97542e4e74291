/**
 * A txn that only reads is served as etcd serves it — like a range, without the log: on one
 * member a thousand read-only txns (compares, ranges in both branches, a nested read-only txn)
 * leave the Raft index where it was while a txn that puts moves it; in a 3-member cluster a
 * read-only txn at a follower sees a write the leader just acknowledged (ReadIndex), and with the
 * other two members gone a serializable one is still answered from the survivor's state.
 * On Bun only: the read path is the member's own code, the same on either runtime (and the chaos
 * run's clients send read-only txns too).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TestCluster } from "../../testkit/cluster.ts";
import type { Json } from "../../testkit/json.ts";
import { startConcord } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string) => Buffer.from(s, "base64").toString();

async function post(url: string, path: string, body: unknown): Promise<Json> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const answer = await r.json();
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(answer)}`);
  return answer;
}

const raftIndex = async (url: string) => Number((await post(url, "/v3/maintenance/status", {})).raftIndex);

/**
 * Reads `key` in whichever branch its compare picks, and again in a nested read-only txn — or,
 * serializable, with no nested txn (etcd counts a txn serializable only when every op is a
 * serializable range).
 */
const readTxn = (key: string, serializable = false) => ({
  compare: [{ key: b64(key), target: "VERSION", result: "GREATER", version: "0" }],
  success: [
    { request_range: { key: b64(key), serializable } },
    ...(serializable ? [] : [{ request_txn: { success: [{ request_range: { key: b64(key) } }] } }]),
  ],
  failure: [{ request_range: { key: b64("nothing"), serializable } }],
});

const once = onBunOnly("the read path is the same code on either runtime");

test("read-only txn > a thousand leave the log as it was; a txn that puts moves it", once, async () => {
  const member = await startConcord({ name: "ro-txn" });
  try {
    await post(member.url, "/v3/kv/put", { key: b64("k"), value: b64("v1") });
    const before = await raftIndex(member.url);
    for (let i = 0; i < 1_000; i++) {
      const answer = await post(member.url, "/v3/kv/txn", readTxn("k"));
      assert.equal(answer.succeeded, true);
      assert.equal(text(answer.responses[0].response_range.kvs[0].value), "v1");
      assert.equal(text(answer.responses[1].response_txn.responses[0].response_range.kvs[0].value), "v1");
    }
    assert.equal(await raftIndex(member.url), before, "read-only txns were written to the log");
    await post(member.url, "/v3/kv/txn", { success: [{ request_put: { key: b64("k"), value: b64("v2") } }] });
    assert.equal(await raftIndex(member.url), before + 1);
  } finally {
    await member.stop();
  }
});

test("read-only txn > at a follower it sees what the leader acknowledged; alone, a serializable one is still answered", once, async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const [follower, other] = cluster.members.filter((m) => m !== leader);
    for (let i = 0; i < 20; i++) {
      await post(leader.clientUrl, "/v3/kv/put", { key: b64("k"), value: b64(`v${i}`) });
      const answer = await post(follower.clientUrl, "/v3/kv/txn", readTxn("k"));
      assert.equal(text(answer.responses[0].response_range.kvs[0].value), `v${i}`, "a stale read at the follower");
    }
    await cluster.kill9(leader);
    await cluster.kill9(other);
    const answer = await post(follower.clientUrl, "/v3/kv/txn", readTxn("k", true));
    assert.equal(text(answer.responses[0].response_range.kvs[0].value), "v19");
  } finally {
    await cluster.close();
  }
});
