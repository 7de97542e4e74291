/**
 * A compaction's history is dropped after it applies, a batch at a time (store/mvcc.ts
 * compactStep): reopened before the first batch was committed — as after a crash, or in a copy of
 * the state taken then — the store still knows the history is to be dropped, and drops it; a watch
 * from the compacted revision sees neither a delete there nor a previous version of a put there,
 * however far the dropping has got (as the one-shot compaction, and etcd, answer).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { tempDir } from "../../testkit/processes.ts";
import { stateAt } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const put = (key: string, value: string): Command => ({ op: "put", put: { key: enc(key), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });

test("compaction steps > a store reopened before the first batch still drops the history", async () => {
  const path = join(tempDir("compaction"), "state.db");
  let state = await stateAt(path);
  let index = 0;
  const apply = (command: Command) => state.sm.apply([{ index: ++index, command }])[0];
  state.sm.openBatch();
  for (let i = 1; i <= 5; i++) apply(put("k", `v${i}`));
  apply({ op: "compact", compact: { revision: state.mvcc.revision, physical: false } });
  state.sm.commit();
  state.db.close();

  state = await stateAt(path);
  assert.equal(state.mvcc.compacting, true, "the reopened store took the compaction as done");
  state.sm.openBatch();
  while (state.mvcc.compactStep(2));
  state.sm.commit();
  const rows = state.db.prepare("SELECT count(*) AS n FROM kv_history").get<{ n: number }>()!.n;
  assert.equal(rows, 1, "only the newest version stays");
  state.db.close();
});

test("compaction steps > a watch from the compacted revision sees no delete there and no previous version, dropped or not", async () => {
  const { sm, mvcc, db } = await stateAt(":memory:");
  let index = 0;
  const apply = (command: Command) => sm.apply([{ index: ++index, command }])[0];
  sm.openBatch();
  apply(put("a", "a1"));
  apply(put("d", "d1"));
  apply(put("a", "a2")); // revision 4: a put whose previous version is older
  apply({ op: "deleteRange", deleteRange: { key: enc("d"), rangeEnd: new Uint8Array(), prevKv: false } }); // revision 5: a delete
  apply(put("a", "a3"));
  // Each change with whether a watcher asking for prev_kv gets one.
  const seen = (from: number) =>
    mvcc.changesBetween(from, mvcc.revision, 100, 1 << 20).changes.map((c) =>
      `${c.type}@${c.kv.modRevision}:${c.prevRevision && mvcc.keyValueAt(c.prevRevision, c.prevSub) ? "prev" : "none"}`
    );
  for (const compactAt of [4, 5]) {
    const before = seen(compactAt);
    if (mvcc.compactRevision < compactAt) apply({ op: "compact", compact: { revision: compactAt, physical: false } });
    const undropped = seen(compactAt);
    while (mvcc.compactStep(1));
    const dropped = seen(compactAt);
    assert.deepEqual(undropped, dropped, `from ${compactAt}: answers change as the history is dropped`);
    assert.ok(before.length >= dropped.length);
  }
  // From 4: a's put there has no previous version (a1, at 2, is compacted away); from 5: the delete
  // of d there is not delivered, and a's put at 6 keeps its previous version (a2 at 4, its newest at 5).
  assert.deepEqual(seen(4), ["0@4:none", "0@6:prev"]);
  assert.deepEqual(seen(5), ["0@6:prev"]);
  sm.commit();
  db.close();
});
