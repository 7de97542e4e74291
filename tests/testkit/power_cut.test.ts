/**
 * The power cut the chaos harness gives members (testkit/power_cut.ts): a Bun process commits rows
 * to SQLite in WAL mode — some with synchronous=FULL (fsynced), then some with synchronous=OFF
 * (never fsynced) — and is killed -9. Killed alone, it loses nothing (the kernel kept every
 * write); with its unsynced writes dropped, exactly the fsynced rows are left, in a database that
 * opens and passes SQLite's integrity check — also when a second process took the log up before
 * the cut. And the slow disk: a delay makes each fsync that long.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { openDatabase } from "../../store/sqlite.ts";
import { dropUnsyncedWrites, powerCutEnv, setFsyncDelay } from "../../testkit/power_cut.ts";
import { ROOT, tempDir } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const root = tempDir("power-cut");
after(() => rmSync(root, { recursive: true, force: true }));

const DURABLE_ROWS = 40;
const UNSYNCED_ROWS = 25;

/** Commits the rows, prints how long the last durable commit took, then waits to be killed. */
const WRITER = `
import { Database } from "bun:sqlite";
const db = new Database(process.argv[2], { create: true });
db.exec("PRAGMA journal_mode=WAL");
db.exec("PRAGMA synchronous=FULL");
db.exec("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, v BLOB NOT NULL)");
const insert = db.prepare("INSERT INTO t VALUES (?, ?)");
let lastMs = 0;
const durable = Number(process.argv[3]);
const first = Number(process.argv[4]);
for (let n = first; n < first + durable; n++) {
  const t0 = performance.now();
  insert.run(n, new Uint8Array(3000).fill(n));
  lastMs = performance.now() - t0;
}
db.exec("PRAGMA synchronous=OFF");
for (let n = first + durable; n < first + durable + ${UNSYNCED_ROWS}; n++) insert.run(n, new Uint8Array(3000).fill(n));
console.log("committed " + lastMs.toFixed(1));
setInterval(() => {}, 1000);
`;

/** Runs the writer on a fresh data dir under the preload; answers the dir, the undo dir and the last durable commit's ms. */
async function writeThenKill(name: string, durableRows = DURABLE_ROWS, fsyncDelayMs = 0, firstRow = 1): Promise<{ db: string; undo: string; lastCommitMs: number }> {
  const dataDir = join(root, name);
  const undo = join(root, `${name}.undo`);
  mkdirSync(dataDir, { recursive: true });
  const env = powerCutEnv(dataDir, undo);
  setFsyncDelay(undo, fsyncDelayMs);
  const script = join(root, "writer.ts");
  writeFileSync(script, WRITER);
  const db = join(dataDir, "t.db");
  const child = spawn(join(ROOT, "node_modules", ".bin", "bun"), [script, db, String(durableRows), String(firstRow)], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out);
    });
    child.on("exit", (code) => reject(new Error(`writer exited (${code}) before committing: ${out}`)));
  });
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  return { db, undo, lastCommitMs: Number(/committed ([\d.]+)/.exec(line)![1]) };
}

async function rowsIn(path: string): Promise<{ rows: number[]; integrity: string }> {
  const db = await openDatabase(path);
  try {
    const rows = db.prepare("SELECT n FROM t ORDER BY n").all<{ n: number }>().map((r) => r.n);
    const integrity = Object.values(db.prepare("PRAGMA integrity_check").get()!)[0] as string;
    return { rows, integrity };
  } finally {
    db.close();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("kill -9 alone keeps writes no fsync covered: the kernel holds them", onBunOnly("the preload reaches Bun's SQLite"), async () => {
  const { db } = await writeThenKill("killed");
  assert.deepEqual((await rowsIn(db)).rows, range(1, DURABLE_ROWS + UNSYNCED_ROWS));
});

test("a power cut leaves exactly the fsynced commits, in a database SQLite opens whole", onBunOnly("the preload reaches Bun's SQLite"), async () => {
  const { db, undo } = await writeThenKill("cut");
  const dropped = dropUnsyncedWrites(undo);
  assert.ok(dropped.files >= 1 && dropped.bytes >= UNSYNCED_ROWS * 3000, `dropped ${JSON.stringify(dropped)}`);
  const after = await rowsIn(db);
  assert.equal(after.integrity, "ok");
  assert.deepEqual(after.rows, range(1, DURABLE_ROWS));
});

test("a process that takes up an undo log a killed one left: the power cut undoes both's unsynced writes, and only those", onBunOnly("the preload reaches Bun's SQLite"), async () => {
  await writeThenKill("two-lives");
  // Killed, not cut: the second process finds the first one's log, commits without fsync, and is killed.
  const { db, undo } = await writeThenKill("two-lives", 0, 0, 1_000);
  // (Not read before the cut: a reader here, not preloaded, would checkpoint the WAL unrecorded.)
  assert.ok(dropUnsyncedWrites(undo).bytes >= 2 * UNSYNCED_ROWS * 3000);
  const after = await rowsIn(db);
  assert.equal(after.integrity, "ok");
  assert.deepEqual(after.rows, range(1, DURABLE_ROWS));
});

test("a slow disk: each fsync takes the delay set", onBunOnly("the preload reaches Bun's SQLite"), async () => {
  const { lastCommitMs } = await writeThenKill("slow", 3, 150);
  assert.ok(lastCommitMs >= 150, `a durable commit took ${lastCommitMs} ms with a 150 ms fsync delay`);
});
