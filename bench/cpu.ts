/**
 * The CPU time a server process has used, from /proc/PID/stat (user + system), so a benchmark can
 * report the members' CPU time per operation — the figure that shows where a change helped on two
 * shared cores.
 *
 * Owns: reading /proc. Never: decides what is measured.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const CLOCK_TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}
