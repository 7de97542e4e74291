/**
 * etcd's own Go client (clientv3, as applications use it) against Concord: a scripted session —
 * put, get, txn, watch, a lease with keep-alive and keys, a concurrency mutex, error paths — prints
 * the same lines against a fresh etcd 3.4.23 and a fresh Concord; and against a 3-member Concord
 * cluster whose leader is killed with kill -9 mid-run, the program's watch sees every acknowledged
 * put once, in order, and its session's lease survives.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TestCluster } from "../../testkit/cluster.ts";
import { buildGoProgram, runGoProgram } from "../../testkit/go_programs.ts";
import { startConcord, startEtcd } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const endpoint = (url: string) => url.replace(/^https?:\/\//, "");

test("go client > a clientv3 session prints the same against etcd and Concord", async () => {
  const program = await buildGoProgram("clientv3_session");
  const [etcd, concord] = await Promise.all([startEtcd("go-etcd"), startConcord({ name: "go" })]);
  try {
    const fromEtcd = await runGoProgram(program, ["-mode", "session", "-e", endpoint(etcd.url)], 60_000).done;
    const fromConcord = await runGoProgram(program, ["-mode", "session", "-e", endpoint(concord.url)], 60_000).done;
    assert.ok(fromEtcd.split("\n").length > 25, fromEtcd);
    assert.equal(fromConcord, fromEtcd);
  } finally {
    await Promise.all([etcd.stop(), concord.stop()]);
  }
});

test("go client > through kill -9 of the leader, a watch misses and repeats nothing and a session lease survives", onBunOnly("failover is the same code on either runtime; the Go client against a member on Deno is the session test"), async () => {
  const program = await buildGoProgram("clientv3_session");
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const run = runGoProgram(program, ["-mode", "failover", "-writes", "400", "-e", cluster.members.map((m) => endpoint(m.clientUrl)).join(",")], 150_000);
    const killed = new Promise<void>((resolve, reject) => {
      const onData = () => {
        if (!/^progress 100$/m.test(run.stdout())) return;
        run.child.stdout!.off("data", onData);
        cluster.kill9(leader).then(resolve, reject);
      };
      run.child.stdout!.on("data", onData);
    });
    const out = await run.done;
    await killed;
    const summary = Object.fromEntries((/^summary (.*)$/m.exec(out)?.[1] ?? "").split(" ").map((f) => f.split("=")));
    // Puts that failed (the leader died under them) may or may not have happened: seen ≥ acked.
    assert.equal(summary.acked, "400", out);
    assert.ok(Number(summary.seen) >= 400, out);
    assert.deepEqual([summary.duplicates, summary.out_of_order, summary.missing, summary.lease], ["0", "0", "0", "alive"], out);
  } finally {
    await cluster.close();
  }
});
