/**
 * Differential: the same ordered sequence of requests goes to Debian's etcd 3.4 and to Concord,
 * each fresh; every answer must match — status, content type and body — once what differs by
 * nature (cluster and member ids, raft term, sizes on disk, URLs) is normalised.
 * The cases live in differential_cases.ts; one test per case, so a mismatch names its case.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";
import { differentialCases } from "./differential_cases.ts";
import { maskFields } from "../../testkit/json.ts";

type Answer = { status: number; contentType: string; body: unknown };

/** Fields whose values legitimately differ between two clusters. */
const VARYING = new Set([
  "cluster_id", "member_id", "raft_term", "ID", "name", "peerURLs", "clientURLs",
  "dbSize", "dbSizeInUse", "leader", "raftIndex", "raftTerm", "raftAppliedIndex", "hash",
]);

const normalise = (value: unknown) => maskFields(value, VARYING);

async function ask(server: ServerProcess, c: (typeof differentialCases)[number]): Promise<Answer> {
  const r = await fetch(`${server.url}${c.path}`, { method: c.method, body: c.method === "GET" ? undefined : c.body });
  const text = await r.text();
  const contentType = r.headers.get("content-type") ?? "";
  let body: unknown = text;
  if (contentType.startsWith("application/json")) {
    try {
      body = normalise(JSON.parse(text));
    } catch {
      body = text;
    }
  }
  return { status: r.status, contentType, body };
}

let etcd: ServerProcess;
let concord: ServerProcess;

before(async () => {
  [etcd, concord] = await Promise.all([startEtcd(), startConcord({ name: "differential" })]);
});

after(async () => {
  await Promise.all([etcd?.stop(), concord?.stop()]);
});

for (const c of differentialCases) {
  test(`differential > ${c.name}`, async () => {
    const [expected, actual] = await Promise.all([ask(etcd, c), ask(concord, c)]);
    assert.deepEqual(actual, expected, `${c.method} ${c.path} ${(c.body ?? "").slice(0, 300)}`);
  });
}
