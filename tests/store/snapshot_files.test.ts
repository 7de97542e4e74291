/**
 * A snapshot arriving from the leader is bounded and checked: its size is announced up front and
 * capped, its chunks must follow each other, and its bytes must have the SHA-256 announced with
 * them — else nothing is left to install. A received file is handed out for installing (also when
 * a member starts and finds one waiting) only while it still matches its checked digest.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SNAPSHOT_BYTES_MAX, SNAPSHOT_CHUNK_BYTES } from "../../config/limits.ts";
import { SnapshotFiles } from "../../store/snapshots.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function withFiles(fn: (files: SnapshotFiles, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "concord-snap-"));
  try {
    fn(new SnapshotFiles(dir), join(dir, "snap"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);

test("snapshot files > a snapshot sent in chunks with its SHA-256 arrives whole and is handed out for installing", () => {
  withFiles((files) => {
    const digest = sha(bytes);
    assert.equal(files.receiveChunk({ index: 9, offset: 0, total: bytes.length, sha256: digest }, bytes.subarray(0, 1000)), "more");
    assert.equal(files.receiveChunk({ index: 9, offset: 1000, total: bytes.length, sha256: digest }, bytes.subarray(1000)), "complete");
    assert.ok(files.verifiedReceived(9));
  });
});

test("snapshot files > one whose bytes do not have the SHA-256 announced is dropped at its last chunk", () => {
  withFiles((files, dir) => {
    const corrupted = bytes.slice();
    corrupted[1500] ^= 1;
    const digest = sha(bytes);
    assert.equal(files.receiveChunk({ index: 9, offset: 0, total: bytes.length, sha256: digest }, corrupted.subarray(0, 2000)), "more");
    const outcome = files.receiveChunk({ index: 9, offset: 2000, total: bytes.length, sha256: digest }, corrupted.subarray(2000));
    assert.deepEqual(outcome, { error: "the snapshot at index 9 does not have the SHA-256 announced with it; dropped" });
    assert.equal(files.received(9), undefined);
    assert.deepEqual(readdirSync(dir), [], "nothing is left to install");
  });
});

test("snapshot files > a snapshot over the limit is refused at its first chunk, as are oversized and stray chunks", () => {
  withFiles((files, dir) => {
    const digest = sha(bytes);
    assert.deepEqual(files.receiveChunk({ index: 3, offset: 0, total: SNAPSHOT_BYTES_MAX + 1, sha256: digest }, bytes), {
      error: `a snapshot of ${SNAPSHOT_BYTES_MAX + 1} bytes is over the limit of ${SNAPSHOT_BYTES_MAX}`,
    });
    const big = new Uint8Array(SNAPSHOT_CHUNK_BYTES + 1);
    assert.match(JSON.stringify(files.receiveChunk({ index: 3, offset: 0, total: big.length, sha256: sha(big) }, big)), /over the limit of/);
    assert.match(JSON.stringify(files.receiveChunk({ index: 3, offset: 0, total: 10, sha256: "not-a-digest" }, bytes.subarray(0, 5))), /without the snapshot's SHA-256/);
    // A chunk that does not follow the first, or announces another digest, is refused.
    assert.equal(files.receiveChunk({ index: 3, offset: 0, total: bytes.length, sha256: digest }, bytes.subarray(0, 1000)), "more");
    assert.match(JSON.stringify(files.receiveChunk({ index: 3, offset: 1500, total: bytes.length, sha256: digest }, bytes.subarray(1500))), /does not follow/);
    assert.match(JSON.stringify(files.receiveChunk({ index: 3, offset: 1000, total: bytes.length, sha256: sha(new Uint8Array(1)) }, bytes.subarray(1000))), /does not follow/);
    assert.ok(!readdirSync(dir).some((f) => f.endsWith(".db")));
  });
});

test("snapshot files > a file left waiting is handed out only while it matches the digest it was checked against", () => {
  withFiles((files, dir) => {
    // One dropped in by hand, with no digest beside it: never installed, and removed.
    writeFileSync(join(dir, "in-5.db"), bytes);
    assert.equal(files.verifiedReceived(5), undefined);
    assert.ok(!existsSync(join(dir, "in-5.db")));
    // One that arrived checked, then changed on disk: removed too.
    const digest = sha(bytes);
    assert.equal(files.receiveChunk({ index: 6, offset: 0, total: bytes.length, sha256: digest }, bytes), "complete");
    writeFileSync(join(dir, "in-6.db"), bytes.subarray(1));
    assert.equal(files.verifiedReceived(6), undefined);
    assert.deepEqual(readdirSync(dir), []);
  });
});
