/**
 * The checkpoint worker: a thread that copies state.db's WAL into the database file and syncs
 * both, so the main thread — which only appends to the WAL, without fsync — never waits on disk;
 * and that makes copies of the state (snapshots for lagging members and for clients) on its own
 * connection, so a copy of any size never holds the member's thread.
 *
 * Owns: checkpoints of state.db and copies of it, one at a time, each answered; a copy that fails
 * (a full disk) is answered with its error and removed, and leaves the worker working. Never:
 * writes state.db itself.
 */
import { rmSync, statSync } from "node:fs";
import { type CopyResult, fileSha256, type SnapshotConf } from "./snapshots.ts";
import { openDatabase } from "./sqlite.ts";

type WorkerScope = { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };
const scope = self as unknown as WorkerScope;

/** A copy of the committed state into `to`, with its SHA-256 when `digest`. */
export type CopyRequest = { kind: "copy"; seq: number; to: string; digest: boolean };
export type CheckpointRequest = { kind: "checkpoint"; seq: number } | CopyRequest | { kind: "close"; seq: number };

let db: ReturnType<typeof openDatabase> | undefined;

async function copy(d: Awaited<typeof db> & object, message: CopyRequest): Promise<CopyResult> {
  try {
    // VACUUM INTO reads one consistent snapshot of what is committed, in its own read transaction.
    d.exec(`VACUUM INTO '${message.to.replaceAll("'", "''")}'`);
    const made = await openDatabase(message.to);
    let index: number;
    const conf: SnapshotConf = { voters: [], learners: [] };
    try {
      index = made.prepare("SELECT value FROM meta WHERE name = 'applied_index'").get<{ value: number }>()?.value ?? 0;
      // The membership as of that index, which a member installing the copy takes as Raft's.
      for (const m of made.prepare("SELECT id, is_learner FROM members ORDER BY id").all<{ id: string; is_learner: number }>()) {
        (m.is_learner ? conf.learners : conf.voters).push(m.id);
      }
    } finally {
      made.close();
    }
    return { index, conf, bytes: statSync(message.to).size, sha256: message.digest ? fileSha256(message.to) : undefined };
  } catch (err) {
    rmSync(message.to, { force: true });
    return { error: (err as Error)?.message ?? String(err) };
  }
}

/** Requests are handled one after another, in order: a close never cuts a copy short. */
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e: MessageEvent) => {
  queue = queue.then(() => handle(e));
};

async function handle(e: MessageEvent): Promise<void> {
  const message = e.data as { kind: "open"; path: string } | CheckpointRequest;
  if (message.kind === "open") {
    db = openDatabase(message.path).then((d) => {
      // synchronous=NORMAL: a checkpoint syncs the WAL before copying it and the file after.
      d.exec("PRAGMA synchronous=NORMAL");
      d.exec("PRAGMA wal_autocheckpoint=0");
      return d;
    });
    return;
  }
  try {
    const d = await db!;
    if (message.kind === "close") {
      d.close();
      scope.postMessage({ seq: message.seq, ok: true });
      scope.close();
      return;
    }
    if (message.kind === "copy") {
      scope.postMessage({ seq: message.seq, ok: true, result: await copy(d, message) });
      return;
    }
    d.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    scope.postMessage({ seq: message.seq, ok: true });
  } catch (err) {
    scope.postMessage({ seq: message.seq, ok: false, error: String((err as Error)?.stack ?? err) });
  }
}
