/**
 * Runs simulation jobs on worker threads (one per core, two at most: the suite's other tests wait
 * on processes, not the CPU), so the simulation's share of `npm test` takes half the time.
 *
 * Owns: the threads and handing out jobs. Never: judges results.
 */
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { PlantedBug } from "../raft/planted_bugs.ts";
import type { SimulationStats } from "./raft_simulator.ts";

/** Seeds from..from+seeds-1; with a planted bug, stops at the first failing one. */
export interface SimJob {
  from: number;
  seeds: number;
  steps: number;
  plantedBug?: PlantedBug;
}

export interface SimJobResult {
  job: SimJob;
  runs: number;
  failures: { seed: number; failure: string }[];
  totals: Partial<Record<keyof SimulationStats, number>>;
}

export async function runSimJobs(jobs: SimJob[]): Promise<SimJobResult[]> {
  const threads = Math.max(1, Math.min(2, availableParallelism(), jobs.length));
  const results: SimJobResult[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(new URL("./sim_worker.ts", import.meta.url)));
  try {
    await Promise.all(workers.map((worker) =>
      new Promise<void>((resolve, reject) => {
        const give = () => {
          if (next >= jobs.length) return resolve();
          const at = next++;
          worker.once("message", (result: SimJobResult) => {
            results[at] = result;
            give();
          });
          worker.postMessage(jobs[at]);
        };
        worker.once("error", reject);
        give();
      })
    ));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
