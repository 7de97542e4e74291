/**
 * The admin console in a real browser (Debian's Chromium, driven by playwright-core) against a
 * three-member cluster of real processes: it lists the members and the leader; a key put by a
 * client appears without a reload; a key's history shows its versions; an edit of a key that
 * changed underneath is refused as a conflict; kill -9 of the leader shows the new leader within
 * 5 s (its live charts count requests and both leader changes), and the console then moves
 * leadership and removes the dead member (typed confirmation); a
 * lease's countdown goes down; search finds a value. With 100,000 keys, opening the key browser and expanding a
 * folder is timed and printed. Screenshots of each page go to .test-artifacts/screenshots/.
 */
import type { Json } from "../../testkit/json.ts";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { type ClusterMember, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";
import { ROOT } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const SCREENSHOTS = join(ROOT, ".test-artifacts/screenshots");
const b64 = (s: string) => Buffer.from(s).toString("base64");

async function call(url: string, path: string, body: unknown): Promise<Json> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
  const answer = await r.text();
  assert.equal(r.status, 200, `${path}: ${answer}`);
  return JSON.parse(answer);
}

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

test("console > cluster, keys, history, conflicts, leases and a leader killed, in a browser", async () => {
  const cluster = await TestCluster.start(3);
  const browser = await launch();
  try {
    const leader = await cluster.leader();
    // The console is served by a member that will survive the leader's death.
    const host = cluster.running().find((m) => m !== leader)!;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // Cluster: three members, one of them the leader.
    await page.goto(`${host.clientUrl}/#/cluster`);
    await page.waitForSelector('[data-testid=members] tr[data-role="leader"]');
    assert.equal(await page.locator("[data-testid=members] tr[data-member]").count(), 3);
    assert.equal(await page.locator('[data-testid=members] tr[data-role="leader"]').getAttribute("data-member"), leader.name);
    assert.equal(await page.locator("[data-testid=leader]").textContent(), leader.name);
    assert.equal(await page.locator("[data-testid=tolerance]").textContent(), "survives 1 more failure");
    await shoot(page, "cluster");

    // Keys: a key put by a client shows up without a reload.
    await call(host.clientUrl, "/v3/kv/put", { key: b64("app/config/db"), value: b64('{"host":"db1","port":5432}') });
    await page.goto(`${host.clientUrl}/#/keys?prefix=app%2F`);
    await page.waitForSelector('[data-folder="app/config/"]');
    await call(leader.clientUrl, "/v3/kv/put", { key: b64("app/late"), value: b64("arrived") });
    await page.waitForSelector('[data-key="app/late"]', { timeout: 5_000 });
    await page.click('[data-folder="app/config/"] .folder');
    await page.waitForSelector('[data-key="app/config/db"]');
    await shoot(page, "keys");

    // History: three versions of a key.
    for (const v of ["one", "two", "three"]) await call(host.clientUrl, "/v3/kv/put", { key: b64("app/h"), value: b64(v) });
    await page.goto(`${host.clientUrl}/#/key?key=app%2Fh`);
    await page.waitForSelector("[data-testid=history] tr[data-version='1']");
    assert.deepEqual(await page.locator("[data-testid=history] tr[data-version]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-version"))), ["3", "2", "1"]);
    await page.locator("[data-testid=history] tr[data-version='3'] input").check();
    await page.locator("[data-testid=history] tr[data-version='1'] input").check();
    await page.waitForSelector("[data-testid=diff]");
    await shoot(page, "key");

    // Edit a key that someone else changes meanwhile: a conflict, and their value stays.
    await page.getByRole("button", { name: "edit" }).click();
    await page.fill("[data-testid=editor]", "mine");
    await call(leader.clientUrl, "/v3/kv/put", { key: b64("app/h"), value: b64("theirs") });
    await page.waitForSelector("[data-testid=notice]");
    await page.click("[data-testid=save]");
    await page.waitForSelector("[data-testid=conflict]");
    const stored = await call(host.clientUrl, "/v3/kv/range", { key: b64("app/h") });
    assert.equal(Buffer.from(stored.kvs[0].value, "base64").toString(), "theirs");
    await shoot(page, "conflict");

    // Leases: the countdown goes down.
    const { ID } = await call(host.clientUrl, "/v3/lease/grant", { TTL: 60 });
    await call(host.clientUrl, "/v3/kv/put", { key: b64("app/session"), value: b64("s"), lease: ID });
    await page.goto(`${host.clientUrl}/#/leases`);
    const ttl = page.locator(`[data-lease="${ID}"] [data-testid=ttl]`);
    await ttl.waitFor();
    const first = parseInt((await ttl.textContent())!, 10);
    await eventually("the countdown goes down", 5_000, async () => (parseInt((await ttl.textContent())!, 10) < first ? true : undefined));
    await shoot(page, "leases");

    // Search over keys and values, on the server.
    await page.goto(`${host.clientUrl}/#/search?prefix=app%2F`);
    await page.fill("[data-testid=search-text]", "5432");
    await page.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=results] a");
    assert.deepEqual(await page.locator("[data-testid=results] a").allTextContents(), ["app/config/db"]);
    await shoot(page, "search");

    // Watch panel and maintenance pages render.
    await page.goto(`${host.clientUrl}/#/watch?prefix=app%2F&from=1&run=1`);
    await page.waitForSelector("[data-testid=events] li");
    await shoot(page, "watch");
    await page.goto(`${host.clientUrl}/#/maintenance`);
    await page.waitForSelector("[data-testid=status]");
    await shoot(page, "maintenance");

    // Kill -9 of the leader: the console shows another leader within 5 s.
    await page.goto(`${host.clientUrl}/#/cluster`);
    await page.waitForSelector('[data-testid=members] tr[data-role="leader"]');
    const killed = Date.now();
    await cluster.kill9(leader);
    await page.waitForFunction((old) => {
      const shown = document.querySelector("[data-testid=leader]")?.textContent;
      return shown !== undefined && shown !== old && shown !== "none";
    }, leader.name, { timeout: 5_000 });
    const elapsed = Date.now() - killed;
    console.log(`console: the new leader was on screen ${elapsed} ms after kill -9 of the old one`);
    assert.ok(elapsed < 5_000);
    await page.waitForSelector(`[data-testid=members] tr[data-member="${leader.name}"][data-role="down"]`);
    assert.equal(await page.locator("[data-testid=tolerance]").textContent(), "survives 0 more failures");
    await shoot(page, "cluster-after-failover");

    // Live charts from this member's /metrics: requests a second (the console's own calls count),
    // and the leader changes it has seen — the first leader, then the one after kill -9.
    const requests = page.locator("[data-chart=requests]");
    await eventually("requests/s charted", 5_000, async () => (Number(await requests.locator("svg").getAttribute("data-points")) >= 2 ? true : undefined));
    assert.ok(parseFloat((await requests.locator("[data-testid=value]").textContent())!) > 0);
    await eventually("both leader changes charted", 5_000, async () =>
      Number(await page.locator("[data-chart=leader-changes] [data-testid=value]").textContent()) >= 2 ? true : undefined);
    assert.equal(await page.locator("[data-testid=charts] [data-chart]").count(), 4);

    // Leadership moved by the console to the other survivor, then the dead member removed, after typing its name.
    const newLeader = (await page.locator("[data-testid=leader]").textContent())!;
    const other = cluster.running().find((m) => m.name !== newLeader)!;
    await page.locator(`[data-testid=members] tr[data-member="${other.name}"]`).getByRole("button", { name: "make leader" }).click();
    await page.waitForFunction((name) => document.querySelector("[data-testid=leader]")?.textContent === name, other.name, { timeout: 10_000 });
    await page.locator(`[data-testid=members] tr[data-member="${leader.name}"]`).getByRole("button", { name: "remove" }).click();
    const confirm = page.getByRole("button", { name: "remove member" });
    assert.equal(await confirm.isDisabled(), true, "remove before its name was typed");
    await page.fill("[data-testid=confirm-input]", leader.name);
    await confirm.click();
    await page.waitForFunction(() => document.querySelector("[data-testid=member-count]")?.textContent === "2", undefined, { timeout: 10_000 });
    assert.equal(await page.locator("[data-testid=tolerance]").textContent(), "survives 0 more failures");
    await page.getByRole("button", { name: "dark" }).click();
    await shoot(page, "cluster-dark");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await cluster.close();
  }
});

