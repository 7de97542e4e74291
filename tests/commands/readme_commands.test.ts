/**
 * Every command README's "Run it" shows works on a fresh clone with only Node and npm: each runs
 * as the README writes it in a fresh copy of the repository (the working tree's tracked and
 * not-ignored files: no node_modules, no ui/dist), with no Bun or Deno on PATH and nothing of an
 * enclosing npm run in the environment. Each is asked for one real answer (a put read back, the
 * console's built bundle, a leader, a summary line, a benchmark table), then stopped as Ctrl-C
 * stops it — SIGINT to its whole process group — and nothing of it may be left running. The first
 * npm command installs the packages through its own pre-step (npm ci); the rest of the copy's
 * commands share them, so no command relies on a step a new user would not take.
 *
 * Owns: the fresh copy, the process groups of the commands it starts, and the list of commands the
 * README shows (a command added there without being run here fails the first test).
 * Never: installs anything but through the commands README shows, passes flags beyond free ports
 * and short runs, sleeps for a fixed time, or leaves the copy or a process behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { after, test } from "node:test";
import { eventually } from "../../testkit/eventually.ts";
import type { Json } from "../../testkit/json.ts";
import { freePort, ROOT, tempDir } from "../../testkit/processes.ts";

/** A command's first run in the copy installs the packages (npm ci, ~6 s with npm's cache warm). */
const INSTALLING_MS = 100_000;
const READY_MS = 45_000;
/** From Ctrl-C until the command's last process has gone. */
const STOP_MS = 15_000;

/** The commands this file runs, as the README writes them (arguments after these are ours). */
const RUN = {
  start: "npm start",
  cluster: "npm run cluster",
  test: "npm test",
  bench: "npm run bench",
  benchCluster: "npm run bench:cluster",
  benchWatch: "npm run bench:watch",
  benchGrpc: "npm run bench:grpc",
  benchAuth: "npm run bench:auth",
  benchScale: "npm run bench:scale",
  sim: "npm run sim",
  chaos: "npm run chaos",
  buildUi: "npm run build:ui",
  build: "npm run build",
  install: "npm install",
  bunServer: "npx bun server.ts",
  denoStart: "npx deno task start",
} as const;

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString();

// ---- the fresh copy ----

let copy: string | undefined;
/** The copy, made on first use: what `git clone` of the working tree as it is now would hold. */
function fresh(): string {
  if (copy) return copy;
  const dir = tempDir("fresh-clone");
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
    .split("\0").filter((f) => f !== "" && existsSync(join(ROOT, f))); // a file deleted in the tree but not yet in git is not there
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  assert.ok(existsSync(join(dir, "package.json")), "the copy has package.json");
  assert.ok(!existsSync(join(dir, "node_modules")) && !existsSync(join(dir, "ui/dist")), "the copy has no node_modules and no ui/dist");
  copy = dir;
  return dir;
}

/**
 * A new user's environment: PATH without any node_modules/.bin (an enclosing `npm test` puts this
 * repository's first) or a directory with a Bun or Deno of its own (unless Node lives there too),
 * and none of an enclosing npm run's or test run's variables.
 */
function newUserEnv(): Record<string, string> {
  const path = (process.env.PATH ?? "").split(delimiter).filter((d) =>
    d !== "" && !/node_modules[\\/]\.bin/.test(d) && (existsSync(join(d, "node")) || !["bun", "deno"].some((b) => existsSync(join(d, b))))
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(npm_|CONCORD_|BUN_)|^(NODE_ENV|INIT_CWD)$/.test(k)) env[k] = v;
  }
  env.PATH = path.join(delimiter);
  return env;
}

// ---- commands as process groups ----

/** Processes of group `pgid` still running (zombies, dead but not yet reaped by init, are not). */
function groupAlive(pgid: number): number[] {
  const alive: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") alive.push(Number(entry));
  }
  return alive;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group has no process left
  }
}

const groups = new Set<number>();
after(() => {
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  if (copy) rmSync(copy, { recursive: true, force: true });
});

