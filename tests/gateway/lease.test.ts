/**
 * Leases on one member, as a client sees them: keys attached to a lease vanish within its TTL plus
 * one election timeout once keep-alives stop, and not before; keep-alives (several in one stream)
 * hold them; a revoke deletes every attached key in one revision that watchers see as one
 * response; a lease outlives kill -9 of its member.
 */
import type { Json } from "../../testkit/json.ts";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { post, type ServerProcess, startConcord } from "../../testkit/processes.ts";
import { GatewayStream } from "../../testkit/streams.ts";
import { onDeno } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
/** The member's election timeout (etcd's default, which startConcord keeps), ms. */
const ELECTION_MS = 1_000;

let member: ServerProcess;

before(async () => {
  member = await startConcord({ name: "lease" });
});

after(async () => {
  await member?.stop();
});

async function call(path: string, body: unknown, url = member.url): Promise<Json> {
  const r = await post(url, path, JSON.stringify(body));
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text);
}

async function keysUnder(prefix: string, url = member.url): Promise<string[]> {
  const r = await call("/v3/kv/range", { key: b64(prefix), range_end: b64(prefix.slice(0, -1) + "0") }, url);
  return (r.kvs ?? []).map((kv: { key: string }) => Buffer.from(kv.key, "base64").toString());
}

test("lease > a TTL below the minimum is raised to it (1.5 election timeouts, in whole seconds)", async () => {
  const r = await call("/v3/lease/grant", { TTL: 1 });
  assert.equal(r.TTL, "2");
  assert.match(r.ID, /^[1-9]\d*$/);
});

// Lease expiry is the same code on either runtime: run on Bun only. Not registered at all on Deno:
// there an ignored test keeps the file's after() from running, and the member would be left behind.
if (!onDeno) test("lease > attached keys vanish within TTL + one election timeout after keep-alives stop, not before", async () => {
  const ttl = 2;
  const { ID } = await call("/v3/lease/grant", { TTL: ttl });
  for (const k of ["a", "b", "c"]) await call("/v3/kv/put", { key: b64(`ka/${k}`), value: b64(k), lease: ID });
  const watch = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("ka/"), range_end: b64("ka0") } }));
  try {
    await watch.result();
    // Kept alive for three TTLs, a keep-alive every half second: the keys stay.
    let lastRenewal = 0;
    const keptUntil = Date.now() + 3 * ttl * 1000;
    while (Date.now() < keptUntil) {
      const r = await post(member.url, "/v3/lease/keepalive", JSON.stringify({ ID }));
      lastRenewal = Date.now();
      assert.equal(JSON.parse(r.text).result.TTL, String(ttl));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.deepEqual(await keysUnder("ka/"), ["ka/a", "ka/b", "ka/c"]);
    // Then all three go, in one revision, in one response.
    const gone = await watch.result(10_000);
    const elapsed = Date.now() - lastRenewal;
    assert.deepEqual(gone.events!.map((e) => [e.type, Buffer.from(e.kv.key, "base64").toString()]), [
      ["DELETE", "ka/a"], ["DELETE", "ka/b"], ["DELETE", "ka/c"],
    ]);
    assert.equal(new Set(gone.events!.map((e) => e.kv.mod_revision)).size, 1);
    assert.ok(elapsed >= ttl * 1000 - 100, `keys vanished ${elapsed} ms after the last keep-alive, before the TTL of ${ttl} s`);
    assert.ok(elapsed <= ttl * 1000 + ELECTION_MS, `keys vanished ${elapsed} ms after the last keep-alive`);
    assert.deepEqual(await keysUnder("ka/"), []);
    const ttlAfter = await call("/v3/lease/timetolive", { ID });
    assert.equal(ttlAfter.TTL, "-1");
  } finally {
    watch.close();
  }
});

test("lease > one keep-alive stream answers each request in it", async () => {
  const { ID } = await call("/v3/lease/grant", { TTL: 30 });
  const stream = await GatewayStream.open(member.url, "/v3/lease/keepalive", `{"ID":"${ID}"}\n{"ID":${ID}} {"ID":"424242"}`);
  try {
    const answers = [await stream.result(), await stream.result(), await stream.result()];
    assert.deepEqual(answers.map((a: Json) => [a.ID, a.TTL]), [[ID, "30"], [ID, "30"], ["424242", undefined]]);
    assert.equal(await stream.next(), undefined, "the stream ends with its request body");
  } finally {
    stream.close();
  }
});

test("lease > revoke deletes every attached key atomically: one revision, one watch response", async () => {
  const { ID } = await call("/v3/lease/grant", { TTL: 60 });
  const keys = ["rv/1", "rv/2", "rv/3", "rv/4", "rv/5"];
  for (const k of keys) await call("/v3/kv/put", { key: b64(k), value: b64("v"), lease: ID });
  await call("/v3/kv/put", { key: b64("rv/kept"), value: b64("no lease") });
  const described = await call("/v3/lease/timetolive", { ID, keys: true });
  assert.deepEqual(described.keys.map((k: string) => Buffer.from(k, "base64").toString()).sort(), keys);
  assert.equal(described.grantedTTL, "60");
  const watch = await GatewayStream.open(member.url, "/v3/watch", JSON.stringify({ create_request: { key: b64("rv/"), range_end: b64("rv0"), prev_kv: true } }));
  try {
    await watch.result();
    const revoked = await call("/v3/lease/revoke", { ID });
    const deletes = await watch.result();
    assert.deepEqual(deletes.events!.map((e) => Buffer.from(e.kv.key, "base64").toString()), keys);
    for (const e of deletes.events!) {
      assert.equal(e.type, "DELETE");
      assert.equal(e.kv.mod_revision, revoked.header.revision);
      assert.equal(e.prev_kv!.lease, ID);
    }
    assert.deepEqual(await keysUnder("rv/"), ["rv/kept"]);
    const again = await post(member.url, "/v3/lease/revoke", JSON.stringify({ ID }));
    assert.equal(again.status, 404);
    assert.equal(JSON.parse(again.text).error, "etcdserver: requested lease not found");
    const put = await post(member.url, "/v3/kv/put", JSON.stringify({ key: b64("rv/late"), lease: ID }));
    assert.equal(put.status, 404);
  } finally {
    watch.close();
  }
});

test("lease > a lease and its keys survive kill -9 of the member", async () => {
  const first = await startConcord({ name: "lease-crash" });
  const { ID } = await call("/v3/lease/grant", { TTL: 120 }, first.url);
  await call("/v3/kv/put", { key: b64("kc/held"), value: b64("v"), lease: ID }, first.url);
  await first.kill9();
  const second = await startConcord({ name: "lease-crash", dataDir: first.dataDir });
  try {
    const described = await call("/v3/lease/timetolive", { ID, keys: true }, second.url);
    assert.equal(described.grantedTTL, "120");
    assert.ok(Number(described.TTL) > 100 && Number(described.TTL) <= 121, `TTL after restart: ${described.TTL}`);
    assert.deepEqual(described.keys, [b64("kc/held")]);
    const listed = await call("/v3/lease/leases", {}, second.url);
    assert.deepEqual(listed.leases, [{ ID }]);
  } finally {
    await second.stop();
  }
});
