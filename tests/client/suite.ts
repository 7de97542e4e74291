/**
 * The client's suite (client/ against a real member), runtime-neutral: Bun, Deno and Node run it
 * with node:test (client.test.ts, node.test.ts), Chromium in a page (tests/ui/client_in_browser.test.ts).
 * KV with text and bytes, prefixes and a txn built compare / then / else; typed etcd errors and
 * deadlines; failing over past an endpoint that is down; a watch that delivers in order, over
 * etcd's stream and over SSE; a session that keeps its lease past its TTL; locks that wait, hand
 * over with larger fencing tokens and refuse a fenced write once lost; an election observed leader
 * by leader.
 *
 * Owns: the tests and the few assertions they need (no node:assert: a browser has none). Never:
 * starts a member (its runner does).
 */
import { Client, Code, compare, EtcdError, LockLostError, op } from "../../client/mod.ts";
import { eventually } from "../../testkit/eventually.ts";

/** Assertions that run anywhere; each throws with what it found. */
const assert = {
  ok(value: unknown, message = "expected a truthy value"): void {
    if (!value) throw new Error(message);
  },
  equal(actual: unknown, expected: unknown, message = ""): void {
    if (actual !== expected) throw new Error(`${message ? `${message}: ` : ""}expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown, message = ""): void {
    const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
    if (a !== e) throw new Error(`${message ? `${message}: ` : ""}expected ${e}, got ${a}`);
  },
};

/** The tests, by name; each runs against a client whose first endpoint is down and whose second is the member at `memberUrl`. */
export const suite: [string, () => Promise<void>][] = [];
let client: Client;
let memberUrl: string;

/** Points the suite at a member (and an endpoint that is down, tried first). */
export function useMember(url: string, downUrl: string): void {
  memberUrl = url;
  client = new Client({ endpoints: [downUrl, url] });
}

/** The events of `n` changes made by `write`, as the client's watch of `prefix` delivers them (over SSE with `sse`). */
async function watched(prefix: string, n: number, write: () => Promise<void>, sse = false): Promise<string[]> {
  const stop = new AbortController();
  const seen: string[] = [];
  const created = (await client.kv.get("\0", { end: "\0", serializable: true })).revision;
  const reading = (async () => {
    for await (const e of client.watch(prefix, { prefix: true, startRevision: created + 1, signal: stop.signal, sse })) {
      seen.push(`${e.type} ${e.kv.keyText}=${e.kv.valueText}`);
      if (seen.length === n) stop.abort();
    }
  })();
  await write();
  await reading;
  return seen;
}

suite.push(["kv: text and bytes, prefixes, deletes and a txn; failing over past an endpoint that is down", async () => {
  // A read is asked of the next endpoint when one does not answer (a write only where the runtime
  // says the connection was refused, which a browser does not).
  assert.equal((await client.kv.get("app/", { prefix: true })).count, 0);
  assert.equal(client.endpoint, memberUrl, "the client moved on from the endpoint that is down");
  const put = await client.kv.put("app/color", "blue");
  await client.kv.put("app/bytes", new Uint8Array([0, 1, 255]));
  await client.kv.put("other", "x");
  const app = await client.kv.get("app/", { prefix: true });
  assert.deepEqual(app.kvs.map((kv) => kv.keyText), ["app/bytes", "app/color"]);
  assert.deepEqual([...app.kvs[0].value], [0, 1, 255]);
  assert.equal(app.kvs[1].valueText, "blue");
  assert.equal(app.kvs[1].modRevision, put.revision);
  assert.equal(await client.kv.getText("missing"), undefined);

  const swapped = await client.kv.txn().if(compare.value("app/color", "=", "blue")).then(op.put("app/color", "red"), op.get("other")).else(op.get("app/color")).commit();
  assert.equal(swapped.succeeded, true);
  assert.equal((swapped.responses[1] as { kvs: { valueText: string }[] }).kvs[0].valueText, "x");
  const refused = await client.kv.txn().if(compare.version("app/color", ">", 5)).then(op.delete("app/", { prefix: true })).else(op.get("app/color")).commit();
  assert.equal(refused.succeeded, false);
  assert.equal((refused.responses[0] as { kvs: { valueText: string }[] }).kvs[0].valueText, "red");
  assert.equal((await client.kv.delete("app/", { prefix: true })).deleted, 2);
}]);

suite.push(["errors are etcd's, typed; a deadline ends a call that waits", async () => {
  const empty = await client.kv.put("", "v").catch((e) => e);
  assert.ok(empty instanceof EtcdError);
  assert.equal(empty.code, Code.InvalidArgument);
  assert.equal(empty.codeName, "InvalidArgument");
  assert.equal(empty.message, "etcdserver: key is not provided");
  const held = await client.lock("busy", { lease: (await client.leases.grant(30)).id });
  const waited = await client.lock("busy", { lease: (await client.leases.grant(30)).id, timeoutMs: 300 }).catch((e) => e);
  assert.ok(waited instanceof EtcdError);
  assert.equal(waited.codeName, "DeadlineExceeded");
  await held.unlock();
}]);

for (const sse of [false, true]) {
  suite.push([`a watch ${sse ? "over SSE" : "over etcd's stream"} delivers every change once, in order, puts and deletes`, async () => {
    const prefix = sse ? "sse/" : "w/";
    const seen = await watched(prefix, 4, async () => {
      await client.kv.put(`${prefix}a`, "1");
      await client.kv.txn().then(op.put(`${prefix}b`, "2"), op.put(`${prefix}c`, "3")).commit();
      await client.kv.delete(`${prefix}a`);
    }, sse);
    assert.deepEqual(seen, [`PUT ${prefix}a=1`, `PUT ${prefix}b=2`, `PUT ${prefix}c=3`, `DELETE ${prefix}a=`]);
  }]);
}

suite.push(["a session keeps its lease past its TTL and revokes it when closed", async () => {
  const session = await client.leases.session(2);
  await client.kv.put("owned", "yes", { lease: session.id });
  // Renewals keep resetting what is left: it is seen back above half its TTL after more than one TTL.
  const since = Date.now();
  await eventually("the lease renewed after its TTL passed", 10_000, async () =>
    Date.now() - since > 2_500 && (await client.leases.timeToLive(session.id)) >= 1 ? true : undefined);
  assert.equal(await client.kv.getText("owned"), "yes");
  await session.close();
  assert.equal(await session.lost, undefined);
  assert.equal(await client.kv.getText("owned"), undefined, "its key went with the lease");
}]);

suite.push(["locks wait their turn, with larger fencing tokens; a lost lock's fenced write is refused", async () => {
  const [a, b] = [await client.leases.session(30), await client.leases.session(30)];
  const first = await client.lock("jobs/nightly", { session: a });
  let secondHeld = false;
  const second = client.lock("jobs/nightly", { session: b }).then((l) => {
    secondHeld = true;
    return l;
  });
  await first.write([op.put("jobs/nightly/by", "a")]);
  assert.equal(secondHeld, false, "the second waits while the first holds");
  await first.unlock();
  const next = await second;
  assert.ok(next.fencingToken > first.fencingToken);
  const stale = await first.write([op.put("jobs/nightly/by", "a, late")]).catch((e) => e);
  assert.ok(stale instanceof LockLostError);
  await next.write([op.put("jobs/nightly/by", "b")]);
  await b.close();
  assert.equal(await next.held(), false, "the lease's end ends the lock");
  assert.ok(await next.write([op.put("jobs/nightly/by", "b, late")]).catch((e) => e) instanceof LockLostError);
  assert.equal(await client.kv.getText("jobs/nightly/by"), "b");
  await a.close();
}]);

suite.push(["an election: the leader, its proclamations and the next leader, observed in order", async () => {
  const [a, b] = [await client.leases.session(30), await client.leases.session(30)];
  const stop = new AbortController();
  const seen: string[] = [];
  const observing = (async () => {
    for await (const kv of client.observe("primary", { signal: stop.signal })) {
      seen.push(kv.valueText);
      if (seen.length === 3) stop.abort();
    }
  })();
  const leading = await client.campaign("primary", "node-a", { session: a });
  const rival = client.campaign("primary", "node-b", { session: b });
  assert.equal((await client.leader("primary"))?.valueText, "node-a");
  await leading.proclaim("node-a, v2");
  await leading.resign();
  const next = await rival;
  await observing;
  assert.deepEqual(seen, ["node-a", "node-a, v2", "node-b"]);
  await next.resign();
  assert.equal(await client.leader("primary"), undefined);
  await Promise.all([a.close(), b.close()]);
}]);
