/**
 * `etcdctl check perf --load s` — etcd's own check of whether a cluster keeps up with a small load
 * (50 clients, each on a connection of its own, 150 writes/s for 60 s; every request under 0.5 s
 * and little spread) — passes against one Concord member, as it does against etcd here. The other
 * loads are for bigger machines: on these two cores etcd 3.4 fails `l` as Concord does (README).
 * On Bun only: a minute of fixed load says nothing more run again with the members on Deno.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { startConcord } from "../../testkit/processes.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

test("check perf > etcdctl check perf --load s passes against one member", onBunOnly("a minute of load, once is enough"), async () => {
  const member = await startConcord({ name: "check-perf" });
  try {
    const result = await etcdctl([member.url.replace("http://", "")], ["check", "perf", "--load", "s"], { timeoutMs: 120_000 });
    // etcdctl redraws its progress bar with carriage returns: the verdicts are the lines after the last one.
    const verdicts = result.stdout.replace(/[^\n]*\r/g, "").split("\n").filter((l) => /^(PASS|FAIL)/.test(l));
    console.log(`check perf --load s: ${verdicts.join("; ")}`);
    assert.equal(result.ended, "exit 0", `${result.stdout}\n${result.stderr}`);
    assert.ok(verdicts.includes("PASS") && !verdicts.some((l) => l.startsWith("FAIL")), verdicts.join("\n"));
    assert.ok(verdicts.some((l) => /^PASS: Throughput is \d+ writes\/s$/.test(l)), verdicts.join("\n"));
  } finally {
    await member.stop();
  }
});
