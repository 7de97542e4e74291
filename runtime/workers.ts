/**
 * Starting the member's worker threads (the log writer, the checkpointer, the client port's
 * acceptor), from a checkout or from the single file (`npm run build`: dist/concord.js and the
 * dist/concord executable). From a checkout a worker runs its own module; the single file has no
 * other module to run, so it carries each worker as a bundle of its own (text, handed over by its
 * entry before the member starts) and starts it from that — each worker loads only its own code,
 * not the whole file.
 *
 * Owns: how a worker is started. Never: what a worker does.
 */

/** The workers there are, by the name the single file knows each by. */
export type WorkerRole = "log-writer" | "checkpointer" | "client-port";

let bundled: Record<WorkerRole, string> | undefined;

/** The single file's workers, each its own bundle's code (scripts/build.ts makes them). */
export function useBundledWorkers(code: Record<WorkerRole, string>): void {
  bundled = code;
}

/** Starts a worker running `module` (from a checkout) or, in the single file, `role`'s bundle. */
export function startWorker(module: URL, role: WorkerRole): Worker {
  const code = bundled?.[role];
  if (code === undefined) return new Worker(module.href, { type: "module" });
  return new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), { type: "module" });
}
