// `npm test`: a lint and a type check, the whole suite on Bun, then the API suite again with Deno running
// both the tests and the server, and the cluster and console suites again with the members on Deno. Prints each runner's output as it comes and ends with one line:
// "N passed, N failed". Exits non-zero if anything failed or a runner could not run.
import { spawn } from "node:child_process";

// ANSI colour codes start with ESC, a control character.
// deno-lint-ignore no-control-regex
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

function run(label, command, args, env, parse) {
  return new Promise((resolve) => {
    console.log(`\n=== ${label}: ${command} ${args.join(" ")}`);
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const tee = (stream, sink) => stream.on("data", (d) => { out += d; sink.write(d); });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on("close", (code) => {
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

const results = [
  await run("lint", "node_modules/.bin/deno", ["lint"], {}, lintCounts),
  await run("typecheck", "node_modules/.bin/deno", ["check", "server.ts", "tests/", "testkit/", "bench/", "scripts/", "ui/main.tsx"], {}, checkCounts),
  await run("bun", "node_modules/.bin/bun", ["test", "--timeout", "120000", "tests/"], { CONCORD_TEST_RUNTIME: "bun" }, bunCounts),
  await run("deno", "node_modules/.bin/deno", ["test", "-A", "--no-check", "tests/gateway/"], { CONCORD_TEST_RUNTIME: "deno" }, denoCounts),
  // The test process stays on Bun here: Deno's fetch keeps a connection to a paused member in its
  // pool, so the harness itself could not ask a resumed member anything (the members cope).
  await run("cluster and console on deno", "node_modules/.bin/bun", ["test", "--timeout", "120000", "tests/cluster/", "tests/ui/"], { CONCORD_TEST_RUNTIME: "deno" }, bunCounts),
];
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
