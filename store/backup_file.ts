/**
 * A backup as `etcdctl snapshot save` writes it from Concord's Snapshot call: Concord's state.db
 * (a SQLite file), then the SHA-256 of those bytes. etcd tells the digest is there by the size —
 * a database is a whole number of 512-byte blocks, so 32 bytes over means a digest follows — and
 * so does this.
 *
 * Owns: checking a backup's digest and taking the database out of it, and reading what a backup
 * holds (etcd's snapshot status: hash, revision, keys, size). Never: makes a data dir of it
 * (member/restore.ts does).
 */
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";
import { Meta } from "./meta.ts";
import { openDatabase } from "./sqlite.ts";
import { StateHashes } from "./state_hash.ts";

const DIGEST_BYTES = 32;
const SQLITE_HEADER = "SQLite format 3\0";

/** What etcd's snapshot status reports: the state's hash, its revision, its history's rows, its size. */
export interface BackupStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/**
 * Writes the database a backup holds to `to` (synced), its digest checked unless `skipHashCheck`
 * (a file with none is refused then, in etcd's words).
 */
export function extractBackup(file: string, to: string, skipHashCheck: boolean): { bytes: number } | { error: string } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    return { error: `cannot read the snapshot: ${(e as Error).message}` };
  }
  const hasDigest = size % 512 === DIGEST_BYTES;
  if (!hasDigest && !skipHashCheck) return { error: "snapshot missing hash but --skip-hash-check=false" };
  const bytes = hasDigest ? size - DIGEST_BYTES : size;
  const input = openSync(file, "r");
  const output = openSync(to, "wx");
  try {
    const hash = createHash("sha256");
    const buffer = new Uint8Array(SNAPSHOT_CHUNK_BYTES);
    for (let at = 0; at < bytes;) {
      const n = readSync(input, buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (n === 0) return { error: `the snapshot ended at byte ${at} of ${bytes}` };
      if (at === 0 && new TextDecoder().decode(buffer.subarray(0, SQLITE_HEADER.length)) !== SQLITE_HEADER) {
        return { error: "not a Concord snapshot: it holds no SQLite database (an etcd snapshot is restored with etcdctl)" };
      }
      hash.update(buffer.subarray(0, n));
      writeSync(output, buffer, 0, n);
      at += n;
    }
    if (hasDigest && !skipHashCheck) {
      const digest = new Uint8Array(DIGEST_BYTES);
      readSync(input, digest, 0, DIGEST_BYTES, bytes);
      const expected = Buffer.from(digest).toString("hex");
      const got = hash.digest("hex");
      if (expected !== got) return { error: `expected sha256 ${expected}, got ${got}` };
    }
    fsyncSync(output);
    return { bytes };
  } finally {
    closeSync(input);
    closeSync(output);
  }
}

/** What a backup holds (etcd's snapshot status), read from a copy of its database. */
export async function backupStatus(file: string): Promise<BackupStatus | { error: string }> {
  const dir = mkdtempSync(join(tmpdir(), "concord-snapshot-status-"));
  try {
    const path = join(dir, "state.db");
    const extracted = extractBackup(file, path, true);
    if ("error" in extracted) return extracted;
    const db = await openDatabase(path);
    try {
      const meta = new Meta(db);
      const revision = meta.number("revision", 1);
      const hash = new StateHashes(db).whole(revision, meta.number("compact_revision", -1));
      const totalKey = db.prepare("SELECT count(*) AS n FROM kv_history").get<{ n: number }>()!.n;
      return { hash, revision, totalKey, totalSize: extracted.bytes };
    } catch (e) {
      return { error: `not a Concord snapshot: ${(e as Error).message}` };
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
