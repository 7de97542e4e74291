/**
 * A range read in pages (store/mvcc.ts rangePage, as member/paged_range.ts drives it) finds what
 * one read at its revision finds — key-values, and the count of live keys — whatever is written,
 * rewritten and deleted between its pages, before and after where it has got to; and whatever the
 * page's size in keys and bytes, and how many key-values it is to return whole.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { keySpan } from "../../etcd/keys.ts";
import type { KeyValue } from "../../etcd/types.ts";
import { prng } from "../../testkit/prng.ts";
import { stateAt } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const key = (i: number) => `k/${String(i).padStart(3, "0")}`;
const put = (k: string, value: string): Command => ({ op: "put", put: { key: enc(k), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
const del = (k: string): Command => ({ op: "deleteRange", deleteRange: { key: enc(k), rangeEnd: new Uint8Array(), prevKv: false } });
const show = (kvs: KeyValue[]) => kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}@${kv.modRevision}/${kv.createRevision}/${kv.version}`);

test("range pages > a paged read at a revision finds what one read there finds, however the keys change between its pages", async () => {
  const { sm, mvcc } = await stateAt(":memory:");
  const random = prng(7);
  const draw = (n: number) => Math.floor(random() * n);
  let index = 0;
  const apply = (command: Command) => sm.apply([{ index: ++index, command }])[0];
  const write = () => (random() < 0.25 ? apply(del(key(draw(200)))) : apply(put(key(draw(200)), "v".repeat(draw(40)) + draw(1000))));
  sm.openBatch();
  for (let i = 0; i < 1_500; i++) write();
  let reads = 0;
  for (let trial = 0; trial < 60; trial++) {
    const span = trial % 3 === 0 ? keySpan(enc("k/"), enc("k0")) : keySpan(enc(key(draw(100))), enc(key(100 + draw(100))));
    const rev = trial % 2 === 0 ? mvcc.revision : Math.max(1, mvcc.revision - draw(400));
    const expected = mvcc.range(span, { revision: rev, limit: 0, countOnly: false });
    assert.ok(!isEtcdError(expected));
    const collect = trial % 4 === 0 ? Infinity : draw(expected.kvs.length + 2);
    const [pageKeys, pageBytes] = [1 + draw(30), trial % 5 === 0 ? 1 : 10 + draw(2_000)];
    const kvs: KeyValue[] = [];
    let live = 0;
    let after: Uint8Array | undefined;
    for (;;) {
      const page = mvcc.rangePage(span, rev, after, collect - kvs.length, pageKeys, pageBytes);
      kvs.push(...page.kvs);
      live += page.live;
      if (page.done) break;
      after = page.last;
      // Between pages: writes behind the read and ahead of it, the keys it has read among them.
      for (let w = draw(6); w > 0; w--) write();
      reads++;
    }
    assert.equal(live, expected.count, `trial ${trial}: the count of live keys at ${rev}`);
    assert.deepEqual(show(kvs), show(expected.kvs.slice(0, Math.min(collect, expected.kvs.length))), `trial ${trial}: what was read at ${rev}`);
  }
  assert.ok(reads > 200, `only ${reads} pages were read with writes between them`);
});
