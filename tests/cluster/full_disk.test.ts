/**
 * Fail-stop storage, with a real disk failure: a member whose data dir is on a small filesystem
 * (a 6 MiB tmpfs mounted by the test) is written to until the disk is full. From the first write
 * that cannot be made durable it stops serving — writes and reads answer etcd's "server stopped"
 * (a client tries another member), /health says false with 503, the process lives on and says
 * why — rather than answer from a state that lost what it had applied. Given room again (the
 * filesystem grown) and restarted, it has every acknowledged write and takes new ones.
 * Mounting needs root; where it is refused the test says so and is skipped.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort, type ServerProcess, spawnConcord, tempDir } from "../../testkit/processes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const mountPoint = tempDir("full-disk");
const mounted = (() => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
after(() => {
  if (mounted) execFileSync("umount", ["-l", mountPoint], { stdio: "ignore" });
  rmSync(mountPoint, { recursive: true, force: true });
});

async function call(url: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}${path}`, { method: body === undefined ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  return { status: r.status, text: await r.text() };
}

test("full disk > the member stops serving at the first write it cannot make durable, and restarted with room has every acknowledged write",
  { skip: !mounted && "mounting a small tmpfs needs root" }, async () => {
    const dataDir = join(mountPoint, "data");
    mkdirSync(dataDir);
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const flags = [
      "--name", "full", "--data-dir", dataDir, "--listen-client-urls", url, "--advertise-client-urls", url,
      "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `full=${peerUrl}`,
    ];
    let output = "";
    let member: ServerProcess | undefined = await spawnConcord({ url, dataDir, flags, removeDir: false, onOutput: (t) => void (output += t) });
    try {
      const value = "x".repeat(200_000);
      const acknowledged: number[] = [];
      let refused: { status: number; text: string } | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        const answer = await call(url, "/v3/kv/put", { key: b64(`k${i}`), value: b64(`${i}:${value}`) });
        if (answer.status === 200) acknowledged.push(i);
        else refused = answer;
      }
      assert.ok(refused, "6 MiB took a hundred 200 kB values");
      assert.ok(acknowledged.length > 0, "nothing was acknowledged before the disk filled");
      const stopped = { status: 503, error: "etcdserver: server stopped" };
      assert.deepEqual({ status: refused.status, error: JSON.parse(refused.text).error }, stopped);
      const read = await call(url, "/v3/kv/range", { key: b64("k0"), serializable: true });
      assert.deepEqual({ status: read.status, error: JSON.parse(read.text).error }, stopped, "a read is served from a state that may have lost applied writes");
      const health = await call(url, "/health");
      assert.deepEqual([health.status, health.text.trim()], [503, `{"health":"false"}`]);
      // The member itself no longer serves: liveness fails too, so an orchestrator restarts it.
      for (const probe of ["/livez", "/readyz"]) {
        const answer = await call(url, probe);
        assert.deepEqual([answer.status, answer.text], [503, `{"health":"false","reason":"RANGE ERROR:etcdserver: server stopped"}\n`], probe);
      }
      assert.equal(member.child.exitCode, null, "the process ended");
      assert.match(output, /storage failure: .*(disk is full|No space left)/i);
      await member.kill9();
      member = undefined;

      execFileSync("mount", ["-o", "remount,size=64m", mountPoint], { stdio: "ignore" });
      member = await spawnConcord({ url, dataDir, flags, removeDir: false });
      const all = await call(url, "/v3/kv/range", { key: b64("k"), range_end: b64("l"), keys_only: true });
      assert.equal(all.status, 200, all.text);
      const present = new Set(((JSON.parse(all.text).kvs ?? []) as { key: string }[]).map((kv) => Buffer.from(kv.key, "base64").toString()));
      const lost = acknowledged.filter((i) => !present.has(`k${i}`));
      assert.deepEqual(lost, [], "acknowledged writes lost");
      const last = acknowledged.at(-1)!;
      const lastValue = JSON.parse((await call(url, "/v3/kv/range", { key: b64(`k${last}`) })).text).kvs[0].value;
      assert.equal(Buffer.from(lastValue, "base64").toString().split(":")[0], String(last));
      assert.equal((await call(url, "/v3/kv/put", { key: b64("after"), value: b64("room") })).status, 200);
      const healthy = await call(url, "/health");
      assert.deepEqual([healthy.status, healthy.text], [200, `{"health":"true"}`]);
    } finally {
      await member?.kill9();
    }
  });
