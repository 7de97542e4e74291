/**
 * Test support: start and stop real server processes (Concord on Bun or Deno, and Debian's etcd)
 * on 127.0.0.1, each on a port nobody else holds, each with its own data dir.
 *
 * Owns: spawning, readiness (awaited, never slept for), kill -9, and leaving no process behind.
 * Never: asserts anything.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SERVER_ENV } from "../runtime/server_env.ts";

export const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const BIN = join(ROOT, "node_modules", ".bin");

export type Runtime = "bun" | "deno";

export interface ServerProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
  /** Stops the process and removes its data dir. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Ports handed out by this process, never handed out twice. */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A port free right now on 127.0.0.1, below the kernel's range for outgoing connections
 * (32768 and up): a port the OS picked could be taken by a client socket before the server
 * that was to listen on it starts.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free port found between 20000 and 32000");
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `concord-${prefix}-`));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

/**
 * Resolves when the process prints `line` (Concord announces itself once it serves); fails when
 * the process exits first or the deadline passes.
 */
function awaitLine(child: ChildProcess, line: RegExp, output: () => string, deadlineMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready within ${deadlineMs} ms:\n${output()}`)), deadlineMs);
    const onData = () => {
      if (!line.test(output())) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      resolve();
    };
    child.stdout?.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready:\n${output()}`));
    });
  });
}

/**
 * Resolves when `url` answers /health (etcd announces nothing we can wait on, and is ready only
 * once it has a leader); fails when the process exits first or the deadline passes.
 */
async function awaitHealthy(child: ChildProcess, url: string, output: () => string, deadlineMs = 20_000): Promise<void> {
  const died = exited(child).then(() => {
    throw new Error(`server exited before it was ready:\n${output()}`);
  });
  const started = Date.now();
  const poll = async () => {
    while (Date.now() - started < deadlineMs) {
      try {
        const r = await fetch(`${url}/health`);
        await r.body?.cancel();
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`server not ready within ${deadlineMs} ms:\n${output()}`);
  };
  await Promise.race([poll(), died]);
}

function track(child: ChildProcess, url: string, dataDir: string, removeDir: boolean): ServerProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  const kill9 = async () => {
    child.kill("SIGKILL");
    await exited(child);
  };
  return {
    url,
    dataDir,
    child,
    kill9,
    stop: async () => {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(timer);
      if (removeDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function capture(child: ChildProcess): () => string {
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  return () => out;
}

export interface ConcordOptions {
  runtime?: Runtime;
  dataDir?: string;
  name?: string;
  /** More flags for the member. */
  flags?: string[];
  /** The tree whose server.ts runs (a benchmark's baseline commit); this one by default. */
  root?: string;
}

/** Starts `server.ts` as its own process; reuse `dataDir` to restart a member. */
export async function startConcord(options: ConcordOptions = {}): Promise<ServerProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? tempDir("member");
  const [port, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const name = options.name ?? "concord";
  const flags = [
    "--data-dir", dataDir, "--listen-client-urls", url, "--name", name,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `${name}=${peer}`,
    ...(options.flags ?? []),
  ];
  return spawnConcord({ runtime: options.runtime, url, dataDir, flags, removeDir: ownDir, root: options.root });
}

/**
 * Starts `server.ts` with exactly these flags; resolves once it serves clients. On Bun,
 * CONCORD_TEST_BUN_FLAGS is passed to the runtime (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
export async function spawnConcord(options: {
  runtime?: Runtime;
  url: string;
  dataDir: string;
  flags: string[];
  removeDir: boolean;
  /** The tree whose server.ts runs; this one by default. */
  root?: string;
  /** Each line the process prints, as it prints it. */
  onOutput?: (text: string) => void;
  /** More environment variables for the process. */
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const runtime = options.runtime ?? (process.env.CONCORD_TEST_RUNTIME as Runtime | undefined) ?? "bun";
  const { flags } = options;
  const command = runtime === "bun" ? [join(BIN, "bun"), ...(process.env.CONCORD_TEST_BUN_FLAGS?.split(" ").filter(Boolean) ?? []), "server.ts", ...flags] : [join(BIN, "deno"), "run", "-A", "server.ts", ...flags];
  const child = spawn(command[0], command.slice(1), { cwd: options.root ?? ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...SERVER_ENV, ...options.env } });
  const output = capture(child);
  if (options.onOutput) {
    child.stdout?.on("data", (d) => options.onOutput!(String(d)));
    child.stderr?.on("data", (d) => options.onOutput!(String(d)));
  }
  const server = track(child, options.url, options.dataDir, options.removeDir);
  await awaitLine(child, /serving clients on/, output);
  return server;
}

/** Runs `server.ts` with `args` (a command such as `snapshot restore …`, not a member) to its end, within `timeoutMs`. */
export function runConcordCommand(args: string[], runtime: Runtime = "bun", timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = runtime === "bun" ? [join(BIN, "bun"), "server.ts", ...args] : [join(BIN, "deno"), "run", "-A", "server.ts", ...args];
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...SERVER_ENV } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += String(d)));
  child.stderr.on("data", (d) => (stderr += String(d)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

export const ETCD_BINARY = "/usr/bin/etcd";

/** Starts Debian's etcd (installed by scripts/install-test-deps.sh) as a one-member cluster, with more `flags` if given. */
export async function startEtcd(name = "etcd", flags: string[] = []): Promise<ServerProcess> {
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} is missing: run scripts/install-test-deps.sh`);
  const dataDir = tempDir("etcd");
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(ETCD_BINARY, [
    "--name", name, "--data-dir", dataDir,
    "--listen-client-urls", url, "--advertise-client-urls", url,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `${name}=${peer}`, "--log-level", "error", ...flags,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const output = capture(child);
  const server = track(child, url, dataDir, true);
  await awaitHealthy(child, url, output);
  return server;
}

/** POSTs a raw body; answers status and text. */
export async function post(url: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}${path}`, { method: "POST", body });
  return { status: r.status, text: await r.text() };
}

/** Starts Debian's etcd as a cluster of `size` members on 127.0.0.1; resolves once all are healthy. */
export async function startEtcdCluster(size: number): Promise<ServerProcess[]> {
  if (!existsSync(ETCD_BINARY)) throw new Error(`${ETCD_BINARY} is missing: run scripts/install-test-deps.sh`);
  const members = [];
  for (let i = 1; i <= size; i++) {
    const [client, peer] = [await freePort(), await freePort()];
    members.push({ name: `etcd${i}`, url: `http://127.0.0.1:${client}`, peer: `http://127.0.0.1:${peer}`, dataDir: tempDir("etcd") });
  }
  const initial = members.map((m) => `${m.name}=${m.peer}`).join(",");
  const started = members.map((m) => {
    const child = spawn(ETCD_BINARY, [
      "--name", m.name, "--data-dir", m.dataDir,
      "--listen-client-urls", m.url, "--advertise-client-urls", m.url,
      "--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
      "--initial-cluster", initial, "--initial-cluster-token", "bench-etcd", "--log-level", "error",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    return { child, output: capture(child), server: track(child, m.url, m.dataDir, true) };
  });
  await Promise.all(started.map((s) => awaitHealthy(s.child, s.server.url, s.output)));
  return started.map((s) => s.server);
}
