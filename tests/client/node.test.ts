/**
 * The client's suite (suite.ts, run by client.test.ts) on Node as well: bundled for Node by Bun (Node runs no
 * TypeScript here) and run with `node --test`; every test must pass there as on Bun and Deno.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";
import { suite } from "./suite.ts";

test("client on node > the client's suite passes on Node", onBunOnly("Node runs the bundle whichever runtime runs this file"), () => {
  // Inside the checkout: the bundled test support finds the repository from where it sits.
  const dir = mkdtempSync(join(ROOT, ".node-client-test-"));
  try {
    const entry = join(ROOT, "tests/client/client.test.ts");
    const built = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", entry, "--target", "node", "--format", "esm", "--outfile", join(dir, "client.test.mjs")], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    const run = spawnSync("node", ["--test", join(dir, "client.test.mjs")], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CONCORD_TEST_RUNTIME: "bun" } });
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(run.stdout)?.[1] ?? -1);
    console.log(`client on node: ${count("pass")} of ${count("tests")} passed on ${spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim()}`);
    assert.equal(count("fail"), 0, run.stdout.slice(-4000));
    // Every test of the suite ran and passed (a bundle Node could not load would run none).
    assert.equal(count("tests"), suite.length, run.stdout.slice(-4000));
    assert.equal(count("pass"), suite.length, run.stdout.slice(-4000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
