// `npm run sim -- [--seeds N | --minutes M] [--from S] [--seed S] [--nodes 3|5] [--steps N] [--plant BUG] [--trace]`:
// runs the Raft simulation (testkit/raft_simulator.ts) for as many seeds as asked (or for as long),
// from seed 1 or --from S, printing progress; a failing seed prints the one command that replays
// it. With --seed, runs that seed alone (with --trace, prints every event). With --plant, breaks
// one rule on purpose (raft/planted_bugs.ts; `--plant list` names them) and stops at the first seed
// that finds it. Ends with the run's figures: runs, simulated time, and leaders, snapshots,
// transfers, membership changes and crashes per run.
import { replayCommand, SIM_STEPS, type SimulationOptions, type SimulationStats, simulate } from "../testkit/raft_simulator.ts";
import { PLANTED_BUG_NAMES, PLANTED_BUGS, type PlantedBug } from "../raft/planted_bugs.ts";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

if (flag("plant") === "list") {
  for (const name of PLANTED_BUG_NAMES) console.log(`${name.padEnd(32)} ${PLANTED_BUGS[name]}`);
  process.exit(0);
}
const plantedBug = flag("plant") as PlantedBug | undefined;
if (plantedBug && !PLANTED_BUG_NAMES.includes(plantedBug)) {
  console.error(`sim: no planted bug "${plantedBug}"; \`npm run sim -- --plant list\` names them`);
  process.exit(2);
}
const steps = Number(flag("steps") ?? SIM_STEPS);
const only = flag("seed");
const nodes = flag("nodes") ? (Number(flag("nodes")) as 3 | 5) : undefined;
const optionsFor = (seed: number): SimulationOptions => ({ seed, steps, nodes, plantedBug, trace: has("trace") && only !== undefined });
const minutes = flag("minutes") ? Number(flag("minutes")) : undefined;
const seedCount = only !== undefined ? 1 : minutes !== undefined ? Infinity : Number(flag("seeds") ?? 500);
const firstSeed = only !== undefined ? Number(only) : Number(flag("from") ?? 1);

const started = performance.now();
const deadline = minutes === undefined ? Infinity : started + minutes * 60_000;
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
const totals: Partial<Record<keyof SimulationStats, number>> = {};
let runs = 0;
let failures = 0;
for (let seed = firstSeed; runs < seedCount && performance.now() < deadline; seed++) {
  const opts = optionsFor(seed);
  const report = simulate(opts);
  runs++;
  for (const [k, v] of Object.entries(report.stats)) totals[k as keyof SimulationStats] = (totals[k as keyof SimulationStats] ?? 0) + v;
  if (opts.trace) console.log(report.trace.join("\n"));
  if (!report.ok) {
    failures++;
    console.log(`seed ${seed}: ${report.failure}\n  replay: ${replayCommand(opts)}`);
    if (plantedBug) break;
  }
  if (runs % 100 === 0) console.log(`sim: ${runs} runs, ${failures} failing, ${elapsed()} s`);
}
const per = (k: keyof SimulationStats) => ((totals[k] ?? 0) / Math.max(runs, 1)).toFixed(1);
console.log(
  `sim: ${runs} runs in ${elapsed()} s, ${failures} failing; simulated time ${totals.time ?? 0} units (${per("time")} per run); per run: ` +
    `${per("leaders")} leaders, ${per("committed")} entries committed, ${per("acked")} writes acknowledged, ${per("reads")} reads, ` +
    `${per("snapshots")} snapshots installed, ${per("compactions")} log trims, ${per("transfers")} transfers, ` +
    `${per("membershipChanges")} membership changes, ${per("crashes")} crashes (${per("lostWrites")} writes lost, ${per("tornWrites")} torn), ` +
    `${per("partitions")} partitions`,
);
if (plantedBug) {
  console.log(failures > 0 ? `sim: the planted bug ${plantedBug} was found` : `sim: the planted bug ${plantedBug} was NOT found`);
  process.exit(failures > 0 ? 0 : 1);
}
process.exit(failures === 0 ? 0 : 1);