interface Command {
  readonly line: string;
  output(): string;
  /** Resolves when the output matches `re`; fails if the command exits first or `ms` pass. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code once the command ends on its own; fails after `ms`. */
  exit(ms: number): Promise<number | null>;
  /** Ctrl-C: SIGINT to the whole group; resolves once none of it runs, fails (after SIGKILL) if some did not stop. */
  stop(): Promise<void>;
}

/** Starts `line` (split on spaces, then `args`) in the copy, as the leader of a new process group. */
function launch(line: string, args: string[] = []): Command {
  const [command, ...rest] = line.split(" ");
  const child: ChildProcess = spawn(command, [...rest, ...args], { cwd: fresh(), env: newUserEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pgid = child.pid!;
  groups.add(pgid);
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer | string) => {
    out += d;
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const ended = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const shown = `${line} ${args.join(" ")}`.trim();
  const tail = () => out.slice(-4_000);

  /** Every process of the group gone, then the group forgotten; SIGKILL and fail if not by the deadline. */
  const gone = async (why: string) => {
    try {
      await eventually(`${shown}: every process gone ${why}`, STOP_MS, () => (groupAlive(pgid).length === 0 ? true : undefined));
    } catch (e) {
      const left = groupAlive(pgid);
      signalGroup(pgid, "SIGKILL");
      throw new Error(`${(e as Error).message}; still running: ${left.join(", ")}\n${tail()}`);
    }
    groups.delete(pgid);
  };

  return {
    line: shown,
    output: () => out,
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const done = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        const check = () => {
          const m = re.exec(out);
          if (m) done(() => resolve(m));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${shown}: no ${re} within ${ms} ms:\n${tail()}`))), ms);
        listeners.add(check);
        void ended.then((code) => done(() => reject(new Error(`${shown} exited (${code}) before printing ${re}:\n${tail()}`))));
        check();
      }),
    exit: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${shown}: still running after ${ms} ms:\n${tail()}`)), ms);
      });
      try {
        const code = await Promise.race([ended, late]);
        await gone("after it exited");
        return code;
      } catch (e) {
        signalGroup(pgid, "SIGKILL");
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => {
      signalGroup(pgid, "SIGINT");
      await gone("after Ctrl-C");
    },
  };
}

/** Runs `line` to its end (bounded by `ms`); asserts it succeeded and returns its output. */
async function runToEnd(line: string, args: string[], ms: number): Promise<string> {
  const command = launch(line, args);
  const code = await command.exit(ms);
  assert.equal(code, 0, `${command.line} exited ${code}:\n${command.output().slice(-4_000)}`);
  return command.output();
}

// ---- answers ----

async function call(url: string, path: string, body: unknown): Promise<Json> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 200, `${url}${path}: ${text}`);
  return JSON.parse(text);
}

/** A put on `writeUrl`, read back (linearizably) from `readUrl`. */
async function putAndRange(writeUrl: string, readUrl: string, key: string): Promise<void> {
  const value = `written ${Date.now()} ${Math.random()}`;
  const put = await call(writeUrl, "/v3/kv/put", { key: b64(key), value: b64(value) });
  const range = await call(readUrl, "/v3/kv/range", { key: b64(key) });
  assert.equal(range.kvs?.length, 1, JSON.stringify(range));
  assert.equal(unb64(range.kvs[0].key), key);
  assert.equal(unb64(range.kvs[0].value), value);
  assert.equal(range.kvs[0].mod_revision, put.header.revision);
}

/** The console's page at /, and at /ui/console.js the bundle built into the copy's ui/dist. */
async function consoleServed(url: string): Promise<void> {
  const page = await fetch(`${url}/`);
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /<script type="module" src="\/ui\/console\.js"><\/script>/);
  const js = await fetch(`${url}/ui/console.js`);
  const text = await js.text();
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  assert.doesNotMatch(text, /not built/, "the console is served unbuilt");
  assert.equal(text, readFileSync(join(fresh(), "ui/dist/console.js"), "utf8"), "the bundle served is the one the command built");
}

