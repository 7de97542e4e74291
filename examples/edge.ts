/**
 * An edge function on Concord, in one file: a fetch handler that reads its configuration from the
 * keys under config/ (loaded once, then followed through an SSE watch, so a change is served
 * without a restart), and runs a job under a lock (a counter read, then written with a fenced
 * write, so two instances running it at once lose no run). It uses only client/ (fetch and
 * streams), as a fetch-only edge runtime would:
 *
 *   CONCORD_ENDPOINTS=http://127.0.0.1:2379 PORT=8080 bun examples/edge.ts
 *   CONCORD_ENDPOINTS=http://127.0.0.1:2379 deno serve -A --port 8080 examples/edge.ts
 *
 * GET /config answers the configuration now; POST /job runs the job once and answers the run's
 * number and its fencing token.
 */
import { Client, op } from "../client/mod.ts";

/** The environment variable `name` on Deno, Bun or Node (an edge runtime would hand it to fetch). */
function env(name: string): string | undefined {
  const g = globalThis as { Deno?: { env: { get(n: string): string | undefined } }; process?: { env: Record<string, string | undefined> } };
  return g.Deno?.env.get(name) ?? g.process?.env[name];
}

const etcd = new Client({ endpoints: (env("CONCORD_ENDPOINTS") ?? "http://127.0.0.1:2379").split(",") });
const config = new Map<string, string>();

/** The configuration, loaded and then followed, change by change, for as long as the function runs. */
async function followConfig(): Promise<void> {
  const now = await etcd.kv.get("config/", { prefix: true });
  for (const kv of now.kvs) config.set(kv.keyText.slice("config/".length), kv.valueText);
  for await (const e of etcd.watch("config/", { prefix: true, sse: true, startRevision: now.revision + 1 })) {
    const name = e.kv.keyText.slice("config/".length);
    if (e.type === "PUT") config.set(name, e.kv.valueText);
    else config.delete(name);
  }
}
const following = followConfig();
following.catch((e) => console.error("edge: the configuration is no longer followed:", e));

/** The job: one more run, counted under the lock (the read and the fenced write cannot interleave with another's). */
async function runJob(): Promise<{ run: number; fencingToken: number }> {
  const session = await etcd.leases.session(10);
  try {
    const lock = await etcd.lock("jobs/report", { session, timeoutMs: 10_000 });
    const run = Number((await etcd.kv.getText("jobs-data/report/runs")) ?? "0") + 1;
    await lock.write([op.put("jobs-data/report/runs", String(run))]);
    await lock.unlock();
    return { run, fencingToken: lock.fencingToken };
  } finally {
    await session.close();
  }
}

export default {
  port: Number(env("PORT") ?? 8080),
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/config" && request.method === "GET") return Response.json(Object.fromEntries(config));
    if (pathname === "/job" && request.method === "POST") return Response.json(await runJob());
    return new Response("not found\n", { status: 404 });
  },
};
