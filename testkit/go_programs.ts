/**
 * Test support: Go programs built against etcd's own client (clientv3 from Debian's
 * golang-etcd-server-dev, GOPATH mode — no module proxy is reachable here), so tests can ask
 * Concord what a Go application would ask it.
 *
 * Owns: building a program once per source change into .test-artifacts/go/, and running it bounded
 * in time. Never: installs Go (scripts/install-test-deps.sh does) or asserts anything.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./processes.ts";

const OUT = join(ROOT, ".test-artifacts", "go");
/**
 * Go's build cache, shared by every checkout on the machine (and by bench/grpc-bench's build):
 * compiling clientv3 and its dependencies from scratch takes ~15 s each time otherwise.
 */
export const GO_CACHE_DIR = join(tmpdir(), "concord-go-cache");
const GO_ENV = { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "", GOPROXY: "off", GOCACHE: GO_CACHE_DIR };

/** Builds tests/grpc/go/NAME/main.go (unless the binary is newer) and answers the binary's path. */
export function buildGoProgram(name: string): Promise<string> {
  const source = join(ROOT, "tests", "grpc", "go", name, "main.go");
  const binary = join(OUT, name);
  if (existsSync(binary) && statSync(binary).mtimeMs > statSync(source).mtimeMs) return Promise.resolve(binary);
  mkdirSync(OUT, { recursive: true });
  return new Promise((resolve, reject) => {
    execFile("go", ["build", "-o", binary, source], { cwd: OUT, env: { ...process.env, ...GO_ENV, PATH: `${process.env.PATH}:/usr/lib/go/bin` }, timeout: 300_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`go build ${name}: ${error.message}\n${stderr}`)) : resolve(binary)));
  });
}

export interface GoRun {
  readonly child: ChildProcess;
  /** Everything printed on stdout so far. */
  readonly stdout: () => string;
  /** Resolves with stdout once the program exits; rejects past `timeoutMs` (and kills it). */
  readonly done: Promise<string>;
}

/** Runs a built program with `args`; stderr (the client's own logs) is kept apart. */
export function runGoProgram(binary: string, args: string[], timeoutMs: number): GoRun {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${binary} ${args.join(" ")}: not done within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err.slice(-4000)}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${binary} exited ${code}\nstdout:\n${out}\nstderr:\n${err.slice(-4000)}`));
    });
  });
  return { child, stdout: () => out, done };
}
