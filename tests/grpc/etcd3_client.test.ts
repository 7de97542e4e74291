/**
 * A third-party client, the npm `etcd3` package (grpc-js underneath), against Concord: put, get,
 * prefix reads, delete, a watch, a lease with a key that goes with it, a lock — the same script
 * run against a fresh etcd 3.4.23 and a fresh Concord must observe the same things.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { startConcord, startEtcd } from "../../testkit/processes.ts";

/** One run of the script against `url`; every observation, in order. */
async function script(url: string): Promise<string[]> {
  const seen: string[] = [];
  const client = new Etcd3({ hosts: url, dialTimeout: 5_000 });
  try {
    await client.put("foo").value("bar");
    seen.push(`get foo: ${await client.get("foo").string()}`);
    await client.put("app/a").value("1");
    await client.put("app/b").value("2");
    seen.push(`prefix app/: ${JSON.stringify(await client.getAll().prefix("app/").strings())}`);
    seen.push(`count app/: ${await client.getAll().prefix("app/").count()}`);
    const deleted = await client.delete().key("app/a").exec();
    seen.push(`delete app/a: deleted=${deleted.deleted}`);
    seen.push(`get app/a: ${await client.get("app/a").string()}`);

    const watcher = await client.watch().prefix("w/").create();
    const events: string[] = [];
    const three = new Promise<void>((resolve) => {
      const note = (kind: string) => (kv: { key: Buffer; value: Buffer }) => {
        events.push(`${kind} ${kv.key.toString()}=${kv.value.toString()}`);
        if (events.length === 3) resolve();
      };
      watcher.on("put", note("put"));
      watcher.on("delete", note("delete"));
    });
    await client.put("w/1").value("x");
    await client.put("w/2").value("y");
    await client.delete().key("w/1").exec();
    await Promise.race([three, new Promise((_, reject) => setTimeout(() => reject(new Error(`watch: ${events.join("; ")}`)), 10_000))]);
    seen.push(`watch: ${events.join("; ")}`);
    await watcher.cancel();

    const lease = client.lease(30, { autoKeepAlive: false });
    await lease.grant();
    await lease.put("leased").value("v");
    seen.push(`lease ttl: ${(await lease.keepaliveOnce()).TTL}`);
    seen.push(`leased: ${await client.get("leased").string()}`);
    await lease.revoke();
    seen.push(`after revoke: ${await client.get("leased").string()}`);

    const lock = client.lock("the-lock");
    await lock.acquire();
    seen.push(`locked: ${await client.getAll().prefix("the-lock").count()} holder`);
    await lock.release();
    seen.push(`released: ${await client.getAll().prefix("the-lock").count()} holders`);
    try {
      await client.get("x").revision(1_000_000).string();
      seen.push("future revision: answered");
    } catch (e) {
      seen.push(`future revision: ${(e as Error).message}`);
    }
  } finally {
    client.close();
  }
  return seen;
}

test("etcd3 npm client > the same script observes the same against etcd and Concord", async () => {
  const [etcd, concord] = await Promise.all([startEtcd("etcd3-etcd"), startConcord({ name: "etcd3" })]);
  try {
    const fromEtcd = await script(etcd.url.replace(/^http:\/\//, ""));
    const fromConcord = await script(concord.url.replace(/^http:\/\//, ""));
    assert.equal(fromEtcd.length, 12, fromEtcd.join("\n"));
    assert.deepEqual(fromConcord, fromEtcd);
  } finally {
    await Promise.all([etcd.stop(), concord.stop()]);
  }
});
