/**
 * The checkpoint worker: a thread that copies state.db's WAL into the database file and syncs
 * both, so the main thread — which only appends to the WAL, without fsync — never waits on disk.
 *
 * Owns: checkpoints of state.db, one at a time, each answered. Never: writes anything else.
 */
import { openDatabase } from "./sqlite.ts";

type WorkerScope = { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };
const scope = self as unknown as WorkerScope;

export type CheckpointRequest = { kind: "checkpoint"; seq: number } | { kind: "close"; seq: number };

let db: ReturnType<typeof openDatabase> | undefined;

scope.onmessage = async (e: MessageEvent) => {
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
    d.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    scope.postMessage({ seq: message.seq, ok: true });
  } catch (err) {
    scope.postMessage({ seq: message.seq, ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
