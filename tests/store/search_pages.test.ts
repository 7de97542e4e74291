/**
 * A search page looks at no more than SEARCH_PAGE_BYTES of values (but at least one key), so a
 * span of large values is searched a few keys at a time rather than a thousand at once; followed
 * page by page, every match is found once, in key order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_BYTES_MAX, SEARCH_PAGE_BYTES, SEARCH_PAGE_KEYS } from "../../config/limits.ts";
import type { Command } from "../../etcd/commands.ts";
import { keySpan } from "../../etcd/keys.ts";
import { memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const put = (k: string, value: Uint8Array): Command => ({ op: "put", put: { key: enc(k), value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });

test("search pages > large values are looked into a few at a time, small ones a page of keys at a time; every match once", async () => {
  const { sm, mvcc } = await memoryState();
  let index = 0;
  const large = REQUEST_BYTES_MAX - 4_096;
  const count = 3 * Math.ceil(SEARCH_PAGE_BYTES / large);
  sm.openBatch();
  for (let i = 0; i < count; i++) {
    const value = new Uint8Array(large).fill(0x61);
    if (i % 3 === 0) value.set(enc("needle"), large - 6);
    sm.apply([{ index: ++index, command: put(`big/${String(i).padStart(3, "0")}`, value) }]);
  }
  for (let i = 0; i < 2 * SEARCH_PAGE_KEYS; i++) sm.apply([{ index: ++index, command: put(`small/${String(i).padStart(5, "0")}`, enc(i % 7 === 0 ? "a needle" : "hay")) }]);
  sm.commit();
  const search = (prefix: string) => {
    const span = keySpan(enc(prefix), enc(prefix.slice(0, -1) + "0"));
    const found: string[] = [];
    const pageSizes: number[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const page = mvcc.searchPage(span, enc("needle"), after, SEARCH_PAGE_KEYS, SEARCH_PAGE_BYTES);
      found.push(...page.kvs.map((kv) => dec(kv.key)));
      if (page.done) break;
      pageSizes.push(Number(dec(page.last!).split("/")[1]) - Number(after ? dec(after).split("/")[1] : -1));
      after = page.last;
    }
    return { found, pageSizes };
  };
  const big = search("big/");
  assert.deepEqual(big.found, Array.from({ length: count }, (_, i) => i).filter((i) => i % 3 === 0).map((i) => `big/${String(i).padStart(3, "0")}`));
  const perPage = Math.floor(SEARCH_PAGE_BYTES / large);
  assert.ok(big.pageSizes.every((n) => n === perPage), `pages of ${big.pageSizes.join(", ")} large values, ${perPage} expected`);
  const small = search("small/");
  assert.equal(small.found.length, Math.ceil((2 * SEARCH_PAGE_KEYS) / 7));
  assert.deepEqual(small.pageSizes, [SEARCH_PAGE_KEYS, SEARCH_PAGE_KEYS]);
});
