/**
 * The console with auth on, in Chromium: a page that reads keys asks for a login; a wrong password
 * is refused in etcd's words; logged in, the keys show (and a key put later, through the page's
 * watch), and the header names the user; the token
 * lives in this tab only (another tab logs in on its own); logging out asks again. Logged in as a
 * user who may only read some keys, what it may not do shows disabled, saying why: editing,
 * deleting and restoring a key it may only read, deleting a prefix, creating a key outside its
 * grant, root's membership calls — and root, logging in next, may do it all.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { eventually } from "../../testkit/eventually.ts";
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

test("console login > what a user may not do shows disabled, with the reason; root may do it all", async () => {
  const member = await startConcord({ name: "access" });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
  try {
    for (const key of ["app/k", "app/mine"]) await call(member.url, "/v3/kv/put", { key: b64(key), value: b64("v") });
    await call(member.url, "/v3/auth/user/add", { name: "root", password: "rootpw" });
    await call(member.url, "/v3/auth/user/grant", { user: "root", role: "root" });
    await call(member.url, "/v3/auth/role/add", { name: "reader" });
    await call(member.url, "/v3/auth/role/grant", { name: "reader", perm: { permType: "READ", key: b64("app/"), range_end: b64("app0") } });
    await call(member.url, "/v3/auth/role/grant", { name: "reader", perm: { permType: "WRITE", key: b64("app/mine") } });
    await call(member.url, "/v3/auth/user/add", { name: "ann", password: "annpw" });
    await call(member.url, "/v3/auth/user/grant", { user: "ann", role: "reader" });
    await call(member.url, "/v3/auth/enable", {});

    const page = await browser.newPage();
    const logIn = async (name: string, password: string) => {
      await page.waitForSelector("[data-testid=login]");
      await page.fill("input[name=name]", name);
      await page.fill("input[name=password]", password);
      await page.click("button[type=submit]");
    };
    /** The button's title once the page shows it enabled or disabled as expected (undefined: no title). */
    const refusal = async (selector: string, disabled: boolean) => {
      const button = page.locator(selector).first();
      await eventually(`${selector} ${disabled ? "disabled" : "enabled"}`, 5_000, async () => (await button.isDisabled()) === disabled || undefined);
      return (await button.getAttribute("title")) || undefined;
    };

    await page.goto(`${member.url}/#/key?key=app%2Fk`);
    await logIn("ann", "annpw");
    assert.equal(await refusal("button:text-is('edit')", true), 'ann may not write "app/k"');
    assert.equal(await refusal("button:text-is('delete')", true), 'ann may not write "app/k"');
    await call(member.url, "/v3/kv/put", { key: b64("app/k"), value: b64("v2") }, await token(member.url, "root", "rootpw"));
    assert.equal(await refusal("button:text-is('restore this version')", true), 'ann may not write "app/k"');

    await page.goto(`${member.url}/#/key?key=app%2Fmine`);
    assert.equal(await refusal("button:text-is('edit')", false), undefined);

    await page.goto(`${member.url}/#/keys?prefix=app%2F`);
    assert.equal(await refusal("button:text-is('delete prefix…')", true), 'ann may not write every key under "app/"');

    await page.goto(`${member.url}/#/new?key=app%2Fother`);
    assert.equal(await refusal("button:text-is('create')", true), 'ann may not write "app/other"');
    await page.goto(`${member.url}/#/new?key=app%2Fmine`);
    assert.equal(await refusal("button:text-is('create')", false), undefined);

    await page.goto(`${member.url}/#/cluster`);
    assert.equal(await refusal("button:text-is('remove')", true), "only root may do this (logged in as ann)");

    await page.click("[data-testid=user] button");
    await logIn("root", "rootpw");
    assert.equal(await refusal("button:text-is('remove')", false), undefined);
    await page.goto(`${member.url}/#/keys?prefix=app%2F`);
    assert.equal(await refusal("button:text-is('delete prefix…')", false), undefined);
  } finally {
    await browser.close();
    await member.stop();
  }
});

async function token(url: string, name: string, password: string): Promise<string> {
  const r = await fetch(`${url}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name, password }) });
  return (await r.json()).token;
}
