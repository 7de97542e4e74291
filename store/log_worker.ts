/**
 * The log worker: a thread that owns log.db's writes, so the fsync of one batch overlaps the
 * parsing and applying of others on the main thread.
 *
 * Owns: turning LogRequests into LogWriter calls, in order, one at a time, and answering each.
 * Never: does anything that is not asked; a failed write is reported, never retried silently.
 */
import { type LogRequest, unpackEntries } from "./log_types.ts";
import { LogWriter } from "./log_writer.ts";
import { applyLogSchema } from "./schema.ts";
import { openDatabase } from "./sqlite.ts";
import type { WorkerReply } from "./worker_channel.ts";

type WorkerScope = { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };
const scope = self as unknown as WorkerScope;

let writer: Promise<{ writer: LogWriter; close(): void }> | undefined;

function open(path: string, plantedUnsynced: boolean) {
  return openDatabase(path).then((db) => {
    applyLogSchema(db);
    // The planted bug logAppendUnsynced: WAL mode with synchronous=NORMAL syncs only at checkpoints.
    if (plantedUnsynced) db.exec("PRAGMA synchronous=NORMAL");
    return { writer: new LogWriter(db), close: () => db.close() };
  });
}

scope.onmessage = async (e: MessageEvent) => {
  const message = e.data as { kind: "open"; path: string; plantedUnsynced: boolean } | LogRequest;
  if (message.kind === "open") {
    writer = open(message.path, message.plantedUnsynced);
    return;
  }
  const reply = (r: WorkerReply) => scope.postMessage(r);
  try {
    const w = await writer!;
    switch (message.kind) {
      case "persist": w.writer.persist(unpackEntries(message.entries), message.hardState); break;
      case "compact": w.writer.compactBefore(message.before); break;
      case "restore": w.writer.restore(message.index, message.term); break;
      case "meta": w.writer.setMeta(message.name, message.value); break;
      case "close":
        w.close();
        reply({ seq: message.seq, ok: true });
        scope.close();
        return;
    }
    reply({ seq: message.seq, ok: true });
  } catch (err) {
    reply({ seq: message.seq, ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
