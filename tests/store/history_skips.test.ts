/**
 * Reads at past revisions of a key with a long history: what a read at each revision finds is the
 * key as it was then, through puts, deletes and re-creates and across a compaction — and a read
 * walks back at most HISTORY_WALK_CHANGES_MAX changes of the key from the first skip after its
 * revision, never its whole chain from the newest change: with history far from the revision read
 * cut out, the read still finds it. A state written by an older Concord, without skips, gets them
 * when opened (and incremental vacuum).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HISTORY_WALK_CHANGES_MAX } from "../../config/limits.ts";
import type { Command } from "../../etcd/commands.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { keySpan } from "../../etcd/keys.ts";
import { applyStateSchema, migrate, STATE_SCHEMA_STEPS } from "../../store/schema.ts";
import { openDatabase } from "../../store/sqlite.ts";
import { memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const put = (k: string, value: string): Command => ({ op: "put", put: { key: enc(k), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
const del = (k: string): Command => ({ op: "deleteRange", deleteRange: { key: enc(k), rangeEnd: new Uint8Array(), prevKv: false } });

type Seen = { value: string; version: number; createRevision: number } | undefined;

/** A key changed `changes` times (every 97th change a delete), with what a read at each revision should find. */
async function hotKey(changes: number) {
  const state = await memoryState();
  const { sm, mvcc } = state;
  let index = 0;
  const apply = (command: Command) => sm.apply([{ index: ++index, command }])[0];
  const expected = new Map<number, Seen>();
  let now: Seen;
  sm.openBatch();
  for (let i = 1; i <= changes; i++) {
    if (i % 97 === 0 && now) {
      apply(del("hot"));
      now = undefined;
    } else {
      apply(put("hot", `v${i}`));
      now = { value: `v${i}`, version: (now?.version ?? 0) + 1, createRevision: now?.createRevision ?? mvcc.revision };
    }
    expected.set(mvcc.revision, now);
  }
  sm.commit();
  const readAt = (rev: number): Seen => {
    const r = mvcc.range(keySpan(enc("hot"), new Uint8Array()), { revision: rev, limit: 0, countOnly: false });
    assert.ok(!isEtcdError(r), `read at ${rev}: ${r}`);
    const kv = r.kvs[0];
    return kv && { value: dec(kv.value), version: kv.version, createRevision: kv.createRevision };
  };
  return { ...state, apply, expected, readAt };
}

test("history skips > a key changed thousands of times reads as it was at every revision, through deletes and a compaction", async () => {
  const { expected, readAt, apply, sm, mvcc, db } = await hotKey(3_000);
  for (const [rev, seen] of expected) assert.deepEqual(readAt(rev), seen, `at revision ${rev}`);
  const skips = () => db.prepare("SELECT count(*) AS n FROM kv_history_skips").get<{ n: number }>()!.n;
  assert.equal(skips(), Math.floor(3_000 / HISTORY_WALK_CHANGES_MAX));
  const compactAt = 1_500;
  sm.openBatch();
  apply({ op: "compact", compact: { revision: compactAt, physical: false } });
  while (mvcc.compactStep(1_000));
  sm.commit();
  for (const [rev, seen] of expected) if (rev >= compactAt) assert.deepEqual(readAt(rev), seen, `after the compaction, at revision ${rev}`);
  // The skips of compacted changes went with them.
  const below = db.prepare("SELECT count(*) AS n FROM kv_history_skips WHERE mod_revision < ?").get<{ n: number }>(compactAt)!.n;
  assert.equal(below, 0);
});

test("history skips > a read walks back from the first skip after its revision, not from the key's newest change", async () => {
  const { expected, readAt, db } = await hotKey(5_000);
  const rev = 700;
  // Cut out the chain between a little past the revision read and the newest change: a walk from
  // the newest change back to `rev` would find a change missing and answer the key absent.
  db.prepare("DELETE FROM kv_history WHERE mod_revision > ? AND mod_revision < ?").run(rev + 2 * HISTORY_WALK_CHANGES_MAX, 4_900);
  for (let r = rev - 50; r <= rev + HISTORY_WALK_CHANGES_MAX; r++) assert.deepEqual(readAt(r), expected.get(r), `at revision ${r}`);
});

test("history skips > a state an older Concord wrote gets its skips and change counts when opened", async () => {
  const { expected, db: made } = await hotKey(1_000);
  const rows = made.prepare("SELECT mod_revision, sub, key, create_revision, version, lease, value, prev_revision, prev_sub FROM kv_history ORDER BY mod_revision").all<
    Record<string, number | Uint8Array | string>
  >();
  const index = made.prepare("SELECT key, mod_revision, sub, create_revision, version, lease FROM kv_index").all<Record<string, number | Uint8Array | string>>();
  const revision = made.prepare("SELECT value FROM meta WHERE name = 'revision'").get<{ value: number }>()!.value;
  // The same history in a state of the schema before skips.
  const old = await openDatabase(":memory:");
  migrate(old, STATE_SCHEMA_STEPS.slice(0, STATE_SCHEMA_STEPS.findIndex((step) => step.includes("CREATE TABLE kv_history_skips"))));
  assert.equal(old.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()!.auto_vacuum, 0);
  old.transaction(() => {
    const history = old.prepare("INSERT INTO kv_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const r of rows) history.run(r.mod_revision, r.sub, r.key, r.create_revision, r.version, r.lease, r.value, r.prev_revision, r.prev_sub);
    const keys = old.prepare("INSERT INTO kv_index VALUES (?, ?, ?, ?, ?, ?)");
    for (const r of index) keys.run(r.key, r.mod_revision, r.sub, r.create_revision, r.version, r.lease);
    old.prepare("INSERT INTO meta VALUES ('revision', ?)").run(revision);
  });
  applyStateSchema(old);
  // Rewritten once with incremental vacuum, so a defragment can free its pages while serving.
  assert.equal(old.prepare("PRAGMA auto_vacuum").get<{ auto_vacuum: number }>()!.auto_vacuum, 2);
  assert.equal(old.prepare("SELECT changes FROM kv_index").get<{ changes: number }>()!.changes, 1_000);
  assert.deepEqual(
    old.prepare("SELECT mod_revision FROM kv_history_skips ORDER BY mod_revision").all<{ mod_revision: number }>().map((r) => r.mod_revision),
    made.prepare("SELECT mod_revision FROM kv_history_skips ORDER BY mod_revision").all<{ mod_revision: number }>().map((r) => r.mod_revision),
  );
  assert.ok(expected.size === 1_000);
});
