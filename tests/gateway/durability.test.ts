/**
 * Durability: a write acknowledged to a client survives kill -9 of the member, with the revision
 * it was acknowledged at. Writes keep flowing while the process is killed, so the kill lands
 * between group commits, not after a quiet moment.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { post, startConcord, tempDir } from "../../testkit/processes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

test("durability > every acknowledged put survives kill -9 with its revision", async () => {
  const first = await startConcord({ name: "durable" });
  const acknowledged = new Map<string, { value: string; revision: string }>();
  const KILL_AFTER_ACKS = 300;
  const CLIENTS = 16;
  const PUTS_PER_CLIENT = 200;
  let killing: Promise<void> | undefined;
  const client = async (c: number) => {
    for (let i = 0; i < PUTS_PER_CLIENT && !killing; i++) {
      const key = `k/${c}/${i}`;
      const value = `v-${c}-${i}`;
      try {
        const r = await post(first.url, "/v3/kv/put", JSON.stringify({ key: b64(key), value: b64(value) }));
        if (r.status !== 200) continue;
        acknowledged.set(key, { value, revision: JSON.parse(r.text).header.revision });
        if (acknowledged.size === KILL_AFTER_ACKS) killing = first.kill9();
      } catch {
        return; // the connection died with the process: this write was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  await killing;
  assert.ok(acknowledged.size >= KILL_AFTER_ACKS, `only ${acknowledged.size} puts were acknowledged`);

  const second = await startConcord({ name: "durable", dataDir: first.dataDir });
  try {
    for (const [key, { value, revision }] of acknowledged) {
      const r = await post(second.url, "/v3/kv/range", JSON.stringify({ key: b64(key) }));
      const kvs = JSON.parse(r.text).kvs ?? [];
      assert.equal(kvs.length, 1, `acknowledged key ${key} is missing after kill -9`);
      assert.equal(Buffer.from(kvs[0].value, "base64").toString(), value, `value of ${key}`);
      assert.equal(kvs[0].mod_revision, revision, `revision of ${key}`);
    }
    // Revisions stay dense: every revision up to the newest was handed to exactly one put.
    const all = JSON.parse((await post(second.url, "/v3/kv/range", JSON.stringify({ key: b64("k/"), range_end: b64("k0") }))).text);
    const revisions = (all.kvs ?? []).map((kv: { mod_revision: string }) => Number(kv.mod_revision)).sort((a: number, b: number) => a - b);
    assert.deepEqual(revisions, Array.from({ length: revisions.length }, (_, i) => i + 2));
  } finally {
    await second.stop();
    rmSync(first.dataDir, { recursive: true, force: true });
  }
});

test("durability > a member stopped cleanly restarts with its data and takes writes", async () => {
  const dataDir = tempDir("restart");
  const first = await startConcord({ name: "clean", dataDir });
  for (let i = 0; i < 50; i++) assert.equal((await post(first.url, "/v3/kv/put", JSON.stringify({ key: b64(`c/${i}`), value: b64(`${i}`) }))).status, 200);
  await first.stop();
  const second = await startConcord({ name: "clean", dataDir });
  try {
    const all = JSON.parse((await post(second.url, "/v3/kv/range", JSON.stringify({ key: b64("c/"), range_end: b64("c0"), count_only: true }))).text);
    assert.equal(all.count, "50");
    const put = await post(second.url, "/v3/kv/put", JSON.stringify({ key: b64("after"), value: b64("restart") }));
    assert.equal(put.status, 200, put.text);
    assert.equal(JSON.parse(put.text).header.revision, "52");
  } finally {
    await second.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
