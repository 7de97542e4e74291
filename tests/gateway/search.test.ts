/**
 * Concord's search (/concord/v1/search, the console's): the live keys of a span whose key or value
 * holds a text, found a page of keys at a time. Followed from `next` to `after` until no `next`
 * is left, the answers are every match, in key order, once each — over more keys than a page;
 * deleted keys and keys outside the span are never among them; bad input is refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SEARCH_PAGE_KEYS } from "../../config/limits.ts";
import { type ServerProcess, startConcord } from "../../testkit/processes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (s: string) => Buffer.from(s, "base64").toString();
const KEYS = SEARCH_PAGE_KEYS * 3 + 17;
const name = (i: number) => `s/${String(i).padStart(5, "0")}`;
/** Every seventh value holds the needle; every 500th key's name does. */
const value = (i: number) => (i % 7 === 0 ? `x needle ${i}` : `plain ${i}`);
const matches = (i: number) => i % 7 === 0 || i % 500 === 0;

let member: ServerProcess;

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${member.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

before(async () => {
  member = await startConcord({ name: "search" });
  for (let i = 0; i < KEYS; i += 128) {
    const success = [];
    for (let k = i; k < Math.min(KEYS, i + 128); k++) {
      success.push({ request_put: { key: b64(k % 500 === 0 ? `${name(k)}-needle` : name(k)), value: b64(value(k)) } });
    }
    assert.equal((await post("/v3/kv/txn", { success })).status, 200);
  }
  // Deleted matches, and a match outside the span.
  assert.equal((await post("/v3/kv/deleterange", { key: b64(name(700)), range_end: b64(name(800)) })).status, 200);
  assert.equal((await post("/v3/kv/put", { key: b64("t/outside"), value: b64("needle") })).status, 200);
});

after(() => member?.stop());

test("search > followed from next to after, finds every match once, in key order, over several pages", async () => {
  const expected: string[] = [];
  for (let i = 0; i < KEYS; i++) if (matches(i) && !(i >= 700 && i < 800)) expected.push(i % 500 === 0 ? `${name(i)}-needle` : name(i));
  const found: string[] = [];
  let answers = 0;
  let afterKey: string | undefined;
  do {
    const answer = await post("/concord/v1/search", { key: b64("s/"), range_end: b64("s0"), contains: "needle", limit: 150, ...(afterKey ? { after: afterKey } : {}) });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const kvs = (answer.body.kvs ?? []) as { key: string; value: string }[];
    assert.ok(kvs.length <= 150);
    found.push(...kvs.map((kv) => text(kv.key)));
    afterKey = answer.body.next as string | undefined;
    assert.equal(answer.body.more === true, afterKey !== undefined, "more says whether there is a next");
    answers++;
  } while (afterKey !== undefined && answers < 100);
  assert.deepEqual(found, expected);
  assert.ok(answers > 1, "a limit of 150 took more than one answer");
});

test("search > a text nothing holds: an answer with no keys, and nothing to go on from", async () => {
  const answer = await post("/concord/v1/search", { contains: "nowhere" });
  assert.equal(answer.status, 200);
  assert.equal(answer.body.kvs, undefined);
  assert.equal(answer.body.next, undefined);
});

test("search > no text, or a limit out of range, is refused", async () => {
  assert.equal((await post("/concord/v1/search", { contains: "" })).status, 400);
  assert.equal((await post("/concord/v1/search", { contains: "x", limit: 0 })).status, 400);
  assert.equal((await post("/concord/v1/search", { contains: "x", limit: 100_000 })).status, 400);
});
