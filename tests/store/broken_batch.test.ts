/**
 * A batch a storage failure broke (state.db full mid-batch) commits nothing after it: every later
 * apply and commit fails with that error, and state.db keeps the applied index of the last batch
 * that really committed — so a restart replays what the broken batch held, rather than believing
 * it applied (before, the next batch committed an applied index over writes that were gone).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { stateAt } from "../../testkit/state.ts";

const put = (k: number, bytes: number): Command => ({
  op: "put",
  put: { key: new TextEncoder().encode(`k${k}`), value: new Uint8Array(bytes).fill(120), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
});

test("broken batch > after a write fails for want of space, nothing more is applied or committed; the applied index on disk stays the last real commit's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-broken-batch-"));
  try {
    const path = join(dir, "state.db");
    const { db, sm } = await stateAt(path);
    sm.apply([{ index: 1, command: put(1, 100) }, { index: 2, command: put(2, 100) }]);
    sm.commit();
    // Room for a few more pages only: the batch below runs out of it part way.
    const pages = db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
    db.exec(`PRAGMA max_page_count=${pages + 8}`);
    let index = 2;
    let failure: unknown;
    while (failure === undefined && index < 200) {
      try {
        sm.apply([{ index: index + 1, command: put(index + 1, 2_000) }]);
        index++;
      } catch (e) {
        failure = e;
      }
    }
    assert.match(String(failure), /full/i, "the batch ran out of room");
    assert.ok(index > 2, "some entries were applied before it did");
    assert.throws(() => sm.apply([{ index: index + 1, command: put(index + 1, 10) }]), (e) => e === failure, "an apply after it");
    assert.throws(() => sm.commit(), (e) => e === failure, "a commit after it");
    assert.equal(sm.batchOpen, false, "no batch counts as open to be committed");
    db.close();

    const reopened = await stateAt(path);
    assert.equal(reopened.sm.appliedIndex, 2, "the applied index of the last batch that committed");
    assert.equal(reopened.db.prepare("SELECT count(*) AS n FROM kv_index").get<{ n: number }>()!.n, 2);
    reopened.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
