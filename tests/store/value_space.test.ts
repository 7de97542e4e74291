/**
 * What a value costs on disk: 2,000 keys of 1,000-byte values take under 1.5 KB each in state.db
 * (a WITHOUT ROWID history spilled each such row into an overflow page of its own: 4.6 KB each,
 * so a data set etcd holds in 1.3 GB took 4.5 GB — and the quota, the copies for snapshots and
 * their transfers all paid for it).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { stateAt } from "../../testkit/state.ts";

const KEYS = 2_000;
const VALUE_BYTES = 1_000;

test("value space > a 1,000-byte value takes under 1.5 KB of state.db, not a page of its own", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-value-space-"));
  try {
    const { db, sm } = await stateAt(join(dir, "state.db"));
    const value = new Uint8Array(VALUE_BYTES).fill(118);
    let index = 0;
    sm.openBatch();
    for (let k = 0; k < KEYS; k++) {
      const put: Command = { op: "put", put: { key: new TextEncoder().encode(`scale/${String(k).padStart(8, "0")}`), value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } };
      sm.apply([{ index: ++index, command: put }]);
    }
    sm.commit();
    const pages = db.prepare("PRAGMA page_count").get<{ page_count: number }>()!.page_count;
    const pageSize = db.prepare("PRAGMA page_size").get<{ page_size: number }>()!.page_size;
    const perKey = (pages * pageSize) / KEYS;
    assert.ok(perKey < 1_500, `${Math.round(perKey)} bytes per key`);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
