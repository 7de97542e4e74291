/**
 * Test support: an etcdctl session written as a list of steps, played in lockstep on two sides
 * (etcd and Concord, or two etcds), each step's output normalised and compared before the next;
 * the first difference ends the session with both outputs side by side.
 *
 * Owns: the step kinds (a command, a background watch and its end, an action of the harness),
 * turning a step's words into arguments, and the comparison. Never: starts servers (a Side does),
 * or waits without a bound.
 */
import { EtcdctlProcess, etcdctl, type EtcdctlResult } from "./etcdctl.ts";
import { normaliseVarying, sortUnordered } from "./etcdctl_normalise.ts";
import type { Side } from "./etcdctl_sides.ts";

/** What a step printed on one side, normalised: what is compared. */
export interface Printed {
  stdout: string;
  stderr: string;
  ended: string;
  /**
   * What the step waited for and did not see (lines of a watch, watchers, an action's event):
   * on the reference side (etcd) that is a mistake in the session, not a difference.
   */
  missed?: string;
}

export interface Step {
  title: string;
  play(side: Side): Promise<Printed>;
}

export interface RunOptions {
  /** Members (1-based) whose endpoints etcdctl gets, in this order; default member 1. */
  on?: number[];
  stdin?: string;
  /**
   * The output's order follows member ids or the order concurrent checks finished: sort lines
   * (and JSON arrays) once named.
   */
  unordered?: boolean;
  /** etcdctl's --command-timeout, e.g. "1s" for a call that can only time out. */
  commandTimeout?: string;
  /**
   * Run again until it exits 0, for up to this long: for a command whose success waits on an event
   * only the server sees (a learner in sync). Only the last run is compared.
   */
  retryForMs?: number;
  /** Endpoints as URLs (`http://127.0.0.1:2379`), as etcd's documentation writes them, not host:port. */
  urls?: boolean;
}

/**
 * Splits a step's command line into words as a shell would for the simple cases written here:
 * spaces separate, single quotes keep spaces and double quotes.
 */
export function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]);
  return out;
}

function printed(side: Side, result: EtcdctlResult, unordered = false): Printed {
  side.names.learn(result.stdout);
  const clean = (text: string) => {
    const named = normaliseVarying(side.names.apply(text));
    return unordered ? sortUnordered(named) : named;
  };
  return { stdout: clean(result.stdout), stderr: clean(result.stderr), ended: result.ended };
}

const endpointsOf = (side: Side, options: RunOptions) => (options.on ?? [1]).map((n) => `${options.urls ? "http://" : ""}${side.endpoint(n)}`);

/** `etcdctl <line>`: the command to its end (etcdctl's own timeouts bound it). */
export function run(line: string, options: RunOptions = {}): Step {
  return {
    title: line,
    async play(side) {
      const args = words(line).map((w) => side.names.resolve(w));
      if (options.commandTimeout) args.unshift(`--command-timeout=${options.commandTimeout}`);
      const once = () => etcdctl(endpointsOf(side, options), args, { stdin: options.stdin, cwd: side.cwd });
      let result = await once();
      const deadline = Date.now() + (options.retryForMs ?? 0);
      while (result.ended !== "exit 0" && Date.now() < deadline) {
        if (process.env.CONCORD_ETCDCTL_VERBOSE) process.stderr.write(`    (${side.label}, to be run again: ${result.ended} ${result.stderr.trim().split("\n").pop()})\n`);
        await new Promise((r) => setTimeout(r, 100));
        result = await once();
      }
      return printed(side, result, options.unordered);
    },
  };
}

const WATCH_START_MS = 5_000;
const WATCH_PRINT_MS = 5_000;

/**
 * `etcdctl <line>` left running (a watch, a keep-alive), as `name`; the step ends once the member
 * counts `watchers` more watchers (etcd_debugging_mvcc_watcher_total), so writes after it are
 * seen. `stdin` is written and left open (an interactive watch reads its commands from it).
 */
export function background(name: string, line: string, options: { on?: number; stdin?: string; watchers?: number } = {}): Step {
  return {
    title: `${line} (in the background, as ${name})`,
    async play(side) {
      const member = options.on ?? 1;
      const before = await side.watchers(member);
      const etcdctlProcess = new EtcdctlProcess([side.endpoint(member)], words(line).map((w) => side.names.resolve(w)), { cwd: side.cwd });
      if (options.stdin) etcdctlProcess.write(options.stdin);
      side.background.set(name, { process: etcdctlProcess, member, watchersBefore: before });
      const want = before + (options.watchers ?? 0);
      if (await side.awaitWatchers(member, (n) => n >= want, WATCH_START_MS)) return { stdout: "", stderr: "", ended: "running" };
      const missed = `${want} watchers not seen within ${WATCH_START_MS} ms`;
      return { stdout: "", stderr: "", ended: missed, missed };
    },
  };
}

/** A watch in the background: `background` that waits for its one watcher (or `watchers`). */
export function watch(name: string, line: string, options: { on?: number; stdin?: string; watchers?: number } = {}): Step {
  return background(name, line, { watchers: 1, ...options });
}

/**
 * Ends the background command `name` once its stdout has `lines` lines (or WATCH_PRINT_MS
 * passed: then what it printed is compared as it is): by closing stdin (an interactive watch then
 * exits on EOF) or by SIGTERM. Its whole output is compared; then the member's watcher count is awaited back
 * (a next watch counts from there).
 */
