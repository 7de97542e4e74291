/**
 * Starting the member's worker threads (the log writer, the checkpointer, the client port's
 * acceptor), from a checkout or from the single file (`npm run build`: dist/concord.js and the
 * dist/concord executable). From a checkout a worker runs its own module; the single file has no
 * other module to run, so a worker runs the single file itself, told by its first message which
 * worker to be (concord.ts reads it).
 *
 * Owns: how a worker is started, and the message that names it. Never: what a worker does.
 */

/** The workers there are, by the name the single file knows each by. */
export type WorkerRole = "log-writer" | "checkpointer" | "client-port";

/** The first message a worker of the single file gets: which worker to be. */
export interface WorkerRoleMessage {
  concordWorker: WorkerRole;
}

/** From a checkout this module is runtime/workers.ts; in the single file it is the file itself. */
const SINGLE_FILE = !import.meta.url.endsWith("/runtime/workers.ts");

/** Starts a worker running `module` (from a checkout) or the single file as `role`. */
export function startWorker(module: URL, role: WorkerRole): Worker {
  if (!SINGLE_FILE) return new Worker(module.href, { type: "module" });
  const worker = new Worker(import.meta.url, { type: "module" });
  worker.postMessage({ concordWorker: role } satisfies WorkerRoleMessage);
  return worker;
}
