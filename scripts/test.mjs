// `npm test [-- PATH …]`: a lint and a type check, the whole suite on Bun, then the API suite again
// with Deno running both the tests and the server, and the cluster, console and client port suites
// again with the members on Deno. Prints each runner's output as it comes and ends with one line:
// "N passed, N failed". Exits non-zero if anything failed or a runner could not run.
// With paths (`npm test -- tests/raft/ tests/config/flags.test.ts`), the lint and the type check
// still cover everything, and each test runner runs only the given paths within its own folders (or
// its folders within a given path), skipped when there are none; a path no runner covers counts as
// a failure. Never: runs a test file no given path names, or ends with anything but that line.
import { spawn } from "node:child_process";
import { isAbsolute, relative } from "node:path";

// ANSI colour codes start with ESC, a control character.
// deno-lint-ignore no-control-regex
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Runs one runner; `held` keeps its output until it ends (for a runner beside another). */
function run(label, command, args, env, parse, held = false) {
  return new Promise((resolve) => {
    const header = `\n=== ${label}: ${command} ${args.join(" ")}`;
    if (!held) console.log(header);
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const tee = (stream, sink) => stream.on("data", (d) => { out += d; if (!held) sink.write(d); });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on("close", (code) => {
      if (held) console.log(`${header}\n${out}`);
      const counts = parse(strip(out));
      if (!counts) {
        console.log(`${label}: could not read the runner's summary (exit ${code})`);
        resolve({ passed: 0, failed: 1 });
        return;
      }
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      resolve(counts);
    });
  });
}

const bunCounts = (out) => {
  const pass = /^\s*(\d+) pass\b/m.exec(out);
  const fail = /^\s*(\d+) fail\b/m.exec(out);
  return pass ? { passed: Number(pass[1]), failed: Number(fail?.[1] ?? 0) } : undefined;
};
const denoCounts = (out) => {
  const m = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/m.exec(out);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : undefined;
};

/** The lint counts as one test: it passes when `deno lint` finds no problem (deno.json says which rules). */
const lintCounts = (out) => (/^Found \d+ problems?/m.test(out) || !/^Checked \d+ files?/m.test(out) ? { passed: 0, failed: 1 } : { passed: 1, failed: 0 });
/** The type check counts as one test: it passes when `deno check` finds nothing. */
const checkCounts = (out) => (/^error:|TS\d+ \[ERROR\]/m.test(out) ? { passed: 0, failed: 1 } : { passed: 1, failed: 0 });

const given = process.argv.slice(2);
/** `path` is `folder` or inside it. */
const within = (path, folder) => {
  const rel = relative(folder, path);
  return !rel.startsWith("..") && !isAbsolute(rel);
};
/** What a runner over `folders` runs: all of them, or what the given paths leave of them. */
const narrowed = (folders) =>
  given.length === 0 ? folders : [
    ...folders.filter((f) => given.some((p) => within(f, p))),
    ...given.filter((p) => folders.some((f) => within(p, f) && !given.some((q) => within(f, q)))),
  ];
/**
 * Runs `args` followed by the runner's share of `folders`, less the files in `leaving`; counts
 * nothing when its share is empty.
 */
function runOver(label, command, args, folders, env, parse, { held = false, leaving = [] } = {}) {
  const paths = narrowed(folders).filter((p) => !leaving.some((f) => within(p, f)));
  if (paths.length > 0) return run(label, command, [...args, ...paths], env, parse, held);
  console.log(`\n=== ${label}: skipped (no given path within ${folders.join(" ")})`);
  return { passed: 0, failed: 0 };
}
const BUN = ["tests/"];
const DENO = ["tests/gateway/", "tests/grpc/", "tests/client/"];
const ON_DENO = ["tests/cluster/", "tests/ui/", "tests/runtime/"];
/** Run on Bun beside the Deno API pass, left out of the Bun pass. */
const BESIDE = ["tests/grpc/check_perf.test.ts"];
const uncovered = given.filter((p) => ![...BUN, ...DENO, ...ON_DENO].some((f) => within(p, f) || within(f, p)));
for (const p of uncovered) console.log(`test: no runner covers "${p}" (the tests live under tests/)`);

const results = [
  { passed: 0, failed: uncovered.length },
  await run("lint", "node_modules/.bin/deno", ["lint"], {}, lintCounts),
  await run("typecheck", "node_modules/.bin/deno", ["check", "server.ts", "concord.ts", "tests/", "testkit/", "bench/", "scripts/", "ui/main.tsx", "client/", "examples/"], {}, checkCounts),
  await runOver("bun", "node_modules/.bin/bun", ["test", "--timeout", "120000", ...BESIDE.map((p) => `--path-ignore-patterns=${p}`)], BUN, { CONCORD_TEST_RUNTIME: "bun" }, bunCounts, { leaving: BESIDE }),
  ...await Promise.all([
    runOver("deno", "node_modules/.bin/deno", ["test", "-A", "--no-check"], DENO, { CONCORD_TEST_RUNTIME: "deno" }, denoCounts),
    runOver("check perf on bun, beside the deno pass", "node_modules/.bin/bun", ["test", "--timeout", "120000"], BESIDE, { CONCORD_TEST_RUNTIME: "bun" }, bunCounts, { held: true }),
  ]),
  // The test process stays on Bun here: Deno's fetch keeps a connection to a paused member in its
  // pool, so the harness itself could not ask a resumed member anything (the members cope).
  await runOver("cluster, console and client port on deno", "node_modules/.bin/bun", ["test", "--timeout", "120000"], ON_DENO, { CONCORD_TEST_RUNTIME: "deno" }, bunCounts),
];
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
