/**
 * The single file's entry (`npm run build` bundles it into dist/concord.js and compiles it into
 * dist/concord): on the main thread it is the member — server.ts, with the console's bundle
 * embedded — and on a worker thread it becomes the worker its first message names
 * (runtime/workers.ts starts them so). From a checkout, run server.ts instead.
 *
 * Owns: telling the threads apart and handing a worker its first messages. Never: anything a
 * member or a worker does.
 */
import type { WorkerRoleMessage } from "./runtime/workers.ts";
import { embedConsoleBundle } from "./console/page.ts";
import consoleBundle from "./ui/dist/console.js" with { type: "text" };

declare const WorkerGlobalScope: unknown;
type WorkerScope = { onmessage: ((e: MessageEvent) => void) | null };

const bun = (globalThis as { Bun?: { isMainThread: boolean } }).Bun;
const onWorkerThread = bun ? !bun.isMainThread : typeof WorkerGlobalScope !== "undefined";

if (onWorkerThread) {
  const scope = self as unknown as WorkerScope;
  // What arrives while the worker's module loads is handed to it once it listens.
  const waiting: MessageEvent[] = [];
  scope.onmessage = async (first: MessageEvent) => {
    scope.onmessage = (e) => void waiting.push(e);
    const { concordWorker } = first.data as WorkerRoleMessage;
    if (concordWorker === "log-writer") await import("./store/log_worker.ts");
    else if (concordWorker === "checkpointer") await import("./store/checkpoint_worker.ts");
    else if (concordWorker === "client-port") await import("./runtime/client_port_worker.ts");
    else throw new Error(`concord: no worker ${JSON.stringify(concordWorker)}`);
    for (const e of waiting) scope.onmessage?.(e);
  };
} else {
  embedConsoleBundle(consoleBundle);
  await import("./server.ts");
}
