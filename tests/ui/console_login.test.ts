/**
 * The console with auth on, in Chromium: a page that reads keys asks for a login; a wrong password
 * is refused in etcd's words; logged in, the keys show (and a key put later, through the page's
 * watch), and the header names the user; the token
 * lives in this tab only (another tab logs in on its own); logging out asks again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { startConcord } from "../../testkit/processes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function call(url: string, path: string, body: unknown, token?: string): Promise<void> {
  const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {} });
  assert.equal(r.status, 200, `${path}: ${await r.text()}`);
}

test("console login > with auth on, the key pages ask for a login, take etcd's users, and forget them on logout", async () => {
  const member = await startConcord({ name: "login" });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
  try {
    await call(member.url, "/v3/kv/put", { key: b64("app/k"), value: b64("v") });
    await call(member.url, "/v3/auth/user/add", { name: "root", password: "rootpw" });
    await call(member.url, "/v3/auth/user/grant", { user: "root", role: "root" });
    await call(member.url, "/v3/auth/enable", {});

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${member.url}/#/keys?prefix=app%2F`);
    await page.waitForSelector("[data-testid=login]");
    await page.fill("input[name=name]", "root");
    await page.fill("input[name=password]", "wrong");
    await page.click("button[type=submit]");
    assert.equal(await page.locator("[data-testid=login-error]").textContent(), "etcdserver: authentication failed, invalid user ID or password");
    await page.fill("input[name=password]", "rootpw");
    await page.click("button[type=submit]");
    await page.waitForSelector('[data-key="app/k"]');
    assert.match((await page.locator("[data-testid=user]").textContent()) ?? "", /^root/);
    // The page's live watch runs with the token too: a key put now shows without a reload.
    const login = await fetch(`${member.url}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name: "root", password: "rootpw" }) });
    await call(member.url, "/v3/kv/put", { key: b64("app/late"), value: b64("v") }, (await login.json()).token);
    await page.waitForSelector('[data-key="app/late"]', { timeout: 5_000 });

    // Another tab has no token of its own.
    const other = await context.newPage();
    await other.goto(`${member.url}/#/keys?prefix=app%2F`);
    await other.waitForSelector("[data-testid=login]");

    await page.click("[data-testid=user] button");
    await page.waitForSelector("[data-testid=login]");
    await page.reload();
    await page.waitForSelector("[data-testid=login]");
  } finally {
    await browser.close();
    await member.stop();
  }
});
