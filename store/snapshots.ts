/**
 * Snapshot files: a copy of state.db as of an applied index, made by a leader for a member that
 * needs entries the log no longer has, and received by that member in chunks; and copies made for
 * clients (etcd's Snapshot call), removed once sent.
 *
 * Owns: `<member>/snap/` — `out-<index>.db` (the latest made here, its SHA-256 beside it as
 * `out-<index>.sha256`, the membership it holds as `out-<index>.conf`; `out-making.part` while the
 * checkpoint worker copies it; all removed on opening), `in-<index>.part` (arriving),
 * `in-<index>.db` (complete, synced, its SHA-256 checked against the one announced with its
 * chunks and kept beside it as `in-<index>.sha256`, waiting to be installed) and `client-<n>.db`
 * (being sent to a client; any left by a crash are removed on opening). An arriving snapshot is
 * bounded by SNAPSHOT_BYTES_MAX, announced up front; a received file is handed out for installing
 * only if it still matches its checked digest. Never: installs a file (the store swaps it in) or
 * decides when one is needed.
 */
import { createHash } from "node:crypto";
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync,
} from "node:fs";
import { join } from "node:path";
import { SNAPSHOT_BYTES_MAX, SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";

/** The members, voters and learners (hex ids), as of a snapshot's index. */
export interface SnapshotConf {
  voters: string[];
  learners: string[];
}

export interface SnapshotFile {
  index: number;
  /** The membership the copied state holds, kept beside it as `out-<index>.conf` (JSON). */
  conf: SnapshotConf;
  path: string;
  bytes: number;
  /** Its SHA-256 in hex, announced with every chunk and checked by the receiver. */
  sha256: string;
}

/** A copy of the state for a client: a SQLite file of `bytes`, to be released once sent. */
export interface StateCopy {
  path: string;
  bytes: number;
  /** Removes the file; call once, however the sending ended. */
  release(): void;
}

export type ChunkOutcome = "more" | "complete" | { error: string };

/** What copying the state answers: the applied index the copy holds, its size and digest — or why it failed. */
export type CopyResult = { index: number; conf: SnapshotConf; bytes: number; sha256: string | undefined } | { error: string };

/** Copies what is committed of the state into a file (on the checkpoint worker's thread). */
export type StateCopier = (to: string, digest: boolean) => Promise<CopyResult>;

/** Where a chunk belongs: the snapshot's index, its size and SHA-256 (hex) as announced, the chunk's offset. */
export interface SnapshotChunk {
  index: number;
  offset: number;
  total: number;
  sha256: string;
}

/** The SHA-256 of a file, in hex, read a chunk at a time. */
export function fileSha256(path: string): string {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(SNAPSHOT_CHUNK_BYTES);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

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
  /** The snapshot whose chunks are arriving, as its first chunk announced it, and the digest of what arrived. */
  #arriving: { index: number; total: number; sha256: string; digest: ReturnType<typeof createHash> } | undefined;

  constructor(memberDir: string) {
    this.#dir = join(memberDir, "snap");
    mkdirSync(this.#dir, { recursive: true });
    // Copies for clients, and snapshots made for followers (a cache: a leader makes one when one
    // is needed, and one cut short by a crash is not trusted), are never needed again once their
    // process is gone.
    this.#removeMatching(/^(client-|out-)/);
  }

  /**
   * A new outgoing snapshot: the committed state copied (off this thread) with its digest, named
   * by the applied index it holds, replacing older ones once whole.
   */
  async createOutgoing(copy: StateCopier): Promise<SnapshotFile | { error: string }> {
    const part = join(this.#dir, "out-making.part");
    rmSync(part, { force: true });
    const made = await copy(part, true);
    if ("error" in made) return made;
    const existing = this.outgoing(made.index);
    if (existing) {
      rmSync(part, { force: true });
      return existing;
    }
    this.#removeMatching(/^out-\d+\.(db|sha256|conf)$/);
    const path = join(this.#dir, `out-${made.index}.db`);
    writeFileSync(join(this.#dir, `out-${made.index}.sha256`), made.sha256!);
    writeFileSync(join(this.#dir, `out-${made.index}.conf`), JSON.stringify(made.conf));
    renameSync(part, path);
    return { index: made.index, conf: made.conf, path, bytes: made.bytes, sha256: made.sha256! };
  }

  /** The latest outgoing snapshot made, if any. */
  latestOutgoing(): SnapshotFile | undefined {
    const indexes = readdirSync(this.#dir).flatMap((name) => /^out-(\d+)\.db$/.exec(name)?.[1] ?? []).map(Number);
    return indexes.length === 0 ? undefined : this.outgoing(Math.max(...indexes));
  }

  /** The committed state copied (off this thread) for a client; several may be out at once. */
  async copyForClient(copy: StateCopier): Promise<StateCopy | { error: string }> {
    const path = join(this.#dir, `client-${crypto.randomUUID()}.db`);
    const made = await copy(path, false);
    if ("error" in made) return made;
    return { path, bytes: made.bytes, release: () => rmSync(path, { force: true }) };
  }

  outgoing(index: number): SnapshotFile | undefined {
    const path = join(this.#dir, `out-${index}.db`);
    const digestPath = join(this.#dir, `out-${index}.sha256`);
    const confPath = join(this.#dir, `out-${index}.conf`);
    if (!existsSync(path) || !existsSync(digestPath) || !existsSync(confPath)) return undefined;
    try {
      return { index, conf: JSON.parse(readFileSync(confPath, "utf8")), path, bytes: statSync(path).size, sha256: readFileSync(digestPath, "utf8") };
    } catch {
      return undefined;
    }
  }

  /**
   * Writes one chunk of an arriving snapshot; the last one makes it complete and durable, if its
   * bytes have the SHA-256 announced. A new arrival drops what is left of earlier partial ones,
   * never a complete one: that may be being installed right now.
   */
  receiveChunk(chunk: SnapshotChunk, bytes: Uint8Array): ChunkOutcome {
    const { index, offset, total, sha256 } = chunk;
    if (total > SNAPSHOT_BYTES_MAX) return { error: `a snapshot of ${total} bytes is over the limit of ${SNAPSHOT_BYTES_MAX}` };
    if (bytes.length > SNAPSHOT_CHUNK_BYTES) return { error: `a snapshot chunk of ${bytes.length} bytes is over the limit of ${SNAPSHOT_CHUNK_BYTES}` };
    if (!/^[0-9a-f]{64}$/.test(sha256)) return { error: "a snapshot chunk without the snapshot's SHA-256" };
    const part = join(this.#dir, `in-${index}.part`);
    if (offset === 0) {
      this.#removeMatching(/^in-\d+\.part$/);
      this.#arriving = { index, total, sha256, digest: createHash("sha256") };
    } else if (
      !existsSync(part) || statSync(part).size !== offset || this.#arriving?.index !== index || this.#arriving.total !== total ||
      this.#arriving.sha256 !== sha256
    ) {
      return { error: `snapshot chunk at ${offset} does not follow what arrived` };
    }
    if (offset + bytes.length > total) return { error: "snapshot chunk beyond the snapshot's size" };
    const fd = openSync(part, offset === 0 ? "w" : "r+");
    const arriving = this.#arriving!;
    try {
      writeSync(fd, bytes, 0, bytes.length, offset);
      // Hashed as it arrives, in order: no pass over the whole file on the member's thread at the end.
      arriving.digest.update(bytes);
      if (offset + bytes.length < total) return "more";
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#arriving = undefined;
    if (arriving.digest.digest("hex") !== sha256) {
      rmSync(part, { force: true });
      return { error: `the snapshot at index ${index} does not have the SHA-256 announced with it; dropped` };
    }
    const digestPath = join(this.#dir, `in-${index}.sha256`);
    writeFileSync(digestPath, sha256);
    const dfd = openSync(digestPath, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    const received = join(this.#dir, `in-${index}.db`);
    renameSync(part, received);
    syncDirectory(this.#dir);
    return "complete";
  }

  /** Drops received snapshots older than `index` (one at `index` was just installed). */
  dropReceivedBefore(index: number): void {
    for (const name of readdirSync(this.#dir)) {
      const m = /^in-(\d+)\.(db|sha256)$/.exec(name);
      if (m && Number(m[1]) < index) rmSync(join(this.#dir, name), { force: true });
    }
  }

  /** Whether a complete snapshot for `index` has arrived (not yet checked again). */
  received(index: number): string | undefined {
    const path = join(this.#dir, `in-${index}.db`);
    return existsSync(path) ? path : undefined;
  }

  /**
   * The complete snapshot received for `index`, if there is one and it still has the SHA-256 it was
   * checked against on arriving (read again: a disk may have changed it since); a file that does
   * not (or has no digest beside it) is removed.
   */
  verifiedReceived(index: number): string | undefined {
    const path = join(this.#dir, `in-${index}.db`);
    const digestPath = join(this.#dir, `in-${index}.sha256`);
    if (!existsSync(path)) return undefined;
    const expected = existsSync(digestPath) ? readFileSync(digestPath, "utf8") : "";
    if (expected !== "" && fileSha256(path) === expected) return path;
    rmSync(path, { force: true });
    rmSync(digestPath, { force: true });
    return undefined;
  }

  #removeMatching(pattern: RegExp): void {
    for (const name of readdirSync(this.#dir)) if (pattern.test(name)) rmSync(join(this.#dir, name), { force: true });
  }
}
