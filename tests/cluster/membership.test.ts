/**
 * Membership of a cluster of real processes: a member added with member add and started with
 * `--initial-cluster-state existing` catches up from a snapshot once the log was compacted;
 * removing members shrinks the quorum (at once with --strict-reconfig-check=false); a removed member stops; the peer port refuses messages
 * without proof of the cluster's token, and a URL registered with member add never sees the token
 * or a proof another member would take.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import type { Message } from "../../raft/types.ts";
import { encodeMessages } from "../../peer/codec.ts";
import { CLUSTER_PATH, FROM_HEADER, MESSAGES_PATH, PROOF_HEADER, STREAM_PATH } from "../../peer/paths.ts";
import { peerProof } from "../../peer/proof.ts";
import { freePort } from "../../testkit/processes.ts";
import { get, post, put, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

/**
 * A cluster call retried as etcdctl users retry it: while there is no leader yet, the leader just
 * changed, or etcd's reconfiguration check finds members not connected long enough.
 */
function retried(url: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  return eventually(path, 15_000, async () => {
    const r = await post(url, path, JSON.stringify(body));
    return r.status === 503 && /no leader|leader changed|unhealthy cluster/.test(r.text) ? undefined : r;
  });
}

async function memberList(url: string): Promise<{ ID: string; name?: string; peerURLs: string[]; isLearner?: boolean }[]> {
  return JSON.parse((await post(url, "/v3/cluster/member/list", "{}")).text).members;
}

test("cluster > a member added after the log was compacted catches up from a snapshot; removals shrink the quorum", async () => {
  // Compact the log every 100 entries, so 600 writes leave the new member nothing to replay.
  const cluster = await TestCluster.start(3, { flags: ["--snapshot-count", "100"] });
  try {
    const leader = await cluster.leader();
    const [m1, m2, m3] = cluster.members;
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < 600; i += 8) assert.equal((await put(cluster.members[i % 3].clientUrl, `k${i}`, `v${i}`))?.status, 200);
    }));

    const m4 = await cluster.define("m4");
    // etcd refuses to add a voter until the members have been connected for a while.
    const added = await retried(m2.clientUrl, "/v3/cluster/member/add", { peerURLs: [m4.peerUrl] });
    assert.equal(added.status, 200, added.text);
    const addedMember = JSON.parse(added.text).member;
    assert.deepEqual(addedMember.peerURLs, [m4.peerUrl]);
    // Another member lists its own view, as etcd 3.4's member list does: it has the new member
    // once it has applied the change.
    await eventually("the others learn of the new member", 5_000, async () =>
      (await memberList(m3.clientUrl)).length === 4 ? true : undefined);

    await cluster.join(m4);
    await eventually("the new member has every key", 10_000, async () =>
      (await get(m4.clientUrl, "k599", { serializable: true })) === "v599" ? true : undefined);
    assert.match(m4.output, /installed snapshot at index \d+/);
    assert.equal(await get(m4.clientUrl, "k0", { serializable: true }), "v0");
    const m4List = await eventually("the new member publishes its name", 5_000, async () => {
      const list = await memberList(leader.clientUrl);
      return list.find((m) => m.ID === addedMember.ID)?.name === "m4" ? list : undefined;
    });
    assert.equal(m4List.length, 4);

    // Four voters: quorum 3. Kill m3 and remove it: three voters, quorum 2, so one more may go.
    await cluster.kill9(m3);
    const m3Id = (await memberList(m1.clientUrl)).find((m) => m.name === "m3")!.ID;
    const removed = await retried(m1.clientUrl, "/v3/cluster/member/remove", { ID: m3Id });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(JSON.parse(removed.text).members.map((m: { name: string }) => m.name).sort(), ["m1", "m2", "m4"]);
    const victim = (await cluster.leader(5_000, [m1, m2, m4])) === m2 ? m1 : m2;
    await cluster.kill9(victim);
    const [left] = [m1, m2, m4].filter((m) => m !== victim && m.process);
    await eventually("a write with two of three voters", 10_000, async () =>
      (await put(left.clientUrl, "after-remove", "ok", 2_000))?.status === 200 ? true : undefined);

  } finally {
    await cluster.close();
  }
});

