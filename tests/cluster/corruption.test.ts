/**
 * etcd's corruption checks on a real 3-member cluster: the members' HashKV agree (etcdctl endpoint
 * hashkv). Then one follower's state is altered on disk while it is down — a value rewritten in
 * its history, as a bad disk might. Restarted with --experimental-initial-corrupt-check it refuses
 * to serve, naming the inconsistency; restarted without, the leader's periodic check
 * (--experimental-corrupt-check-time) finds its hash differs and raises CORRUPT for it, cluster-
 * wide: every write is refused with etcd's "corrupt cluster", reads still answer, /readyz names the
 * alarm.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { openDatabase } from "../../store/sqlite.ts";
import { TestCluster } from "../../testkit/cluster.ts";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { eventually } from "../../testkit/eventually.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const post = async (url: string, path: string, body: unknown) => {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: r.status, json: await r.json() as Record<string, unknown> };
};
const endpoint = (url: string) => url.replace("http://", "");

test("corruption > equal hashes across members; an altered member is refused at start-up by the initial check and found by the leader's periodic one", onBunOnly("the checks are the member's, the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3, { flags: ["--experimental-corrupt-check-time", "200ms"] });
  try {
    const leader = await cluster.leader();
    for (let i = 0; i < 20; i++) await post(leader.clientUrl, "/v3/kv/put", { key: b64(`k${i}`), value: b64(`v${i}`) });
    const hashes = await eventually("every member applied every put", 10_000, async () => {
      const r = await etcdctl(cluster.members.map((m) => endpoint(m.clientUrl)), ["endpoint", "hashkv", "-w", "json"]);
      const answers = JSON.parse(r.stdout) as { HashKV: { header: { revision: number }; hash: number } }[];
      return answers.every((a) => a.HashKV.header.revision === 21) ? answers.map((a) => a.HashKV.hash) : undefined;
    });
    assert.equal(new Set(hashes).size, 1, `hashes differ: ${hashes}`);

    // A follower's disk changes a value it holds, while it is down.
    const victim = cluster.members.find((m) => m !== leader)!;
    const victimId = BigInt((await cluster.status(victim))!.memberId);
    const statePath = join(victim.dataDir, "member", "state.db");
    await eventually("k5 is in the follower's state file", 5_000, async () => {
      const db = await openDatabase(statePath);
      try {
        return db.prepare("SELECT count(*) AS n FROM kv_history WHERE key = ?").get<{ n: number }>(new TextEncoder().encode("k5"))!.n === 1 ? true : undefined;
      } finally {
        db.close();
      }
    });
    await cluster.kill9(victim);
    const db = await openDatabase(statePath);
    db.prepare("UPDATE kv_history SET value = ? WHERE key = ?").run(new TextEncoder().encode("rotten"), new TextEncoder().encode("k5"));
    db.close();

    await assert.rejects(cluster.restart(victim, ["--experimental-initial-corrupt-check"]), (e: Error) => {
      assert.match(e.message, new RegExp(`${victimId.toString(16)} found data inconsistency with peers`));
      return true;
    });

    await cluster.restart(victim);
    const listed = `memberID:${victimId} alarm:CORRUPT \n`;
    await eventually("the leader raised CORRUPT for the altered member", 10_000, async () => {
      const r = await etcdctl([endpoint(leader.clientUrl)], ["alarm", "list"]);
      return r.stdout === listed ? true : undefined;
    });
    for (const m of cluster.members) {
      const url = m.clientUrl;
      await eventually(`${m.name} applied the alarm`, 5_000, async () => ((await etcdctl([endpoint(url)], ["alarm", "list"])).stdout === listed ? true : undefined));
      assert.deepEqual(await post(url, "/v3/kv/put", { key: b64("x"), value: b64("y") }), {
        status: 500, json: { error: "etcdserver: corrupt cluster", message: "etcdserver: corrupt cluster", code: 15 },
      });
      assert.equal((await post(url, "/v3/kv/deleterange", { key: b64("k1") })).json.code, 15);
      const read = await post(url, "/v3/kv/range", { key: b64("k1") });
      assert.equal(read.status, 200);
      const readyz = await fetch(`${url}/readyz`);
      assert.deepEqual({ status: readyz.status, text: await readyz.text() }, { status: 503, text: `{"health":"false","reason":"ALARM CORRUPT"}\n` });
    }
  } finally {
    await cluster.close();
  }
});
