/**
 * The single file, as a user deploys it: `npm run build` makes dist/concord (one executable) and
 * dist/concord.js (one bundled file); each is copied alone into an empty directory — no checkout,
 * no node_modules — and started with etcd's flags: the executable by itself, the bundle with Bun
 * and with Deno. Each serves etcd's API (a put over JSON, read back over gRPC by etcdctl) and the
 * console (the page and its bundle, embedded). Sizes and each start, process to serving, are printed.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { freePort, ROOT, tempDir } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const BIN = join(ROOT, "node_modules", ".bin");
const dir = tempDir("single-file");
const started: ChildProcess[] = [];
after(() => {
  for (const child of started) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `command` in the empty directory as a one-member cluster; resolves once it serves clients, with how long that took. */
async function start(command: string[], name: string): Promise<{ url: string; child: ChildProcess; ms: number }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const t0 = performance.now();
  const child = spawn(command[0], [
    ...command.slice(1), "--name", name, "--data-dir", join(dir, `${name}.data`), "--listen-client-urls", url, "--advertise-client-urls", url,
    "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `${name}=${peerUrl}`, "--initial-cluster-token", name,
  ], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir } });
  started.push(child);
  let output = "";
  const ms = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not serve within 20 s: ${output}`)), 20_000);
    const seen = (d: Buffer) => {
      output += d;
      if (/serving clients on/.test(output)) {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      }
    };
    child.stdout!.on("data", seen);
    child.stderr!.on("data", seen);
    child.on("exit", (code) => reject(new Error(`${name} exited (${code}): ${output}`)));
  });
  return { url, child, ms };
}

test("single file > built, copied alone into an empty directory, it serves etcd's API and the console: the executable, and the bundle on Bun and on Deno", onBunOnly("it starts each runtime itself"), async () => {
  execFileSync(join(BIN, "bun"), ["scripts/build.ts"], { cwd: ROOT, stdio: "pipe" });
  for (const file of ["concord", "concord.js"]) copyFileSync(join(ROOT, "dist", file), join(dir, file));
  execFileSync("chmod", ["+x", join(dir, "concord")]);
  const sizes = ["concord", "concord.js"].map((f) => `${f} ${(statSync(join(dir, f)).size / 1024 / 1024).toFixed(1)} MiB`).join(", ");
  const starts: string[] = [];
  for (const [name, command] of [["exe", ["./concord"]], ["bun", [join(BIN, "bun"), "concord.js"]], ["deno", [join(BIN, "deno"), "run", "-A", "concord.js"]]] as const) {
    const { url, child, ms } = await start([...command], name);
    starts.push(`${name} ${Math.round(ms)} ms`);
    try {
      const put = await fetch(`${url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: btoa("deployed"), value: btoa(name) }) });
      assert.equal(put.status, 200, await put.text());
      const got = await etcdctl([url], ["get", "deployed", "--print-value-only"]);
      assert.equal(got.stdout.trim(), name, got.stderr);
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="module" src="\/ui\/console.js">/);
      const bundle = await fetch(`${url}/ui/console.js`);
      assert.equal(bundle.status, 200);
      assert.doesNotMatch(await bundle.text(), /The console is not built/, `${name}: the console's bundle is not inside`);
    } finally {
      child.kill("SIGKILL");
    }
  }
  console.log(`single file: ${sizes}; serving after ${starts.join(", ")} (a new data dir)`);
});