/** Flags for one member on free ports (README's defaults, 2379/2380, may be taken by anything). */
async function memberFlags(name: string): Promise<{ url: string; flags: string[] }> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  return {
    url,
    flags: [
      "--name", name, "--listen-client-urls", url, "--advertise-client-urls", url,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `${name}=${peer}`,
    ],
  };
}

/** The console's bundle is removed, so a command serving the console must build it itself. */
function unbuildConsole(): void {
  rmSync(join(fresh(), "ui/dist"), { recursive: true, force: true });
}

/** The rows of the Markdown table a benchmark ends with, each as its cells: header and separator left out. */
function tableRows(output: string): string[][] {
  const table = output.split("\n").filter((l) => l.startsWith("|"));
  assert.match(table[1] ?? "", /^\|[-| ]+\|$/, `no table:\n${output.slice(-2_000)}`);
  return table.slice(2).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
}
const number = (cell: string) => Number(cell.replace(/[,*x]/g, ""));

// ---- the tests ----

test("readme > every command in README's Run it section is one this file runs", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /^## Run it$([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, "README has a Run it section");
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1].split("\n"));
  const spans = [...section.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const shown = new Set<string>();
  for (const text of [...blocks, ...spans]) {
    const words = text.replace(/#.*/, "").trim().split(/\s+/);
    if (!["npm", "npx", "bun", "deno", "node"].includes(words[0])) continue;
    const firstFlag = words.findIndex((w) => w.startsWith("-"));
    shown.add(words.slice(0, firstFlag < 0 ? undefined : firstFlag).join(" "));
  }
  const run: Set<string> = new Set(Object.values(RUN));
  assert.ok(shown.size >= 8, `README's Run it shows ${[...shown].join(", ")}`);
  assert.deepEqual([...shown].filter((c) => !run.has(c)), [], "commands README shows that this file does not run");
});

test("readme > npm start on a fresh clone installs, builds the console and serves one member", async () => {
  const { url, flags } = await memberFlags("default");
  const start = launch(RUN.start, ["--", ...flags]);
  try {
    await start.waitFor(/serving clients on/, INSTALLING_MS);
    await putAndRange(url, url, "readme/start");
    await consoleServed(url);
  } finally {
    await start.stop();
  }
});

test("readme > npm run cluster builds the console and runs three members with one leader", async () => {
  unbuildConsole();
  const clients: number[] = [];
  const peers: number[] = [];
  for (let i = 0; i < 3; i++) {
    clients.push(await freePort());
    peers.push(await freePort());
  }
  const cluster = launch(RUN.cluster, ["--", "--client-ports", clients.join(","), "--peer-ports", peers.join(",")]);
  try {
    // The list of members it prints once all serve ends with a line to try.
    const [listed] = await cluster.waitFor(/every member serving[^]*?try: curl/, INSTALLING_MS);
    const urls = clients.map((p) => `http://127.0.0.1:${p}`);
    for (const [i, url] of urls.entries()) assert.ok(listed.includes(`m${i + 1}  ${url}  (peer http://127.0.0.1:${peers[i]})`), listed);
    // Every member names the same leader, and the leader is one of them.
    const status = (url: string) =>
      fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}" }).then((r) => r.json() as Promise<Json>).catch(() => undefined);
    const statuses = await eventually("one leader all three members name", READY_MS, async () => {
      const all = await Promise.all(urls.map(status));
      return all.every((s) => s?.leader !== undefined && s.leader !== "0" && s.leader === all[0].leader) ? all : undefined;
    });
    assert.equal(statuses.filter((s) => s.header.member_id === s.leader).length, 1, JSON.stringify(statuses));
    assert.equal(new Set(statuses.map((s) => s.header.member_id)).size, 3);
    await putAndRange(urls[1], urls[2], "readme/cluster");
    await consoleServed(urls[0]);
  } finally {
    await cluster.stop();
  }
});

