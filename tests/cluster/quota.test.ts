/**
 * etcd's space quota on a real 3-member cluster, as an operator meets it: writes to a follower
 * fill the state past --quota-backend-bytes until one is refused with etcd's NOSPACE error; the
 * NOSPACE alarm is then raised cluster-wide — every member lists it (etcdctl alarm list, the
 * gateway), shows it in its status, answers /health false, and refuses puts, txns that put and
 * lease grants while reads, deletes and compaction still work. Disarmed with the space still
 * taken, the next write raises it again. Deleting, compacting and defragmenting every member frees
 * the space; disarmed then, writes go on and /health is true again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TestCluster } from "../../testkit/cluster.ts";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const QUOTA_BYTES = 2 * 1024 * 1024;
const VALUE_BYTES = 100_000;
const NO_SPACE = "etcdserver: mvcc: database space exceeded";

const post = async (url: string, path: string, body: unknown) => {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: r.status, json: await r.json() as Record<string, unknown> };
};
const health = async (url: string) => {
  const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, text: await r.text() };
};
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

test("quota > past --quota-backend-bytes writes fail with NOSPACE, raised on every member; compact + defrag + disarm and writes go on", onBunOnly("the quota is the member's, the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3, { flags: ["--quota-backend-bytes", String(QUOTA_BYTES)] });
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const all = cluster.members.map((m) => m.clientUrl);
    const value = b64(new Uint8Array(VALUE_BYTES).fill(7));

    let refused: { status: number; json: Record<string, unknown> } | undefined;
    let written = 0;
    for (let i = 0; i < 3 * QUOTA_BYTES / VALUE_BYTES && !refused; i++) {
      const put = await post(follower.clientUrl, "/v3/kv/put", { key: b64(`big/${i}`), value });
      if (put.status === 200) written++;
      else refused = put;
    }
    assert.ok(written * VALUE_BYTES > QUOTA_BYTES / 2, `only ${written} values fitted`);
    assert.deepEqual(refused, { status: 429, json: { error: NO_SPACE, message: NO_SPACE, code: 8 } });

    const followerId = BigInt((await cluster.status(follower))!.memberId).toString();
    const listed = `memberID:${followerId} alarm:NOSPACE \n`;
    for (const url of all) {
      const list = await etcdctl([url.replace("http://", "")], ["alarm", "list"]);
      assert.equal(list.stdout, listed, `${url}: ${list.stderr}`);
      assert.deepEqual((await post(url, "/v3/maintenance/alarm", { action: "GET" })).json, { alarms: [{ memberID: followerId, alarm: "NOSPACE" }] });
      assert.deepEqual((await post(url, "/v3/maintenance/status", {})).json.errors, [listed.trimEnd() + " "]);
      assert.deepEqual(await health(url), { status: 503, text: `{"health":"false"}\n` });
      // Cluster-wide: a small put is refused on every member, a txn that puts and a lease grant too.
      assert.equal((await post(url, "/v3/kv/put", { key: b64("small"), value: b64("x") })).json.error, NO_SPACE);
      const txn = await post(url, "/v3/kv/txn", { success: [{ request_put: { key: b64("small"), value: b64("x") } }] });
      assert.equal(txn.json.error, NO_SPACE);
      assert.equal((await post(url, "/v3/lease/grant", { TTL: 60 })).json.error, NO_SPACE);
      // Reads still work.
      const count = await post(url, "/v3/kv/range", { key: b64("big/"), range_end: b64("big0"), count_only: true });
      assert.equal(count.json.count, String(written));
    }

    // Disarmed with the space still taken: the next write raises it again.
    const disarm = await etcdctl([follower.clientUrl.replace("http://", "")], ["alarm", "disarm"]);
    assert.equal(disarm.stdout, listed, disarm.stderr);
    assert.equal((await post(follower.clientUrl, "/v3/kv/put", { key: b64("again"), value })).json.error, NO_SPACE);
    assert.equal((await etcdctl([leader.clientUrl.replace("http://", "")], ["alarm", "list"])).stdout, listed);

    // Free the space: delete, compact (deletes and compaction are allowed under NOSPACE), defragment each member.
    const deleted = await post(leader.clientUrl, "/v3/kv/deleterange", { key: b64("big/"), range_end: b64("big0") });
    assert.equal(deleted.json.deleted, String(written));
    const revision = Number((deleted.json.header as Record<string, string>).revision);
    assert.equal((await post(leader.clientUrl, "/v3/kv/compaction", { revision, physical: true })).status, 200);
    for (const url of all) assert.deepEqual(await post(url, "/v3/maintenance/defragment", {}), { status: 200, json: {} });
    for (const url of all) {
      const status = (await post(url, "/v3/maintenance/status", {})).json;
      assert.ok(Number(status.dbSize) < QUOTA_BYTES / 2, `${url} still takes ${status.dbSize} bytes`);
    }

    const disarmed = await etcdctl([leader.clientUrl.replace("http://", "")], ["alarm", "disarm"]);
    assert.equal(disarmed.stdout, listed, disarmed.stderr);
    for (const url of all) {
      assert.equal((await etcdctl([url.replace("http://", "")], ["alarm", "list"])).stdout, "");
      assert.deepEqual(await health(url), { status: 200, text: `{"health":"true"}` });
    }
    assert.equal((await post(follower.clientUrl, "/v3/kv/put", { key: b64("after"), value })).status, 200);
    assert.equal((await post(leader.clientUrl, "/v3/lease/grant", { TTL: 60 })).status, 200);
  } finally {
    await cluster.close();
  }
});
