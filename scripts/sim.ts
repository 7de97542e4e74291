// `npm run sim -- [--seeds N] [--seed S] [--nodes 3|5] [--steps N] [--plant BUG] [--trace]`:
// runs the Raft simulation (tests/raft/simulator.ts) for as many seeds as asked, printing
// progress; a failing seed prints the one command that replays it. With --seed, runs that seed
// alone (with --trace, prints every event).
import { replayCommand, type SimulationOptions, simulate } from "../testkit/raft_simulator.ts";
import type { PlantedBug } from "../raft/raft.ts";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

const steps = Number(flag("steps") ?? 600);
const plantedBug = flag("plant") as PlantedBug | undefined;
const only = flag("seed");
const nodesFlag = flag("nodes");
const optionsFor = (seed: number): SimulationOptions => ({
  seed, steps, plantedBug, trace: has("trace") && only !== undefined,
  nodes: nodesFlag ? (Number(nodesFlag) as 3 | 5) : seed % 2 === 1 ? 3 : 5,
});

const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(flag("seeds") ?? 2_000) }, (_, i) => i + 1);
const started = performance.now();
let failures = 0;
for (const [n, seed] of seeds.entries()) {
  const opts = optionsFor(seed);
  const report = simulate(opts);
  if (opts.trace) console.log(report.trace.join("\n"));
  if (!report.ok) {
    failures++;
    console.log(`seed ${seed}: ${report.failure}\n  replay: ${replayCommand(opts)}`);
  }
  if ((n + 1) % 500 === 0 || n + 1 === seeds.length) {
    console.log(`sim: ${n + 1}/${seeds.length} seeds, ${failures} failing, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
process.exit(failures === 0 ? 0 : 1);
