/**
 * Backup and restore as an operator does them: `etcdctl snapshot save` from a follower of a
 * 3-member cluster while clients keep writing (and over HTTP: curl's GET /concord/v1/snapshot, a
 * file restorable as it is, and etcd's gateway POST /v3/maintenance/snapshot, JSON lines of
 * pieces counting down and the digest), `concord snapshot status` on the file, then
 * `concord snapshot restore` into three new data dirs founding a new cluster. The new cluster holds
 * exactly the writes acknowledged up to the backup's revision — each at its revision, none after
 * it — and the lease with its keys; its members are the new ones; it takes writes. A backup whose
 * bytes were altered is refused, as etcd refuses one, and a data dir that exists is not touched.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TestCluster } from "../../testkit/cluster.ts";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { runConcordCommand, tempDir } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string) => Buffer.from(s, "base64").toString();
const post = async (url: string, path: string, body: unknown) => {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  // deno-lint-ignore no-explicit-any -- etcd's JSON answers, read field by field below
  return await r.json() as Record<string, any>;
};

const LOAD_PUTS_MAX = 5_000;
const LOAD_MS_MAX = 20_000;

test("backup > saved under load, restored into a new 3-member cluster: every write acknowledged up to its revision, each at its revision, and the lease", onBunOnly("backup and restore are the member's and the CLI's, the same code on either runtime"), async () => {
  const dir = tempDir("backup");
  try {
    const file = join(dir, "backup.db");
    const acked = new Map<string, { value: string; revision: number }>();
    let leaseId = "";
    const source = await TestCluster.start(3);
    try {
      const leader = await source.leader();
      const follower = source.members.find((m) => m !== leader)!;
      leaseId = (await post(leader.clientUrl, "/v3/lease/grant", { TTL: 600 })).ID;
      for (const key of ["leased/a", "leased/b"]) await post(leader.clientUrl, "/v3/kv/put", { key: b64(key), value: b64(key), lease: leaseId });

      // Clients write through every member until the backup is saved.
      let saving = true;
      const started = performance.now();
      const load = (async () => {
        for (let n = 0; saving && n < LOAD_PUTS_MAX && performance.now() - started < LOAD_MS_MAX; n++) {
          const member = source.members[n % source.members.length];
          const answer = await post(member.clientUrl, "/v3/kv/put", { key: b64(`load/${n}`), value: b64(`v${n}`) });
          if (answer.header) acked.set(`load/${n}`, { value: `v${n}`, revision: Number(answer.header.revision) });
        }
      })();
      while (acked.size < 100) await new Promise((resolve) => setTimeout(resolve, 20));
      const before = new Set(acked.keys());
      const saved = await etcdctl([follower.clientUrl.replace("http://", "")], ["snapshot", "save", file]);
      saving = false;
      await load;
      assert.equal(saved.ended, "exit 0", saved.stderr);
      assert.match(saved.stdout, /Snapshot saved at/);

      const status = await runConcordCommand(["snapshot", "status", file, "-w", "json"]);
      assert.equal(status.code, 0, status.stderr);
      const { revision } = JSON.parse(status.stdout) as { revision: number };
      for (const key of before) assert.ok(acked.get(key)!.revision <= revision, `${key}, acknowledged before the save, is past the backup's revision ${revision}`);
      assert.ok([...acked.values()].some((w) => w.revision > revision), "no write landed after the backup: it was not taken under load");

      // The same over HTTP: curl's file is restorable as it is; the gateway's JSON lines carry etcd's pieces.
      const fetched = await fetch(`${leader.clientUrl}/concord/v1/snapshot`);
      assert.equal(fetched.status, 200);
      const curled = join(dir, "curled.db");
      writeFileSync(curled, new Uint8Array(await fetched.arrayBuffer()));
      const curledRestore = await runConcordCommand(["snapshot", "restore", curled, "--name", "c", "--data-dir", join(dir, "c"), "--initial-cluster", "c=http://localhost:2380"]);
      assert.equal(curledRestore.code, 0, curledRestore.stderr);
      const lines = (await (await fetch(`${follower.clientUrl}/v3/maintenance/snapshot`, { method: "POST", body: "{}" })).text()).trim().split("\n")
        .map((l) => JSON.parse(l).result as { blob: string; remaining_bytes?: string });
      const blobs = lines.map((l) => Buffer.from(l.blob, "base64"));
      const data = Buffer.concat(blobs.slice(0, -1));
      assert.equal(blobs.at(-1)!.toString("hex"), createHash("sha256").update(data).digest("hex"));
      assert.deepEqual(lines.map((l) => Number(l.remaining_bytes ?? 0)), blobs.map((_, i) => data.length - Buffer.concat(blobs.slice(0, Math.min(i + 1, blobs.length - 1))).length));

      // Restoring over a data dir that exists changes nothing; an altered backup is refused.
      const existing = source.members[0].dataDir;
      const refused = await runConcordCommand(["snapshot", "restore", file, "--name", "m1", "--data-dir", existing, "--initial-cluster", "m1=http://localhost:2380"]);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr.trim(), `Error: data-dir ${JSON.stringify(existing)} exists`);
      const altered = join(dir, "altered.db");
      const bytes = readFileSync(file);
      bytes[5000] ^= 0xff;
      writeFileSync(altered, bytes);
      const corrupt = await runConcordCommand(["snapshot", "restore", altered, "--name", "x", "--data-dir", join(dir, "x"), "--initial-cluster", "x=http://localhost:2380"]);
      assert.equal(corrupt.code, 1);
      assert.match(corrupt.stderr, /^Error: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}$/m);
    } finally {
      await source.close();
    }

    const restored = await TestCluster.start(3, { restoreFrom: file });
    try {
      const leader = await restored.leader();
      const status = await runConcordCommand(["snapshot", "status", file, "-w", "json"]);
      const { revision } = JSON.parse(status.stdout) as { revision: number };
      const all = await post(leader.clientUrl, "/v3/kv/range", { key: b64("load/"), range_end: b64("load0") });
      assert.equal(Number(all.header.revision), revision);
      const found = new Map<string, { value: string; revision: number }>(
        (all.kvs ?? []).map((kv: Record<string, string>) => [text(kv.key), { value: text(kv.value), revision: Number(kv.mod_revision) }]),
      );
      const expected = new Map([...acked].filter(([, w]) => w.revision <= revision));
      assert.deepEqual(found, expected);

      const ttl = await post(leader.clientUrl, "/v3/lease/timetolive", { ID: leaseId, keys: true });
      assert.equal(ttl.grantedTTL, "600");
      assert.deepEqual((ttl.keys as string[]).map(text).sort(), ["leased/a", "leased/b"]);

      const members = await post(leader.clientUrl, "/v3/cluster/member/list", {});
      assert.deepEqual(members.members.map((m: { peerURLs: string[] }) => m.peerURLs[0]).sort(), restored.members.map((m) => m.advertisedPeerUrl).sort());
      const put = await post(restored.members[2].clientUrl, "/v3/kv/put", { key: b64("after"), value: b64("1") });
      assert.equal(Number(put.header.revision), revision + 1);
    } finally {
      await restored.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
