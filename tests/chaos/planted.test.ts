/**
 * The chaos checkers proven against real members: three runs at once, each starting three members
 * with one bug planted (CONCORD_PLANTED_BUG) under the faults that bring it out, for a few
 * seconds; the checker meant for each must name it — a stale read by linearizability, an event delivered twice by
 * the watch checker, a kept-alive lease revoked by the lease checker. The seed is new each run and
 * printed. Acknowledging before fsync (leaderCountsOwnUndurable) is proven by the simulator
 * (tests/raft/simulation.test.ts): a kill -9 loses nothing the kernel holds, so only a power cut
 * could show it in real processes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FaultKind } from "../../testkit/chaos/nemesis.ts";
import { runChaos } from "../../testkit/chaos/run.ts";
import type { PlantedBug } from "../../member/planted_bugs.ts";

const PLANTS: { bug: PlantedBug; kinds: FaultKind[]; seconds: number; found: RegExp; checker: string }[] = [
  { bug: "followerReadsLocally", kinds: ["isolate"], seconds: 10, found: /^linearizability \(violated\)/, checker: "linearizability" },
  { bug: "watchStartsOneEarly", kinds: ["kill"], seconds: 8, found: /^watcher on m\d: revision \d+ after \d+: delivered twice/, checker: "the watch checker" },
  { bug: "leaseExpiresOnFollowerClock", kinds: ["transfer"], seconds: 10, found: /^lease \d+ \(client \d+\) kept alive, gone after/, checker: "the lease checker" },
];

// The three runs go at once (nine members on two cores): each bug shows under any load, and CI's
// budget is minutes.
test(`planted bugs > each, planted in every member of its own cluster, is found by its checker: ${PLANTS.map((p) => p.bug).join(", ")}`, async () => {
  const runs = await Promise.all(PLANTS.map(async (plant) => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const schedule: string[] = [];
    const report = await runChaos({
      seconds: plant.seconds, members: 3, seed, kinds: plant.kinds, plantedBug: plant.bug, log: (line) => schedule.push(line),
    });
    return { plant, seed, schedule, report };
  }));
  for (const { plant, seed, schedule, report } of runs) {
    console.log(`planted ${plant.bug} (seed ${seed}): ${report.operations} operations; found: ${report.anomalies[0]?.slice(0, 160) ?? "nothing"}`);
    assert.ok(report.anomalies.some((a) => plant.found.test(a)),
      `seed ${seed}: ${plant.checker} did not find ${plant.bug} within ${plant.seconds} s of ${plant.kinds.join(", ")}; anomalies: ${report.anomalies.join("; ") || "none"}; schedule:\n${schedule.join("\n")}`);
  }
});