export function end(name: string, lines: number, by: "eof" | "SIGTERM" = "SIGTERM"): Step {
  return {
    title: `end ${name} after ${lines} lines (${by === "eof" ? "stdin closed" : "SIGTERM"})`,
    async play(side) {
      const watching = side.background.get(name);
      if (!watching) throw new Error(`no background command ${name}`);
      side.background.delete(name);
      const seen = await watching.process.printed((out) => out.split("\n").length - 1 >= lines, WATCH_PRINT_MS);
      let result: EtcdctlResult;
      if (by === "eof") {
        watching.process.closeStdin();
        result = await watching.process.exit(WATCH_PRINT_MS);
      } else {
        result = await watching.process.stop("SIGTERM");
      }
      const gone = await side.awaitWatchers(watching.member, (n) => n <= watching.watchersBefore, WATCH_START_MS);
      const out = printed(side, result);
      const count = result.stdout.split("\n").length - 1;
      const missed = !seen
        ? `${lines} lines not printed within ${WATCH_PRINT_MS} ms`
        : count !== lines
        ? `${count} lines printed, the step expects ${lines}`
        : !gone
        ? `watchers still counted ${WATCH_START_MS} ms after the end`
        : undefined;
      return missed ? { ...out, ended: `${out.ended} (${missed})`, missed } : out;
    },
  };
}

/**
 * Something the harness does between commands (start a member, stop one, wait for an event); its
 * "output" is what it answers, compared like the rest.
 */
export function act(title: string, action: (side: Side) => Promise<string | void>): Step {
  return {
    title,
    async play(side) {
      try {
        return { stdout: (await action(side)) ?? "", stderr: "", ended: "done" };
      } catch (e) {
        const missed = String(e instanceof Error ? e.message : e);
        return { stdout: "", stderr: missed, ended: "failed", missed };
      }
    },
  };
}

/**
 * Plays `steps` on both sides in lockstep; throws at the first step whose outputs differ.
 * CONCORD_ETCDCTL_VERBOSE=1 prints each step, its time and the reference side's output;
 * CONCORD_ETCDCTL_KEEP_GOING=1 plays on past differences and throws with all of them at the end
 * (to survey a side that is not there yet; later steps may differ only because earlier ones did).
 */
export async function playSession(sides: [Side, Side], steps: Step[]): Promise<void> {
  const differences: string[] = [];
  for (const [i, step] of steps.entries()) {
    const started = Date.now();
    const [a, b] = await Promise.all(sides.map((s) => step.play(s)));
    if (process.env.CONCORD_ETCDCTL_VERBOSE) {
      const out = `${a.stdout}${a.stderr}`.trimEnd().replace(/^/gm, "    ");
      process.stderr.write(`[${i + 1}] ${step.title} (${Date.now() - started} ms, ${a.ended})\n${out ? `${out}\n` : ""}`);
    }
    if (a.missed) throw new Error(`step ${i + 1} (${step.title}) on ${sides[0].label}, the reference: ${a.missed}\n\n${sideBySide(sides, a, b)}`);
    if (a.stdout !== b.stdout || a.stderr !== b.stderr || a.ended !== b.ended) {
      differences.push(`step ${i + 1} of ${steps.length} differs: etcdctl ${step.title}\n\n${sideBySide(sides, a, b)}`);
      if (!process.env.CONCORD_ETCDCTL_KEEP_GOING) break;
    }
  }
  if (differences.length > 0) throw new Error(differences.join("\n\n"));
}

const SECTIONS = ["stdout", "stderr", "ended"] as const;
const linesOf = (p: Printed, section: (typeof SECTIONS)[number]) => (section === "ended" ? [p.ended] : p[section].split("\n"));

/**
 * Both outputs in two columns, section by section (stdout, stderr, how it ended) so one side's
 * extra lines do not shift the rest, `≠` on each line that differs, then the first such line in
 * full.
 */
export function sideBySide(sides: [Side, Side], a: Printed, b: Printed): string {
  const pairs: [string, string][] = [];
  for (const section of SECTIONS) {
    const [left, right] = [linesOf(a, section), linesOf(b, section)];
    pairs.push([`${section}:`, `${section}:`]);
    for (let i = 0; i < Math.max(left.length, right.length); i++) pairs.push([left[i] ?? "", right[i] ?? ""]);
  }
  const width = Math.min(90, Math.max(sides[0].label.length, ...pairs.map(([l]) => l.length)));
  const clip = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));
  const rows = [`  ${clip(sides[0].label)} │ ${sides[1].label}`, `  ${"─".repeat(width)}─┼─${"─".repeat(width)}`];
  let first: number | undefined;
  for (const [i, [l, r]] of pairs.entries()) {
    if (l !== r) first ??= i;
    rows.push(`${l === r ? " " : "≠"} ${clip(l)} │ ${r}`);
  }
  if (first !== undefined) {
    rows.push("", `first difference, in full:`, `  ${sides[0].label}: ${JSON.stringify(pairs[first][0])}`, `  ${sides[1].label}: ${JSON.stringify(pairs[first][1])}`);
  }
  return rows.join("\n");
}
