// `npm run chaos -- [--minutes M | --seconds S] [--members 3|5] [--seed N] [--faults kill,pause,…] [--plant BUG]`:
// a cluster of real Concord processes under the chaos nemesis (testkit/chaos/), with clients doing
// puts, gets and compare-and-sets, a watcher on every member and lease clients, then the checkers:
// linearizability, durability, watches, leases. Prints the faults as they happen and the run's
// figures; a run with anomalies prints them, the schedule, and the command that draws the same
// faults again (the timing of real processes still varies), and exits 1. With --plant, every member
// runs with one bug planted (raft/planted_bugs.ts, member/planted_bugs.ts; `--plant list` names them),
// to see the checkers find it.
import { FAULT_KINDS, type FaultKind } from "../testkit/chaos/nemesis.ts";
import { runChaos } from "../testkit/chaos/run.ts";
import { ALL_PLANTED_BUG_NAMES, ALL_PLANTED_BUGS } from "../member/planted_bugs.ts";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = flag("seconds") ? Number(flag("seconds")) : Number(flag("minutes") ?? 2) * 60;
const members = Number(flag("members") ?? 3);
const seed = flag("seed") ? Number(flag("seed")) : Math.floor(Math.random() * 2 ** 31);
const kinds = flag("faults")?.split(",") as FaultKind[] | undefined;
const unknownKind = kinds?.find((k) => !FAULT_KINDS.includes(k));
if (![3, 5].includes(members) || !(seconds > 0) || !Number.isInteger(seed) || unknownKind) {
  console.error(`chaos: --members 3|5, --minutes or --seconds above 0, an integer --seed, --faults among ${FAULT_KINDS.join(",")}`);
  process.exit(2);
}

const plantedBug = flag("plant");
if (plantedBug === "list") {
  for (const name of ALL_PLANTED_BUG_NAMES) console.log(`${name.padEnd(32)} ${ALL_PLANTED_BUGS[name]}`);
  process.exit(0);
}
if (plantedBug && !(ALL_PLANTED_BUG_NAMES as readonly string[]).includes(plantedBug)) {
  console.error(`chaos: no planted bug "${plantedBug}"; \`npm run chaos -- --plant list\` names them`);
  process.exit(2);
}
console.log(`chaos: ${members} members for ${seconds} s, seed ${seed}, faults ${(kinds ?? FAULT_KINDS).join(", ")}${plantedBug ? `, planted bug ${plantedBug}` : ""}`);
const report = await runChaos({ seconds, members, seed, kinds, plantedBug, log: (line) => console.log(line) });
const faults = Object.entries(report.faults).map(([k, n]) => `${n} ${k}`).join(", ");
console.log(
  `chaos: ${report.operations} operations (${report.answered} answered, ${report.acknowledgedWrites} writes acknowledged), ` +
    `faults: ${faults || "none"}; ${report.watchEvents} watch events over ${members} watchers (${report.watchReconnects} reconnects), ` +
    `${report.leases.granted} leases, ${report.leases.keepAlives} keep-alives; acknowledged writes lost: ${report.lost}; anomalies: ${report.anomalies.length}`,
);
if (report.anomalies.length > 0) {
  for (const a of report.anomalies) console.log(`anomaly: ${a}`);
  console.log(`schedule:\n  ${report.schedule.join("\n  ")}`);
  console.log(`the same faults again: npm run chaos -- --seed ${seed} --seconds ${seconds} --members ${members}${kinds ? ` --faults ${kinds.join(",")}` : ""}${plantedBug ? ` --plant ${plantedBug}` : ""}`);
  process.exit(1);
}