test("readme > npm run build:ui builds the console", async () => {
  unbuildConsole();
  const output = await runToEnd(RUN.buildUi, [], INSTALLING_MS);
  const [, kib] = /build-ui: ui\/dist\/console\.js, (\d+) KiB/.exec(output) ?? [];
  assert.ok(kib, output);
  const built = readFileSync(join(fresh(), "ui/dist/console.js"), "utf8");
  assert.equal(Math.round(built.length / 1024), Number(kib));
});

test("readme > npm run build makes the single file: the executable and the bundle; and the client as one module", async () => {
  const output = await runToEnd(RUN.build, [], INSTALLING_MS);
  assert.match(output, /build: dist\/concord\.js \([\d.]+ MiB\), dist\/concord \([\d.]+ MiB\), dist\/concord-client\.js \(\d+ KiB\)/);
  for (const file of ["dist/concord", "dist/concord.js", "dist/concord-client.js"]) assert.ok(existsSync(join(fresh(), file)), `${file} is not there`);
});

test("readme > npm test, narrowed to one file, ends with its summary line", async () => {
  const only = "tests/config/flags.test.ts";
  const output = await runToEnd(RUN.test, ["--", only], INSTALLING_MS);
  const lines = output.trimEnd().split("\n");
  const summary = /^(\d+) passed, (\d+) failed$/.exec(lines[lines.length - 1]);
  assert.ok(summary, `the last line is not "N passed, N failed":\n${output.slice(-2_000)}`);
  assert.equal(summary[2], "0");
  // Bun ran the given file and no other; the runners over other folders had nothing to run.
  const runs = [...output.matchAll(/Ran (\d+) tests? across (\d+) files?/g)];
  assert.deepEqual(runs.map((m) => m[2]), ["1"], output.slice(-2_000));
  assert.match(output, new RegExp(`^${only}:$`, "m"));
  assert.ok(Number(runs[0][1]) > 0 && Number(summary[1]) >= Number(runs[0][1]), output.slice(-2_000));
  // The Deno API pass, check perf beside it, and the cluster pass on Deno: nothing given of theirs.
  assert.equal([...output.matchAll(/^=== .*: skipped/gm)].length, 3, output.slice(-2_000));
});

test("readme > npm run bench, briefly, compares put against etcd", async () => {
  const output = await runToEnd(RUN.bench, ["--", "--seconds", "0.3", "--clients", "1", "--workloads", "put"], INSTALLING_MS);
  const rows = tableRows(output);
  assert.equal(rows.length, 1, output);
  const [workload, clients, etcd, concord] = rows[0];
  assert.deepEqual([workload, clients], ["put", "1"]);
  assert.ok(number(etcd) > 0 && number(concord) > 0, rows[0].join(" | "));
});

test("readme > npm run bench:scale, small, loads both sides and times a restart and a catch-up by snapshot", async () => {
  const output = await runToEnd(RUN.benchScale, ["--", "--keys", "3000", "--value-bytes", "64", "--seconds", "0.2"], INSTALLING_MS);
  const rows = new Map(tableRows(output).map((r) => [r[0], r.slice(1)]));
  for (const name of ["load (keys/s)", "put ops/s (64 clients)", "range ops/s (64 clients)", "new member caught up (s)"]) {
    const row = rows.get(name);
    assert.ok(row && row.length === 2 && row.every((v) => number(v) > 0), `${name}: ${row?.join(" | ")}\n${output.slice(-2_000)}`);
  }
});

test("readme > npm run bench:cluster, briefly, compares put on three members each, clients at the leader and spread, with CPU per op", async () => {
  const output = await runToEnd(RUN.benchCluster, ["--", "--seconds", "0.3", "--clients", "1", "--workloads", "put"], INSTALLING_MS);
  const rows = tableRows(output);
  assert.deepEqual(rows.map((r) => r.slice(0, 3)), [["leader", "put", "1"], ["spread", "put", "1"]], output);
  for (const r of rows) {
    const [etcd, concord, etcdCpu, concordCpu] = [r[3], r[4], r.at(-2)!, r.at(-1)!];
    assert.ok([etcd, concord, etcdCpu, concordCpu].every((v) => number(v) > 0), r.join(" | "));
  }
});

