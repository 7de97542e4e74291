/**
 * The README's edge example (examples/edge.ts: a fetch handler that follows its configuration
 * through an SSE watch and runs a job under a lock), run as written on Bun and on Deno at once,
 * against one member: both serve the configuration and then a change to it without a restart, and
 * jobs run concurrently through both lose no run (the lock and its fenced write serialise them).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { test } from "node:test";
import { Client } from "../../client/mod.ts";
import { eventually } from "../../testkit/eventually.ts";
import { freePort, ROOT, startConcord } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

/** The example served by `runtime` on a free port, pointed at `endpoint`. */
async function serveExample(runtime: "bun" | "deno", endpoint: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = runtime === "bun" ? ["examples/edge.ts"] : ["serve", "-A", "--port", String(port), "examples/edge.ts"];
  const child = spawn(`${ROOT}/node_modules/.bin/${runtime}`, args, {
    cwd: ROOT, env: { ...process.env, CONCORD_ENDPOINTS: endpoint, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"],
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(`the example on ${runtime} serves`, 20_000, () => fetch(`${url}/config`).then((r) => (r.ok ? true : undefined), () => undefined));
  return { url, child };
}

test("edge example > on Bun and on Deno: config followed through SSE, jobs under a lock lose no run", onBunOnly("it runs the example on both runtimes itself"), async () => {
  const member = await startConcord({ name: "edge" });
  const servers: ChildProcess[] = [];
  try {
    const etcd = new Client({ endpoints: [member.url] });
    await etcd.kv.put("config/greeting", "hello");
    const examples = await Promise.all((["bun", "deno"] as const).map((runtime) => serveExample(runtime, member.url)));
    servers.push(...examples.map((e) => e.child));
    for (const { url } of examples) assert.deepEqual(await (await fetch(`${url}/config`)).json(), { greeting: "hello" });

    await etcd.kv.put("config/greeting", "bonjour");
    await etcd.kv.put("config/color", "blue");
    for (const { url } of examples) {
      await eventually(`${url} serves the new configuration`, 5_000, async () =>
        JSON.stringify(await (await fetch(`${url}/config`)).json()) === JSON.stringify({ greeting: "bonjour", color: "blue" }) ? true : undefined);
    }

    const JOBS_EACH = 5;
    const runs = await Promise.all(examples.flatMap(({ url }) =>
      Array.from({ length: JOBS_EACH }, async () => (await (await fetch(`${url}/job`, { method: "POST" })).json()) as { run: number; fencingToken: number })
    ));
    assert.deepEqual(runs.map((r) => r.run).sort((a, b) => a - b), Array.from({ length: 2 * JOBS_EACH }, (_, i) => i + 1), "every run counted once");
    assert.equal(await etcd.kv.getText("jobs-data/report/runs"), String(2 * JOBS_EACH));
    const byRun = runs.sort((a, b) => a.run - b.run).map((r) => r.fencingToken);
    assert.deepEqual(byRun, [...byRun].sort((a, b) => a - b), "later runs held the lock with larger tokens");
  } finally {
    for (const child of servers) child.kill("SIGKILL");
    await member.stop();
  }
});
