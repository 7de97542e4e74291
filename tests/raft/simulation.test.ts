/**
 * Raft under deterministic simulation (testkit/raft_simulator.ts): hundreds of seeded runs of
 * clusters with settings drawn per seed, driven through the member's own write path, with delays,
 * drops, duplicates, partitions, crashes that lose or tear what was not durable, and membership
 * changes, every safety property checked as they run and progress checked after healing. Then
 * every bug in raft/planted_bugs.ts, planted one at a time: each must be found within the budget.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PLANTED_BUG_NAMES } from "../../raft/planted_bugs.ts";
import { replayCommand, SIM_STEPS, simulate } from "../../testkit/raft_simulator.ts";
import { runSimJobs, type SimJob } from "../../testkit/sim_pool.ts";

const SEEDS = Number(process.env.CONCORD_SIM_SEEDS ?? 400);
/** Seeds searched for each planted bug before the simulator is said to have missed it. */
const PLANT_SEEDS_MAX = 800;
const CHUNK = 50;

test(`raft simulation > ${SEEDS} seeds of ${SIM_STEPS} units keep every safety property, lose no acknowledged write and make progress after healing`, async () => {
  const jobs: SimJob[] = [];
  for (let from = 1; from <= SEEDS; from += CHUNK) jobs.push({ from, seeds: Math.min(CHUNK, SEEDS - from + 1), steps: SIM_STEPS });
  const results = await runSimJobs(jobs);
  const failures = results.flatMap((r) => r.failures);
  assert.deepEqual(
    failures.map((f) => `${f.failure}\nreplay: ${replayCommand({ seed: f.seed, steps: SIM_STEPS })}`),
    [],
  );
  // The runs did what they are for: per run, many leaders, snapshots, transfers, membership
  // changes, crashes, writes and reads.
  const per = (k: keyof (typeof results)[0]["totals"]) => results.reduce((n, r) => n + (r.totals[k] ?? 0), 0) / SEEDS;
  const wanted = { leaders: 8, committed: 200, acked: 100, reads: 15, snapshots: 3, transfers: 2, membershipChanges: 3, crashes: 10 } as const;
  for (const [k, min] of Object.entries(wanted)) {
    assert.ok(per(k as keyof typeof wanted) >= min, `only ${per(k as keyof typeof wanted).toFixed(1)} ${k} per run (want ${min})`);
  }
});

test("raft simulation > the same seed gives the same run", () => {
  const a = simulate({ seed: 42, steps: 600, trace: true });
  const b = simulate({ seed: 42, steps: 600, trace: true });
  assert.deepEqual(a.trace, b.trace);
  assert.ok(a.trace.length > 50);
});

test(`raft simulation > every planted bug (${PLANTED_BUG_NAMES.length} of them) is found within ${PLANT_SEEDS_MAX} seeds`, async () => {
  const results = await runSimJobs(PLANTED_BUG_NAMES.map((plantedBug) => ({ from: 1, seeds: PLANT_SEEDS_MAX, steps: SIM_STEPS, plantedBug })));
  const missed = results.filter((r) => r.failures.length === 0).map((r) => r.job.plantedBug);
  assert.deepEqual(missed, [], `the simulator missed ${missed.join(", ")} in ${PLANT_SEEDS_MAX} seeds each`);
  for (const r of results) {
    // Found by the bug: the same seed with nothing planted keeps every property.
    const { seed, failure } = r.failures[0];
    assert.doesNotMatch(failure, /event loops never ran dry/, `${r.job.plantedBug}: ${failure}`);
    const clean = simulate({ seed, steps: SIM_STEPS });
    assert.ok(clean.ok, `${r.job.plantedBug} was "found" at seed ${seed}, which fails with nothing planted too: ${clean.failure}`);
  }
});
