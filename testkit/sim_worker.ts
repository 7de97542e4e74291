/**
 * A worker thread that runs simulations (testkit/raft_simulator.ts) for testkit/sim_pool.ts: a
 * range of seeds, or the search for one planted bug, and answers with what it found.
 *
 * Owns: one job at a time. Never: decides what passes — the test that asked does.
 */
import { parentPort } from "node:worker_threads";
import { simulate, type SimulationStats } from "./raft_simulator.ts";
import type { SimJob, SimJobResult } from "./sim_pool.ts";

function run(job: SimJob): SimJobResult {
  const totals: Partial<Record<keyof SimulationStats, number>> = {};
  const failures: { seed: number; failure: string }[] = [];
  let runs = 0;
  for (let seed = job.from; seed < job.from + job.seeds; seed++) {
    const report = simulate({ seed, steps: job.steps, plantedBug: job.plantedBug });
    runs++;
    for (const [k, v] of Object.entries(report.stats)) totals[k as keyof SimulationStats] = (totals[k as keyof SimulationStats] ?? 0) + v;
    if (!report.ok) {
      failures.push({ seed, failure: report.failure! });
      if (job.plantedBug) break;
    }
  }
  return { job, runs, failures, totals };
}

parentPort!.on("message", (job: SimJob) => parentPort!.postMessage(run(job)));
