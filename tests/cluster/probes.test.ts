/**
 * The health probes as an orchestrator uses them: with a quorum, /health, /livez and /readyz all
 * say true; on a member left alone (the other two killed), once it knows no leader, /health and
 * /readyz say false with 503 — /readyz naming "RAFT NO LEADER" — while /livez (the member itself
 * serves) and /readyz?serializable=true stay true: a liveness probe must not restart a member for
 * its cluster's trouble. A probe only answers GET, as etcd's. And while the cluster is whole, the
 * leader's /metrics has each follower's round trip (etcd_network_peer_round_trip_time_seconds).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "../../testkit/eventually.ts";
import { TestCluster } from "../../testkit/cluster.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const probe = async (url: string, path: string, method = "GET") => {
  const r = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(5_000) });
  return { status: r.status, text: await r.text() };
};
const healthy = { status: 200, text: `{"health":"true","reason":""}` };

test("probes > true with a quorum (and the leader measures its peers' round trips); alone without a leader: /readyz false with its reason, /livez true", onBunOnly("the probes are the gateway's, the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  try {
    const [alone, ...others] = cluster.members;
    const leader = await cluster.leader();
    const followers = await Promise.all(cluster.members.filter((m) => m !== leader).map(async (m) => BigInt((await cluster.status(m))!.memberId).toString(16)));
    const roundTrips = await eventually("the leader measured a round trip to each follower", 5_000, async () => {
      const text = await (await fetch(`${leader.clientUrl}/metrics`)).text();
      const counts = followers.map((id) => Number(new RegExp(`^etcd_network_peer_round_trip_time_seconds_count\\{To="${id}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0));
      return counts.every((n) => n > 0) ? text : undefined;
    });
    assert.match(roundTrips, /^# HELP etcd_network_peer_round_trip_time_seconds Round-Trip-Time histogram between peers$/m);
    assert.match(roundTrips, /^etcd_network_peer_round_trip_time_seconds_bucket\{To="[0-9a-f]+",le="3.2768"\} \d+$/m);
    assert.deepEqual(await probe(alone.clientUrl, "/livez"), healthy);
    assert.deepEqual(await probe(alone.clientUrl, "/readyz"), healthy);
    assert.deepEqual(await probe(alone.clientUrl, "/health"), { status: 200, text: `{"health":"true"}` });
    assert.deepEqual(await probe(alone.clientUrl, "/readyz", "POST"), { status: 405, text: "Method Not Allowed\n" });

    await Promise.all(others.map((m) => cluster.kill9(m)));
    const readyz = await eventually("the member alone knows no leader", 15_000, async () => {
      const r = await probe(alone.clientUrl, "/readyz");
      // Until then a read is not confirmed in time: false too, for that reason.
      return r.status === 503 && r.text.includes("NO LEADER") ? r : undefined;
    });
    assert.deepEqual(readyz, { status: 503, text: `{"health":"false","reason":"RAFT NO LEADER"}\n` });
    assert.equal((await probe(alone.clientUrl, "/health")).status, 503);
    assert.deepEqual(await probe(alone.clientUrl, "/livez"), healthy);
    assert.deepEqual(await probe(alone.clientUrl, "/readyz?serializable=true"), healthy);
  } finally {
    await cluster.close();
  }
});
