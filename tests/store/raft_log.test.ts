/**
 * The log store: entries come back as they were persisted (membership changes included) after a
 * reopen, and a log.db written by the first schema is upgraded in place.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RaftLog } from "../../store/raft_log.ts";
import { openDatabase } from "../../store/sqlite.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("store > log entries and hard state survive a reopen, membership changes marked as such", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-log-"));
  try {
    const log = await RaftLog.open(dir);
    await log.persist([
      { index: 1, term: 1, data: bytes("put") },
      { index: 2, term: 1, data: bytes('{"kind":"addLearner","node":"b"}'), type: "confChange" },
    ], { term: 1, vote: "a", commit: 2 });
    await log.close();

    const again = await RaftLog.open(dir);
    const entries = again.entries(1, 3);
    assert.deepEqual(entries.map((e) => [e.index, e.term, e.type ?? "normal"]), [[1, 1, "normal"], [2, 1, "confChange"]]);
    assert.deepEqual(again.hardState, { term: 1, vote: "a", commit: 2 });
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("store > a log written by the first schema is upgraded in place", async () => {
  const dir = mkdtempSync(join(tmpdir(), "concord-log-"));
  try {
    const old = await openDatabase(join(dir, "log.db"));
    old.exec(`CREATE TABLE meta (name TEXT PRIMARY KEY, value ANY) WITHOUT ROWID, STRICT;
      CREATE TABLE raft_log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
      INSERT INTO raft_log VALUES (1, 3, X'6F6C64');
      PRAGMA user_version = 1;`);
    old.close();

    const log = await RaftLog.open(dir);
    assert.deepEqual(log.entries(1, 2).map((e) => [e.index, e.term, new TextDecoder().decode(e.data), e.type]), [[1, 3, "old", undefined]]);
    await log.persist([{ index: 2, term: 3, data: bytes("{}"), type: "confChange" }], undefined);
    assert.equal(log.entries(2, 3)[0].type, "confChange");
    await log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
