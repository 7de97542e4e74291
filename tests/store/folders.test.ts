/**
 * The console's folder listing over many keys: a folder's count stops at FOLDER_COUNT_KEYS_MAX
 * (answered as "at least"), and a page ends once its counts read FOLDER_PAGE_COUNTED_KEYS_MAX keys,
 * answering where to go on — following `next` lists every folder once, in order, with its count.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FOLDER_COUNT_KEYS_MAX, FOLDER_PAGE_COUNTED_KEYS_MAX } from "../../config/limits.ts";
import type { Bytes } from "../../etcd/types.ts";
import { Folders } from "../../store/folders.ts";
import { memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Bytes) => new TextDecoder().decode(b);

/** A state whose key index holds `sizes[name]` live keys under each `name/`, and one deleted key in each. */
async function stateWith(sizes: Record<string, number>) {
  const { db } = await memoryState();
  const index = db.prepare("INSERT INTO kv_index (key, mod_revision, sub, create_revision, version, lease) VALUES (?, 2, 0, 2, ?, '0')");
  db.transaction(() => {
    for (const [name, n] of Object.entries(sizes)) {
      for (let i = 0; i < n; i++) index.run(enc(`${name}/${String(i).padStart(6, "0")}`), 1);
      index.run(enc(`${name}/deleted`), 0);
    }
  });
  return new Folders(db);
}

test("folders > a folder's count stops at the limit and says it did", async () => {
  const folders = await stateWith({ big: FOLDER_COUNT_KEYS_MAX + 2_500, small: 3, exact: FOLDER_COUNT_KEYS_MAX });
  const listing = folders.list(new Uint8Array(0), enc("/"), undefined, 100);
  assert.deepEqual(listing.folders.map((f) => [dec(f.prefix), f.count, f.more]), [
    ["big/", FOLDER_COUNT_KEYS_MAX, true],
    ["exact/", FOLDER_COUNT_KEYS_MAX, false],
    ["small/", 3, false],
  ]);
  assert.equal(listing.next, undefined);
});

test("folders > a page ends once its counts read the page's budget; next goes on with every folder once", async () => {
  const perFolder = FOLDER_COUNT_KEYS_MAX / 2;
  const names = Array.from({ length: (2 * FOLDER_PAGE_COUNTED_KEYS_MAX) / perFolder + 3 }, (_, i) => `f${String(i).padStart(3, "0")}`);
  const folders = await stateWith(Object.fromEntries(names.map((n) => [n, perFolder])));
  const seen: string[] = [];
  const pages: number[] = [];
  let start: Bytes | undefined;
  do {
    const page = folders.list(new Uint8Array(0), enc("/"), start, 1_000);
    pages.push(page.folders.length);
    for (const f of page.folders) {
      assert.equal(f.count, perFolder);
      seen.push(dec(f.prefix));
    }
    start = page.next;
  } while (start !== undefined && pages.length < 10);
  assert.deepEqual(seen, names.map((n) => `${n}/`));
  const fullPage = FOLDER_PAGE_COUNTED_KEYS_MAX / perFolder;
  assert.deepEqual(pages, [fullPage, fullPage, names.length - 2 * fullPage]);
});
