/**
 * Snapshot files: a copy of state.db as of an applied index, made by a leader for a member that
 * needs entries the log no longer has, and received by that member in chunks; and copies made for
 * clients (etcd's Snapshot call), removed once sent.
 *
 * Owns: `<member>/snap/` — `out-<index>.db` (the latest made here), `in-<index>.part` (arriving),
 * `in-<index>.db` (complete, synced, waiting to be installed) and `client-<n>.db` (being sent to a
 * client; any left by a crash are removed on opening). Never: installs a file (the store swaps it
 * in) or decides when one is needed.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "./sqlite.ts";

export interface SnapshotFile {
  index: number;
  path: string;
  bytes: number;
}

/** A copy of the state for a client: a SQLite file of `bytes`, to be released once sent. */
export interface StateCopy {
  path: string;
  bytes: number;
  /** Removes the file; call once, however the sending ended. */
  release(): void;
}

export type ChunkOutcome = "more" | "complete" | { error: string };

/** Makes a rename in `dir` durable (a rename lives in the directory, not in the file). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class SnapshotFiles {
  readonly #dir: string;

  constructor(memberDir: string) {
    this.#dir = join(memberDir, "snap");
    mkdirSync(this.#dir, { recursive: true });
    // Copies for clients are never needed again once their process is gone.
    this.#removeMatching(/^client-/);
  }

  /** Copies the database (its committed state) into a new outgoing snapshot, replacing older ones. */
  create(db: Database, index: number): SnapshotFile {
    const existing = this.outgoing(index);
    if (existing) return existing;
    this.#removeMatching(/^out-/);
    const path = join(this.#dir, `out-${index}.db`);
    db.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`);
    return { index, path, bytes: statSync(path).size };
  }

  /** Copies the database (its committed state) for a client; several may be out at once. */
  copyForClient(db: Database): StateCopy {
    const path = join(this.#dir, `client-${crypto.randomUUID()}.db`);
    db.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`);
    return { path, bytes: statSync(path).size, release: () => rmSync(path, { force: true }) };
  }

  outgoing(index: number): SnapshotFile | undefined {
    const path = join(this.#dir, `out-${index}.db`);
    return existsSync(path) ? { index, path, bytes: statSync(path).size } : undefined;
  }

  /**
   * Writes one chunk of an arriving snapshot; the last one makes it complete and durable. A new
   * arrival drops what is left of earlier partial ones, never a complete one: that may be being
   * installed right now.
   */
  receiveChunk(index: number, offset: number, total: number, bytes: Uint8Array): ChunkOutcome {
    const part = join(this.#dir, `in-${index}.part`);
    if (offset === 0) this.#removeMatching(/^in-\d+\.part$/);
    else if (!existsSync(part) || statSync(part).size !== offset) return { error: `snapshot chunk at ${offset} does not follow what arrived` };
    if (offset + bytes.length > total) return { error: "snapshot chunk beyond the snapshot's size" };
    const fd = openSync(part, offset === 0 ? "w" : "r+");
    try {
      writeSync(fd, bytes, 0, bytes.length, offset);
      if (offset + bytes.length < total) return "more";
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(part, join(this.#dir, `in-${index}.db`));
    syncDirectory(this.#dir);
    return "complete";
  }

  /** Drops received snapshots older than `index` (one at `index` was just installed). */
  dropReceivedBefore(index: number): void {
    for (const name of readdirSync(this.#dir)) {
      const m = /^in-(\d+)\.db$/.exec(name);
      if (m && Number(m[1]) < index) rmSync(join(this.#dir, name), { force: true });
    }
  }

  /** The complete snapshot received for `index`, if there is one. */
  received(index: number): string | undefined {
    const path = join(this.#dir, `in-${index}.db`);
    return existsSync(path) ? path : undefined;
  }

  #removeMatching(pattern: RegExp): void {
    for (const name of readdirSync(this.#dir)) if (pattern.test(name)) rmSync(join(this.#dir, name), { force: true });
  }
}