test("cluster > a removed member stops, and the rest go on as a smaller cluster; --strict-reconfig-check=false removes at once", async () => {
  // Without etcd's strict check a member may be removed before the members have been connected
  // for 5 s (with it, this first ask would be "etcdserver: unhealthy cluster").
  const cluster = await TestCluster.start(3, { flags: ["--strict-reconfig-check=false"] });
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const id = (await memberList(leader.clientUrl)).find((m) => m.name === follower.name)!.ID;
    const exited = new Promise((r) => follower.process!.child.once("exit", r));
    const removed = await post(follower.clientUrl, "/v3/cluster/member/remove", JSON.stringify({ ID: id }));
    assert.equal(removed.status, 200, removed.text);
    await exited;
    assert.match(follower.output, /removed from the cluster/);
    // Restarting it does not bring it back.
    await assert.rejects(cluster.restart(follower), /permanently removed from the cluster/);
    const rest = cluster.members.filter((m) => m !== follower);
    const names = rest.map((x) => x.name).sort().join(",");
    for (const m of rest) {
      await eventually(`${m.name} lists the members left`, 5_000, async () =>
        (await memberList(m.clientUrl)).map((x) => x.name).sort().join(",") === names ? true : undefined);
    }
    assert.equal((await put(rest[1].clientUrl, "two-members", "yes"))?.status, 200);
    assert.equal(await get(rest[0].clientUrl, "two-members"), "yes");
  } finally {
    await cluster.close();
  }
});

test("cluster > the peer port refuses Raft messages without proof of the cluster's token", async () => {
  const cluster = await TestCluster.start(3);
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const before = (await cluster.status(follower))!;
    // A vote request from a far later term would depose the leader if it were stepped.
    const vote: Message = {
      type: "vote", from: "1", to: BigInt(before.memberId).toString(16), term: before.raftTerm + 100, logTerm: 1_000, index: 1_000_000,
      entries: [], commit: 0, reject: false, rejectHint: 0, context: "",
    };
    const body = encodeMessages([vote]);
    const followerId = BigInt(before.memberId).toString(16);
    const host = new URL(follower.peerUrl).host;
    const forged = [{}, { [PROOF_HEADER]: peerProof("not-the-token", "1", followerId, host), [FROM_HEADER]: "1" }, { [PROOF_HEADER]: cluster.token, [FROM_HEADER]: "1" }];
    for (const headers of forged as Record<string, string>[]) {
      const r = await fetch(follower.peerUrl + MESSAGES_PATH, { method: "POST", headers, body: body as BodyInit });
      assert.equal(r.status, 403);
      assert.match(await r.text(), /cluster's token/);
    }
    // The message stream too: an upgrade without the token is refused before any frame is read.
    const socket = new WebSocket(`${follower.peerUrl.replace("http", "ws")}${STREAM_PATH}`);
    const opened = await new Promise<boolean>((resolve) => {
      socket.onopen = () => resolve(true);
      socket.onerror = () => resolve(false);
      socket.onclose = () => resolve(false);
    });
    assert.equal(opened, false, "a stream without the token was accepted");
    const proven = { [PROOF_HEADER]: peerProof(cluster.token, "1", followerId, host), [FROM_HEADER]: "1" };
    const garbage = await fetch(follower.peerUrl + MESSAGES_PATH, { method: "POST", headers: proven, body: "nonsense" });
    assert.equal(garbage.status, 400);
    const after = (await cluster.status(follower))!;
    assert.equal(after.raftTerm, before.raftTerm);
    assert.equal(after.leader, before.leader);
    assert.equal((await put(follower.clientUrl, "still", "fine"))?.status, 200);
  } finally {
    await cluster.close();
  }
});