test("readme > npm run bench:watch, briefly, fans out to watchers and holds idle ones", async () => {
  const output = await runToEnd(RUN.benchWatch, ["--", "--seconds", "0.3", "--watchers", "4", "--idle", "20"], INSTALLING_MS);
  const rows = tableRows(output);
  assert.equal(rows.length, 1, output);
  const [watchers, etcd, concord] = rows[0];
  assert.equal(watchers, "4");
  assert.ok(number(etcd) > 0 && number(concord) > 0, rows[0].join(" | "));
  assert.match(output, /20 idle SSE watchers on one member: 20 held, 0 errors/);
});

test("readme > npm run bench:grpc, briefly, builds etcd's Go client as the load and compares put over gRPC", async () => {
  const output = await runToEnd(RUN.benchGrpc, ["--", "--seconds", "0.3", "--clients", "1", "--workloads", "put", "--members", "1"], INSTALLING_MS);
  const rows = tableRows(output);
  assert.equal(rows.length, 1, output);
  const [members, shape, workload, clients, etcd, concord] = rows[0];
  assert.deepEqual([members, shape, workload, clients], ["1", "leader", "put", "1"]);
  assert.ok(number(etcd) > 0 && number(concord) > 0, rows[0].join(" | "));
});

test("readme > npm run bench:auth, briefly, compares put with auth off and on, on Concord and on etcd", async () => {
  const output = await runToEnd(RUN.benchAuth, ["--", "--seconds", "0.3", "--clients", "1", "--workloads", "put"], INSTALLING_MS);
  const rows = tableRows(output);
  assert.deepEqual(rows.map((r) => r.slice(0, 3)), [["Concord", "put", "1"], ["etcd", "put", "1"]], output);
  for (const [, , , off, on] of rows) assert.ok(number(off) > 0 && number(on) > 0, rows.map((r) => r.join(" | ")).join("\n"));
});

test("readme > npm run chaos, briefly, runs faults against three members and ends with its figures", async () => {
  const output = await runToEnd(RUN.chaos, ["--", "--seconds", "2", "--seed", "7"], INSTALLING_MS);
  assert.match(output, /^chaos: 3 members for 2 s, seed 7, faults /m, output.slice(-2_000));
  assert.match(output, /^chaos: \d+ operations \(\d+ answered, \d+ writes acknowledged\), faults: .*acknowledged writes lost: 0; anomalies: 0$/m, output.slice(-2_000));
});

test("readme > npm run sim -- --seeds N runs that many seeds and ends with their figures; --plant NAME finds that bug", async () => {
  const output = await runToEnd(RUN.sim, ["--", "--seeds", "2"], INSTALLING_MS);
  assert.match(output, /^sim: 2 runs in [\d.]+ s, 0 failing; simulated time \d+ units .*per run: [\d.]+ leaders, .* snapshots installed, .* transfers, .* membership changes, [\d.]+ crashes/m);
  const planted = await runToEnd(RUN.sim, ["--", "--plant", "commitMovesBack", "--seeds", "50"], INSTALLING_MS);
  assert.match(planted, /^seed \d+: commit monotonicity violated/m);
  assert.match(planted, /^sim: the planted bug commitMovesBack was found$/m);
});

test("readme > after npm install, npx deno task start builds the console and serves on Deno", async () => {
  await runToEnd(RUN.install, [], INSTALLING_MS);
  unbuildConsole();
  const { url, flags } = await memberFlags("deno");
  const deno = launch(RUN.denoStart, flags);
  try {
    await deno.waitFor(/serving clients on/, READY_MS);
    await putAndRange(url, url, "readme/deno");
    await consoleServed(url);
  } finally {
    await deno.stop();
  }
});

test("readme > after npm install, npx bun server.ts serves", async () => {
  await runToEnd(RUN.install, [], INSTALLING_MS);
  const { url, flags } = await memberFlags("bun");
  const bun = launch(RUN.bunServer, flags);
  try {
    await bun.waitFor(/serving clients on/, READY_MS);
    await putAndRange(url, url, "readme/bun");
  } finally {
    await bun.stop();
  }
});
