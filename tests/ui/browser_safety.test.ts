/**
 * A member against a hostile web page, in a real browser (Debian's Chromium, driven by
 * playwright-core): a page on another site tries a no-cors fetch, a CORS fetch, a preflighted
 * fetch, a form POST shaped into JSON, an EventSource on the watch stream and framing the console.
 * Every write is refused (the key never appears), nothing is read, the frame stays empty — while
 * the same form body sent by a plain client does write (so the refusal is the member's doing, not
 * the body's). A member started with `--cors` naming that page's origin lets its CORS fetch read
 * the answer. The console itself, under its Content-Security-Policy, still works.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { eventually } from "../../testkit/eventually.ts";
import { freePort, type ServerProcess, startConcord } from "../../testkit/processes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The hostile page: every attempt against `target`, each result in window.results once all have settled. */
function hostilePage(target: string): string {
  // text/plain form encoding writes `name=value`: a name ending in `"x":"` and a value of `"}` make JSON.
  const formName = `{"key":"${b64("attack/form")}","value":"${b64("v")}","x":"`;
  return `<!doctype html><html><body>
<iframe id="framed" src="${target}/"></iframe>
<iframe name="sink"></iframe>
<form id="form" method="POST" action="${target}/v3/kv/put" enctype="text/plain" target="sink">
<input type="hidden" name='${formName}' value='"}'>
</form>
<script>
const target = ${JSON.stringify(target)};
const put = (key) => JSON.stringify({ key: btoa(key), value: btoa("v") });
const outcome = (p) => p.then((r) => r.type === "opaque" ? "opaque" : r.text().then((t) => "read: " + t), (e) => "failed: " + e.name);
window.results = (async () => {
  const results = {};
  results.noCors = await outcome(fetch(target + "/v3/kv/put", { method: "POST", mode: "no-cors", body: put("attack/no-cors") }));
  results.cors = await outcome(fetch(target + "/v3/kv/put", { method: "POST", body: put("attack/cors") }));
  results.preflighted = await outcome(fetch(target + "/v3/kv/put", { method: "POST", headers: { "content-type": "application/json" }, body: put("attack/preflighted") }));
  results.read = await outcome(fetch(target + "/v3/kv/range", { method: "POST", body: JSON.stringify({ key: btoa("secret") }) }));
  results.eventSource = await new Promise((resolve) => {
    const source = new EventSource(target + "/v3/watch?key=" + encodeURIComponent(btoa("secret")));
    source.onmessage = (e) => { source.close(); resolve("message: " + e.data); };
    source.onerror = () => { source.close(); resolve("error"); };
  });
  const sunk = new Promise((resolve) => document.querySelector("iframe[name=sink]").addEventListener("load", resolve, { once: true }));
  document.getElementById("form").submit();
  await sunk;
  results.form = "submitted";
  return results;
})();
</script></body></html>`;
}

async function serveHostilePage(target: string): Promise<{ origin: string; server: Server }> {
  const port = await freePort();
  const server = createServer((_, response) => response.writeHead(200, { "Content-Type": "text/html" }).end(hostilePage(target)));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  // localhost against a member on 127.0.0.1: another origin and another site.
  return { origin: `http://localhost:${port}`, server };
}

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

async function keys(member: ServerProcess, prefix: string): Promise<string[]> {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const r = await fetch(`${member.url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }) });
  return ((await r.json()).kvs ?? []).map((kv: { key: string }) => Buffer.from(kv.key, "base64").toString());
}

test("browser safety > a page on another site can neither write, read, watch nor frame; --cors lets a named origin read", async () => {
  const member = await startConcord({ name: "guarded" });
  const hostile = await serveHostilePage(member.url);
  const browser = await launch();
  let allowing: ServerProcess | undefined;
  try {
    await fetch(`${member.url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: b64("secret"), value: b64("s3cret") }) });
    const page = await browser.newPage();
    await page.goto(`${hostile.origin}/`);
    const results = await page.evaluate(() => (window as unknown as { results: Promise<Record<string, string>> }).results);
    assert.deepEqual(results, {
      noCors: "opaque", cors: "failed: TypeError", preflighted: "failed: TypeError", read: "failed: TypeError", eventSource: "error", form: "submitted",
    });
    assert.deepEqual(await keys(member, "attack/"), [], "a write from the page went through");
    // The console refuses to be framed: the frame holds an error page, not the console.
    const framed = page.frames().find((f) => f !== page.mainFrame() && f.name() !== "sink")!;
    assert.equal(await framed.locator("#app").count(), 0, "the console rendered inside another site's frame");

    // The form's body, sent by a client that is not a browser, is a valid put: only the origin check stopped it.
    const formBody = `{"key":"${b64("attack/form")}","value":"${b64("v")}","x":"="}\r\n`;
    const plain = await fetch(`${member.url}/v3/kv/put`, { method: "POST", headers: { "content-type": "text/plain" }, body: formBody });
    assert.equal(plain.status, 200, await plain.text());
    assert.deepEqual(await keys(member, "attack/"), ["attack/form"]);

    // A member that names the page's origin with --cors lets it read.
    allowing = await startConcord({ name: "allowing", flags: ["--cors", hostile.origin] });
    await fetch(`${allowing.url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: b64("secret"), value: b64("shared") }) });
    const other = await serveHostilePage(allowing.url);
    try {
      // Served from another port, the page's origin is not the one allowed: still refused.
      const stranger = await browser.newPage();
      await stranger.goto(`${other.origin}/`);
      const refused = await stranger.evaluate(() => (window as unknown as { results: Promise<Record<string, string>> }).results);
      assert.equal(refused.read, "failed: TypeError");
      // The allowed origin reads.
      const friend = await browser.newPage();
      await friend.goto(`${hostile.origin}/`);
      const read = await friend.evaluate((url) => fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: btoa("secret") }) }).then((r) => r.json()), allowing.url);
      assert.equal(Buffer.from(read.kvs[0].value, "base64").toString(), "shared");
    } finally {
      other.server.close();
    }

    // The console, under its Content-Security-Policy, still lists the member and shows a key.
    const console = await browser.newPage();
    const violations: string[] = [];
    console.on("console", (m) => {
      if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
    });
    await console.goto(`${member.url}/#/keys?prefix=attack%2F`);
    await console.waitForSelector('[data-key="attack/form"]');
    await console.goto(`${member.url}/#/cluster`);
    await console.waitForSelector('[data-testid=members] tr[data-role="leader"]');
    await fetch(`${member.url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: b64("attack/late"), value: b64("v") }) });
    await console.goto(`${member.url}/#/keys?prefix=attack%2F`);
    await eventually("the console shows a key put after it opened", 5_000, async () => (await console.locator('[data-key="attack/late"]').count()) > 0 || undefined);
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    hostile.server.close();
    await Promise.all([member.stop(), allowing?.stop()]);
  }
});