test("cluster > a URL registered with member add is dialled without the token, with proofs no member takes", onBunOnly("which URLs get the token is the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3, { flags: ["--strict-reconfig-check=false"] });
  // A listener that stands for whoever registered its URL: it records every request the members send it.
  const seen: Record<string, string>[] = [];
  const port = await freePort();
  const trap = createServer((request, response) => {
    seen.push(Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])));
    response.writeHead(503).end("no");
  });
  trap.on("upgrade", (request, socket) => {
    seen.push(Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])));
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(port, "127.0.0.1", resolve));
  try {
    const leader = await cluster.leader();
    const added = await retried(leader.clientUrl, "/v3/cluster/member/add", { peerURLs: [`http://127.0.0.1:${port}`], isLearner: true });
    assert.equal(added.status, 200, added.text);
    await eventually("the leader dials the new member", 10_000, () => (seen.length > 0 ? true : undefined));
    for (const headers of seen) {
      for (const [name, value] of Object.entries(headers)) assert.ok(!value.includes(cluster.token), `the token was sent in ${name}`);
    }
    // What it was sent, replayed to every member, is refused: a proof addressed to the new member only.
    const proof = seen.find((h) => h[PROOF_HEADER])!;
    assert.ok(proof, "the member was sent no proof at all");
    for (const m of cluster.members) {
      const replayed = { [PROOF_HEADER]: proof[PROOF_HEADER], [FROM_HEADER]: proof[FROM_HEADER] };
      assert.equal((await fetch(m.peerUrl + MESSAGES_PATH, { method: "POST", headers: replayed, body: "x" })).status, 403, m.name);
      assert.equal((await fetch(m.peerUrl + CLUSTER_PATH, { headers: replayed })).status, 403, m.name);
    }
  } finally {
    trap.closeAllConnections();
    trap.close();
    await cluster.close();
  }
});

test("cluster > a member update moves where the leader sends at once; what the new URL is sent opens no member", onBunOnly("where the leader sends is the same code on either runtime"), async () => {
  const cluster = await TestCluster.start(3);
  const seen: Record<string, string>[] = [];
  const port = await freePort();
  const record = (headers: Record<string, string | string[] | undefined>) => seen.push(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])));
  const trap = createServer((request, response) => {
    record(request.headers);
    response.writeHead(503).end("no");
  });
  trap.on("upgrade", (request, socket) => {
    record(request.headers);
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(port, "127.0.0.1", resolve));
  try {
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const id = (await cluster.status(follower))!.memberId;
    // Proposed by the leader itself: the leader must move too, not only the members that hear of it.
    const moved = await retried(leader.clientUrl, "/v3/cluster/member/update", { ID: id, peerURLs: [`http://127.0.0.1:${port}`] });
    assert.equal(moved.status, 200, moved.text);
    const leaderHex = BigInt((await cluster.status(leader))!.memberId).toString(16);
    await eventually("the leader dials the follower's new URL", 10_000, () => (seen.some((h) => h[FROM_HEADER] === leaderHex) ? true : undefined));
    // Replayed at the follower's real peer port, what the trap was sent is refused: it names the trap's host.
    for (const headers of seen.filter((h) => h[PROOF_HEADER])) {
      const replayed = { [PROOF_HEADER]: headers[PROOF_HEADER], [FROM_HEADER]: headers[FROM_HEADER] };
      assert.equal((await fetch(follower.peerUrl + CLUSTER_PATH, { headers: replayed })).status, 403);
      assert.equal((await fetch(follower.peerUrl + MESSAGES_PATH, { method: "POST", headers: replayed, body: "x" })).status, 403);
    }
  } finally {
    trap.closeAllConnections();
    trap.close();
    await cluster.close();
  }
});
