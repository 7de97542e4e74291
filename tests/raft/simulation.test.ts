/**
 * Raft under deterministic simulation: thousands of seeded runs of 3- and 5-node clusters with
 * delays, drops, duplicates, partitions, crashes and restarts, every safety property checked after
 * every step and progress checked after healing. Then the same search with a rule broken on
 * purpose, to show that it finds a bug when there is one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { replayCommand, type SimulationOptions, simulate } from "../../testkit/raft_simulator.ts";

const SEEDS = Number(process.env.CONCORD_SIM_SEEDS ?? 2_000);
const STEPS = 600;
const options = (seed: number): SimulationOptions => ({ seed, nodes: seed % 2 === 1 ? 3 : 5, steps: STEPS });

test(`raft simulation > ${SEEDS} seeds of ${STEPS} steps keep every safety property and make progress after healing`, () => {
  let leaders = 0;
  let committed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const report = simulate(options(seed));
    assert.ok(report.ok, `${report.failure}\nreplay: ${replayCommand(options(seed))}`);
    leaders += report.stats.leaders;
    committed += report.stats.committed;
  }
  // The runs did what they are for: many elections, much committed.
  assert.ok(leaders > SEEDS, `only ${leaders} leaders elected over ${SEEDS} runs`);
  assert.ok(committed > 10 * SEEDS, `only ${committed} entries committed over ${SEEDS} runs`);
});

test("raft simulation > the same seed gives the same run", () => {
  const a = simulate({ ...options(42), trace: true });
  const b = simulate({ ...options(42), trace: true });
  assert.deepEqual(a.trace, b.trace);
  assert.ok(a.trace.length > 50);
});

test("raft simulation > a planted bug (votes granted without the log check) is found within the seed budget", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const report = simulate({ ...options(seed), plantedBug: "voteWithoutLogCheck" });
    if (!report.ok) {
      assert.match(report.failure!, /leader completeness|state machine safety|log matching/);
      return;
    }
  }
  assert.fail(`the simulator missed a planted bug in ${SEEDS} seeds`);
});
