/**
 * A real member (`server.ts`, on Bun or on Deno as CONCORD_TEST_RUNTIME says) serves etcd's gRPC
 * API on its client URL, the same port curl and the gateway use, as etcd does: Debian's etcdctl
 * 3.4.23 puts, reads, fails as against etcd, checks health and hashes — and a JSON gateway read on
 * the same port sees what etcdctl wrote. (tests/grpc/unary_differential.test.ts compares every
 * call with etcd; this holds the wiring.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { post, type ServerProcess, startConcord } from "../../testkit/processes.ts";

let concord: ServerProcess;

before(async () => {
  concord = await startConcord({ name: "served" });
});

after(async () => {
  await concord?.stop();
});

/** Runs etcdctl against the member; stderr without clientv3's retry logs (JSON lines). */
function etcdctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const endpoint = concord.url.replace("http://", "");
  return new Promise((resolve) => {
    execFile("/usr/bin/etcdctl", [`--endpoints=${endpoint}`, ...args], { env: { ETCDCTL_API: "3", PATH: process.env.PATH ?? "" }, timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{")).join("\n") });
    });
  });
}

test("grpc served > etcdctl talks to a member on its client port, beside the JSON gateway", async () => {
  assert.deepEqual(await etcdctl("put", "foo", "bar"), { code: 0, stdout: "OK\n", stderr: "" });
  const got = JSON.parse((await etcdctl("get", "foo", "-w", "json")).stdout);
  assert.equal(got.count, 1);
  assert.equal(atob(got.kvs[0].value), "bar");
  assert.equal(got.header.revision, 2);

  assert.deepEqual(await etcdctl("get", "foo", "--rev=100"), {
    code: 1, stdout: "", stderr: "Error: etcdserver: mvcc: required revision is a future revision",
  });
  assert.deepEqual(await etcdctl("put", "", "x"), { code: 1, stdout: "", stderr: "Error: etcdserver: key is not provided" });

  const health = await etcdctl("endpoint", "health");
  assert.equal(health.code, 0, health.stderr);
  assert.match(health.stderr, /is healthy: successfully committed proposal/);
  // etcd's own number for this history (one put of foo=bar at revision 2).
  assert.equal((await etcdctl("endpoint", "hashkv")).stdout.trim().split(", ")[1], "3305255506");

  const gateway = await post(concord.url, "/v3/kv/range", JSON.stringify({ key: btoa("foo") }));
  assert.equal(gateway.status, 200);
  assert.equal(atob(JSON.parse(gateway.text).kvs[0].value), "bar");
});
