/**
 * The client's suite (tests/client/suite.ts) in Chromium: bundled for the browser by Bun and run
 * in a page of the member's own origin (the console's), against that member — the same tests that
 * run on Bun, Deno and Node, every one passing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { freePort, ROOT, startConcord } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";
import { suite } from "../client/suite.ts";

function bundled(): string {
  const dir = mkdtempSync(join(ROOT, ".browser-client-test-"));
  try {
    const out = join(dir, "suite.js");
    const built = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", join(ROOT, "tests/client/browser_entry.ts"), "--target", "browser", "--format", "iife", "--outfile", out], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr);
    return readFileSync(out, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("client in a browser > the client's suite passes in Chromium", onBunOnly("the browser is the client here; the member's runtime is another pass's subject"), async () => {
  const code = bundled();
  const member = await startConcord({ name: "client-browser" });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${member.url}/`);
    await page.evaluate(code);
    const down = `http://127.0.0.1:${await freePort()}`;
    const results = await page.evaluate(([url, downUrl]) =>
      (globalThis as unknown as { runClientSuite(u: string, d: string): Promise<{ name: string; error?: string }[]> }).runClientSuite(url, downUrl), [member.url, down]);
    console.log(`client in a browser: ${results.filter((r) => !r.error).length} of ${results.length} passed in Chromium ${browser.version()}`);
    assert.deepEqual(results.filter((r) => r.error), []);
    assert.deepEqual(results.map((r) => r.name), suite.map(([name]) => name));
  } finally {
    await browser.close();
    await member.stop();
  }
});
