/**
 * Test support: power cuts and slow disks for real member processes. The preloaded library
 * (power_cut/unsynced_writes.c, built here with the system's C compiler) keeps an undo log of
 * every write to a member's data dir since that file's last fsync; after kill -9,
 * dropUnsyncedWrites plays the logs backwards, so the data dir holds only what was made durable —
 * what a machine that lost power would find. Bun only: Deno's SQLite is not reached by a preload.
 *
 * Owns: building the library, the environment that preloads it, undoing unsynced writes, the
 * fsync delay. Never: starts or kills processes (testkit/cluster.ts does), or asserts anything.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SOURCE = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "power_cut", "unsynced_writes.c");
const MAGIC = "CPUNDO2\n";
const HEADER_BYTES = 8 + 8 + 8 + 8 + 8 + 4;
const RECORD_HEADER_BYTES = 1 + 8 + 8;

let built: string | undefined;

/** The preload library, compiled once per source text (scripts/install-test-deps.sh installs a compiler). */
export function powerCutLibrary(): string {
  if (built) return built;
  const source = readFileSync(SOURCE);
  const path = join(tmpdir(), `concord-unsynced-writes-${createHash("sha256").update(source).digest("hex").slice(0, 16)}.so`);
  if (!existsSync(path)) {
    const part = `${path}.${process.pid}.part`;
    execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", part, SOURCE, "-ldl", "-lpthread"], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(part, path);
  }
  return (built = path);
}

/** Why power cuts cannot be had here (no C compiler to build the library), or undefined. */
export function powerCutsUnavailable(): string | undefined {
  try {
    powerCutLibrary();
    return undefined;
  } catch (e) {
    return `power cuts and slow disks need a C compiler (cc) to build testkit/power_cut/unsynced_writes.c: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** The environment that gives a process on `dataDir` power cuts, its undo logs in `undoDir` (outside dataDir). */
export function powerCutEnv(dataDir: string, undoDir: string): Record<string, string> {
  mkdirSync(undoDir, { recursive: true });
  return { LD_PRELOAD: powerCutLibrary(), CONCORD_POWER_CUT_TRACK: `${resolve(dataDir)}/`, CONCORD_POWER_CUT_UNDO: resolve(undoDir) };
}

export interface DroppedWrites {
  /** Files some unsynced write was undone in. */
  files: number;
  /** Bytes put back or cut off. */
  bytes: number;
}

/**
 * Undoes every write no fsync covered, in the files whose undo logs are in `undoDir`, and removes
 * the logs. The process writing them must have ended. A log whose file is gone, or is another file
 * now (a rename put a new one in its place), is dropped: directory changes count as durable.
 */
export function dropUnsyncedWrites(undoDir: string): DroppedWrites {
  const dropped: DroppedWrites = { files: 0, bytes: 0 };
  if (!existsSync(undoDir)) return dropped;
  for (const name of readdirSync(undoDir).filter((n) => n.endsWith(".undo"))) {
    const logPath = join(undoDir, name);
    const log = readFileSync(logPath);
    const drop = () => rmSync(logPath);
    if (log.length < HEADER_BYTES || log.subarray(0, 8).toString("latin1") !== MAGIC) {
      drop();
      continue;
    }
    const [device, inode, birthNs] = [log.readBigUInt64LE(8), log.readBigUInt64LE(16), log.readBigUInt64LE(24)];
    const syncedBytes = Number(log.readBigUInt64LE(32));
    const pathBytes = log.readUInt32LE(40);
    const path = log.subarray(HEADER_BYTES, HEADER_BYTES + pathBytes).toString();
    // The file as it is now must be the one the log is of: not gone, not another in its place.
    const now = existsSync(path) ? statSync(path, { bigint: true }) : undefined;
    const born = now?.birthtimeNs ?? 0n;
    if (!now || BigInt(now.dev) !== device || BigInt(now.ino) !== inode || (birthNs !== 0n && born !== 0n && born !== birthNs)) {
      drop();
      continue;
    }
    const records: { at: number; bytes: Buffer }[] = [];
    for (let at = HEADER_BYTES + pathBytes; at + RECORD_HEADER_BYTES <= log.length;) {
      const length = Number(log.readBigUInt64LE(at + 9));
      if (log[at] !== 0x57 || at + RECORD_HEADER_BYTES + length > log.length) break;
      records.push({ at: Number(log.readBigUInt64LE(at + 1)), bytes: log.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length) });
      at += RECORD_HEADER_BYTES + length;
    }
    const size = statSync(path).size;
    if (records.length === 0 && size === syncedBytes) {
      drop();
      continue;
    }
    const fd = openSync(path, "r+");
    try {
      for (const r of records.reverse()) writeSync(fd, r.bytes, 0, r.bytes.length, r.at);
      ftruncateSync(fd, syncedBytes);
    } finally {
      closeSync(fd);
    }
    drop();
    dropped.files++;
    dropped.bytes += records.reduce((n, r) => n + r.bytes.length, 0) + Math.max(0, size - syncedBytes);
  }
  return dropped;
}

/** Makes every fsync of the process preloaded with `undoDir` take `ms` longer (0: as fast as the disk). */
export function setFsyncDelay(undoDir: string, ms: number): void {
  writeFileSync(join(undoDir, "fsync-delay-ms"), String(ms));
}