/** Puts `n` keys `big/<i mod 100>/<i>` in txns of 128 puts, 8 at a time. */
async function load(m: ClusterMember, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + 128);
      const success = [];
      for (let i = from; i < next; i++) success.push({ request_put: { key: b64(`big/${String(i % 100).padStart(2, "0")}/${i}`), value: b64(`v${i}`) } });
      await call(m.clientUrl, "/v3/kv/txn", { success });
    }
  }));
}

test("console > with 100,000 keys, opening the key browser and expanding a folder (timed, printed)", onBunOnly("the folders are read by the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  const browser = await launch();
  try {
    const leader = await cluster.leader();
    await load(leader, 100_000);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const opened = Date.now();
    await page.goto(`${leader.clientUrl}/#/keys?prefix=big%2F`);
    await page.waitForSelector('[data-folder="big/99/"]');
    const openMs = Date.now() - opened;
    const expanding = Date.now();
    await page.click('[data-folder="big/42/"] .folder');
    // Its first key in key order, and a first page of them.
    await page.waitForSelector('[data-key="big/42/10042"]');
    const expandMs = Date.now() - expanding;
    assert.equal(await page.locator('[data-folder^="big/"]').count(), 100);
    assert.equal(await page.locator('[data-key^="big/42/"]').count(), 200);
    assert.equal(await page.locator('[data-folder="big/42/"] .count').textContent(), "1000 keys");
    console.log(`console: 100,000 keys — the browser opened with all 100 folders in ${openMs} ms, expanded one (1,000 keys) in ${expandMs} ms`);
    await shoot(page, "keys-100k");
  } finally {
    await browser.close();
    await cluster.close();
  }
});
