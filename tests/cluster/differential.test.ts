/**
 * The cluster calls against the real thing: the same requests to a 3-member etcd 3.4.23 cluster
 * (Debian's etcd-server) and a 3-member Concord cluster must get the same status, content type and
 * body, once what differs by nature is normalised (ids, URLs, names, terms, sizes).
 * Only calls whose answer does not depend on timing are compared (a change refused as "unhealthy"
 * in a member's first seconds is, on both, a matter of timing).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { TestCluster } from "../../testkit/cluster.ts";
import { type ServerProcess, startEtcdCluster } from "../../testkit/processes.ts";

interface Side {
  leader: string;
  follower: string;
  /** Member ids (decimal strings) in the leader-first order both sides share. */
  ids: string[];
}

let etcd: ServerProcess[] = [];
let concord: TestCluster | undefined;
const sides: { etcd?: Side; concord?: Side } = {};

async function statusOf(url: string): Promise<{ id: string; leader: string }> {
  const s = await (await fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}" })).json();
  return { id: s.header.member_id, leader: s.leader ?? "" };
}

async function allPublished(url: string): Promise<boolean> {
  const list = await (await fetch(`${url}/v3/cluster/member/list`, { method: "POST", body: "{}" })).json();
  return list.members.every((m: { clientURLs?: string[] }) => m.clientURLs?.length);
}

/**
 * Waits until every member names the same leader and has published its client URLs (an etcd
 * member serves only once it has; a Concord member a moment before), then orders members leader
 * first.
 */
async function settle(urls: string[]): Promise<Side> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(urls.map(statusOf));
    const leaders = new Set(statuses.map((s) => s.leader));
    const at = statuses.findIndex((s) => s.id === s.leader);
    if (leaders.size === 1 && at >= 0 && (await Promise.all(urls.map(allPublished))).every(Boolean)) {
      const others = urls.map((_, i) => i).filter((i) => i !== at);
      return { leader: urls[at], follower: urls[others[0]], ids: [at, ...others].map((i) => statuses[i].id) };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no leader within 20 s");
}

/** Both clusters, started by the first test that needs them (a hook's time limit is too short). */
let started: Promise<void> | undefined;
function clusters(): Promise<void> {
  started ??= (async () => {
    etcd = await startEtcdCluster(3);
    concord = await TestCluster.start(3);
    sides.etcd = await settle(etcd.map((s) => s.url));
    sides.concord = await settle(concord.members.map((m) => m.clientUrl));
  })();
  return started;
}

after(async () => {
  await Promise.all(etcd.map((s) => s.stop()));
  await concord?.close();
});

type Call = { name: string; on: "leader" | "follower"; path: string; body: (side: Side) => string };

/**
 * Names each side's own ids, URLs and names the same way, so the two can be compared; members are
 * listed by id on both sides, and the ids differ, so lists are compared sorted.
 */
function normalise(text: string, side: Side): string {
  let out = text;
  side.ids.forEach((id, i) => (out = out.replaceAll(`"${id}"`, `"<member ${i}>"`)));
  out = out
    .replace(/"cluster_id":"\d+"/g, `"cluster_id":"<cluster>"`)
    .replace(/"raft_term":"\d+"/g, `"raft_term":"<term>"`)
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, "<url>")
    .replace(/"name":"[^"]*"/g, `"name":"<name>"`)
    .replace(/"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex|raftTerm)":"\d+"/g, `"$1":"<n>"`);
  return out.replace(/"members":\[(.*)\]/, (_, list: string) => `"members":[${list.split(/,(?=\{"ID")/).sort().join(",")}]`);
}

const calls: Call[] = [
  { name: "status of the leader", on: "leader", path: "/v3/maintenance/status", body: () => "{}" },
  { name: "status of a follower", on: "follower", path: "/v3/maintenance/status", body: () => "{}" },
  { name: "member list on the leader", on: "leader", path: "/v3/cluster/member/list", body: () => "{}" },
  { name: "member list on a follower", on: "follower", path: "/v3/cluster/member/list", body: () => "{}" },
  { name: "member add with no peer URLs", on: "leader", path: "/v3/cluster/member/add", body: () => "{}" },
  { name: "member add with a URL that is not one", on: "leader", path: "/v3/cluster/member/add", body: () => `{"peerURLs":["foo"]}` },
  { name: "member add with a URL without a port", on: "follower", path: "/v3/cluster/member/add", body: () => `{"peerURLs":["http://127.0.0.1"]}` },
  { name: "member add with a peer URL that is a string", on: "leader", path: "/v3/cluster/member/add", body: () => `{"peerURLs":"http://127.0.0.1:1"}` },
  { name: "member remove of an unknown id", on: "leader", path: "/v3/cluster/member/remove", body: () => `{"ID":"12345"}` },
  { name: "member remove with no id", on: "follower", path: "/v3/cluster/member/remove", body: () => "{}" },
  { name: "member update of an unknown id", on: "leader", path: "/v3/cluster/member/update", body: () => `{"ID":12345,"peerURLs":["http://127.0.0.1:1"]}` },
  { name: "member promote of an unknown id", on: "leader", path: "/v3/cluster/member/promote", body: () => `{"ID":"12345"}` },
  { name: "member promote of a running voter", on: "leader", path: "/v3/cluster/member/promote", body: (s) => `{"ID":"${s.ids[1]}"}` },
  { name: "member remove with an id that is not a number", on: "leader", path: "/v3/cluster/member/remove", body: () => `{"ID":"x"}` },
  { name: "transfer leadership on a follower", on: "follower", path: "/v3/maintenance/transfer-leadership", body: (s) => `{"targetID":"${s.ids[0]}"}` },
  { name: "transfer leadership to an unknown member", on: "leader", path: "/v3/maintenance/transfer-leadership", body: () => `{"targetID":"12345"}` },
  { name: "transfer leadership with no target", on: "leader", path: "/v3/maintenance/transfer-leadership", body: () => "{}" },
  { name: "transfer leadership to the leader itself", on: "leader", path: "/v3/maintenance/transfer-leadership", body: (s) => `{"targetID":"${s.ids[0]}"}` },
];

async function ask(side: Side, call: Call): Promise<{ status: number; type: string | null; body: string }> {
  const url = call.on === "leader" ? side.leader : side.follower;
  const r = await fetch(`${url}${call.path}`, { method: "POST", body: call.body(side) });
  return { status: r.status, type: r.headers.get("content-type"), body: normalise(await r.text(), side) };
}

for (const call of calls) {
  test(`cluster differential > ${call.name}`, async () => {
    await clusters();
    const [expected, actual] = await Promise.all([ask(sides.etcd!, call), ask(sides.concord!, call)]);
    assert.deepEqual(actual, expected, `${call.path} ${call.body(sides.etcd!)}`);
  });
}
