/**
 * `bun bench/shared_port.ts`: what a change to the client port costs the JSON gateway — one member
 * from this tree against one from a baseline commit, by default the last before the shared port
 * (runtime/client_port.ts), whose client port was Bun.serve (or Deno.serve) itself. Put with 64
 * closed-loop clients, measured in the order baseline, this, this, baseline (as workloads.ts does)
 * for each round; per measurement: puts/s, p99, and the member's CPU per put, the whole process and
 * its main thread (from /proc: the client port's pipe runs on a thread of its own). Nothing else
 * should run on the machine meanwhile; the client shares its cores.
 *
 * Flags: --baseline REF, --runtime bun|deno, --seconds N (default 5), --clients N (64), --rounds N (2).
 */
import { execSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Runtime, ROOT, startConcord } from "../testkit/processes.ts";
import { type LoadResult, runLoad } from "./load.ts";
import { flag, preload, workloads } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = Number(flag("clients", "64"));
const ROUNDS = Number(flag("rounds", "2"));
const RUNTIME = flag("runtime", "bun") as Runtime;
const git = (args: string) => execSync(`git ${args}`, { cwd: ROOT, encoding: "utf8" }).trim();
const added = git("log --diff-filter=A --format=%H -- runtime/client_port.ts").split("\n").pop();
const BASELINE = git(`rev-parse --short ${flag("baseline", added ? `${added}^` : "HEAD")}`);

/** The baseline's files (git archive), with this tree's packages and console bundle. */
function checkout(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "concord-baseline-"));
  execSync(`git archive ${ref} | tar -x -C ${dir}`, { cwd: ROOT });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  if (existsSync(join(ROOT, "ui/dist"))) cpSync(join(ROOT, "ui/dist"), join(dir, "ui/dist"), { recursive: true });
  return dir;
}

/** CPU seconds used so far, from a /proc stat file: a process's (/proc/PID/stat) or one thread's. */
function cpuSeconds(statPath: string): number {
  const fields = readFileSync(statPath, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in ticks of 10 ms
}

interface Measured extends LoadResult {
  processUsPerPut: number;
  mainUsPerPut: number;
}

async function measure(root: string): Promise<Measured> {
  const member = await startConcord({ name: "bench-port", runtime: RUNTIME, root });
  try {
    const pid = member.child.pid!;
    // With every key there, as its earlier figures were taken.
    await preload([member.url], Object.keys(workloads));
    const { path, body } = workloads.put;
    await runLoad(member.url, path, body, CLIENTS, 1);
    // The main thread's id is the process's.
    const [whole, main] = [`/proc/${pid}/stat`, `/proc/${pid}/task/${pid}/stat`];
    const [process0, main0] = [cpuSeconds(whole), cpuSeconds(main)];
    const r = await runLoad(member.url, path, body, CLIENTS, SECONDS);
    const [process1, main1] = [cpuSeconds(whole), cpuSeconds(main)];
    const perPut = (seconds: number) => (seconds / r.ops) * 1e6;
    return { ...r, processUsPerPut: perPut(process1 - process0), mainUsPerPut: perPut(main1 - main0) };
  } finally {
    await member.stop();
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const line = (m: Measured) =>
  `${fmt(m.opsPerSecond)} puts/s, p99 ${fmt(m.p99Ms, 1)} ms, ${m.errors} errors; CPU per put ${fmt(m.processUsPerPut, 1)} µs (main thread ${fmt(m.mainUsPerPut, 1)} µs)`;

console.log(`bench:shared-port: put × ${CLIENTS} clients on ${RUNTIME}, ${SECONDS} s each, ${ROUNDS} rounds; baseline ${BASELINE} vs this tree`);
const baseline = checkout(BASELINE);
const results: Record<"baseline" | "this", Measured[]> = { baseline: [], this: [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of ["baseline", "this", "this", "baseline"] as const) {
      const m = await measure(side === "baseline" ? baseline : ROOT);
      results[side].push(m);
      console.log(`round ${round} ${side.padEnd(8)} ${line(m)}`);
    }
  }
} finally {
  rmSync(baseline, { recursive: true, force: true });
}
const mean = (ms: Measured[], k: keyof Measured) => ms.reduce((s, m) => s + m[k], 0) / ms.length;
console.log(`\n| tree | puts/s | p99 ms | CPU µs per put | main thread µs per put |\n|---|---|---|---|---|`);
for (const side of ["baseline", "this"] as const) {
  const ms = results[side];
  console.log(`| ${side === "baseline" ? `${BASELINE} (baseline)` : "this tree"} | ${fmt(mean(ms, "opsPerSecond"))} | ${fmt(mean(ms, "p99Ms"), 1)} | ${fmt(mean(ms, "processUsPerPut"), 1)} | ${fmt(mean(ms, "mainUsPerPut"), 1)} |`);
}
