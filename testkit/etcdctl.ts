/**
 * Test support: Debian's etcdctl 3.4 (ETCDCTL_API=3) run against an endpoint, as a user runs it —
 * one command with its arguments and stdin, or a long one (watch) started in the background,
 * read as it prints, and ended once it has printed what it must.
 *
 * Owns: spawning etcdctl with a clean environment, bounding every run in time, and capturing
 * stdout, stderr and how it ended. Never: asserts anything, or normalises what was printed
 * (etcdctl_normalise.ts does).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";

export const ETCDCTL_BINARY = "/usr/bin/etcdctl";

/** What one run printed and how it ended: an exit code, a signal, or killed past its deadline. */
export interface EtcdctlResult {
  stdout: string;
  stderr: string;
  /** `exit 0`, `exit 1`, `signal SIGTERM`, or `timed out` (killed by the harness). */
  ended: string;
}

export interface EtcdctlOptions {
  /** Written to stdin, which is then closed; stdin is empty otherwise. */
  stdin?: string | Uint8Array;
  /** Killed (SIGKILL) past this; etcdctl's own command timeout is 5 s. */
  timeoutMs?: number;
  /** Working directory: relative paths (snapshot save) print the same on every side. */
  cwd?: string;
}

const RUN_TIMEOUT_MS = 15_000;

/** Every etcdctl still running, killed if the test process exits first (a watch never ends). */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * etcdctl's environment: only what the process needs, so an ETCDCTL_* variable of whoever runs
 * the tests cannot change what is printed.
 */
function environment(): Record<string, string> {
  const env: Record<string, string> = { ETCDCTL_API: "3" };
  for (const name of ["PATH", "HOME", "TMPDIR"]) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  return env;
}

function endedOf(child: ChildProcess, timedOut: boolean): string {
  if (timedOut) return "timed out";
  return child.signalCode !== null ? `signal ${child.signalCode}` : `exit ${child.exitCode}`;
}

function start(endpoints: string[], args: string[], options: { cwd?: string; stdinOpen: boolean }): ChildProcess {
  if (!existsSync(ETCDCTL_BINARY)) throw new Error(`${ETCDCTL_BINARY} is missing: run scripts/install-test-deps.sh`);
  return spawn(ETCDCTL_BINARY, [`--endpoints=${endpoints.join(",")}`, ...args], {
    cwd: options.cwd,
    env: environment(),
    stdio: [options.stdinOpen ? "pipe" : "ignore", "pipe", "pipe"],
  });
}

/** Runs `etcdctl --endpoints=… args…` to its end (or its deadline). */
export function etcdctl(endpoints: string[], args: string[], options: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const running = new EtcdctlProcess(endpoints, args, { cwd: options.cwd, stdinOpen: true });
  running.write(options.stdin ?? "");
  running.closeStdin();
  return running.exit(options.timeoutMs ?? RUN_TIMEOUT_MS);
}

/**
 * etcdctl running in the background (a watch): its output so far, a wait for what it must print,
 * and its end — by closing stdin (interactive watch), by a signal, or by itself.
 */
export class EtcdctlProcess {
  readonly #child: ChildProcess;
  #stdout = "";
  #stderr = "";
  #timedOut = false;
  readonly #exited: Promise<void>;
  readonly #listeners = new Set<() => void>();

  constructor(endpoints: string[], args: string[], options: { cwd?: string; stdinOpen?: boolean } = {}) {
    this.#child = start(endpoints, args, { cwd: options.cwd, stdinOpen: options.stdinOpen ?? true });
    running.add(this.#child);
    this.#child.once("exit", () => running.delete(this.#child));
    this.#child.stdout!.on("data", (d) => {
      this.#stdout += d;
      for (const l of this.#listeners) l();
    });
    this.#child.stderr!.on("data", (d) => {
      this.#stderr += d;
      for (const l of this.#listeners) l();
    });
    // A closed pipe (etcdctl exited before reading stdin) is its answer, not the harness's error.
    this.#child.stdin?.on("error", () => {});
    const streamsClosed = Promise.all([this.#child.stdout!, this.#child.stderr!].map((s) => new Promise((r) => s.once("close", r))));
    const exit = new Promise<void>((r) => this.#child.once("exit", () => r()));
    this.#exited = Promise.all([exit, streamsClosed]).then(() => {
      for (const l of this.#listeners) l();
    });
  }

  get stdout(): string {
    return this.#stdout;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  write(text: string | Uint8Array): void {
    this.#child.stdin?.write(text);
  }

  closeStdin(): void {
    this.#child.stdin?.end();
  }

  /**
   * Until stdout satisfies `done` or etcdctl exits; answers whether `done` held. Past `timeoutMs`
   * it answers false rather than throwing: the caller ends the process and compares what it has.
   */
  printed(done: (stdout: string) => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (done(this.#stdout)) finish(true);
        else if (!this.running) finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (held: boolean) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(held);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends `signal` (unless it already ended) and answers its output once it has ended. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5_000): Promise<EtcdctlResult> {
    if (this.running) this.#child.kill(signal);
    return await this.exit(timeoutMs);
  }

  /** Its output once it has ended by itself; killed (and `timed out`) past `timeoutMs`. */
  async exit(timeoutMs: number): Promise<EtcdctlResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), timeoutMs)));
    if ((await Promise.race([this.#exited, deadline])) === "late") {
      this.#timedOut = true;
      this.#child.kill("SIGKILL");
      await this.#exited;
    }
    clearTimeout(timer);
    return { stdout: this.#stdout, stderr: this.#stderr, ended: endedOf(this.#child, this.#timedOut) };
  }
}
