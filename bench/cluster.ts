/**
 * `npm run bench:cluster`: put, txn and linearizable range with 64 clients against a 3-member
 * Concord cluster (on Bun) and a 3-member etcd 3.4 cluster (Debian's etcd-server), alternating in
 * the same run on the same machine, and prints each figure with Concord's ratio to etcd and the
 * CPU time all three members together spent per operation. Two shapes: every client at the leader
 * (as a new user benchmarks a cluster: the leader's cost shows), and clients spread over the
 * members (client c talks to member c mod 3, as etcd's clients spread over endpoints, so two
 * thirds of the writes reach the leader through a follower). Nothing else should run on the
 * machine. Each figure is measured as workloads.ts compares (twice, ABBA, averaged).
 *
 * Flags: --seconds N (per measurement, default 5), --clients 64, --workloads put,txn,range,
 * --shapes leader,spread.
 */
import { TestCluster } from "../testkit/cluster.ts";
import { type ServerProcess, startEtcdCluster } from "../testkit/processes.ts";
import { compare, flag, preload } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "64").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,txn,range").split(",");
const SHAPES = flag("shapes", "leader,spread").split(",");

/** The member leading among `urls`: the one whose status names itself. */
async function leaderOf(urls: readonly string[]): Promise<string> {
  for (let i = 0; i < 100; i++) {
    for (const url of urls) {
      const s = await fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}" }).then((r) => r.json(), () => undefined);
      if (s?.leader && s.leader === s.header?.member_id) return url;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no leader");
}

console.log(`bench:cluster: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients over 3 members (${SHAPES.join(", ")}), ${SECONDS} s each, 256-byte values`);
console.log("bench:cluster: starting a 3-member etcd cluster and a 3-member Concord cluster, preloading keys …");
let etcd: ServerProcess[] = [];
let concord: TestCluster | undefined;
try {
  etcd = await startEtcdCluster(3);
  concord = await TestCluster.start(3);
  await concord.leader();
  const etcdUrls = etcd.map((s) => s.url);
  const concordUrls = concord.members.map((m) => m.clientUrl);
  await preload(etcdUrls, WORKLOADS);
  await preload(concordUrls, WORKLOADS);
  const etcdPids = etcd.map((s) => s.child.pid!);
  const concordPids = concord.members.map((m) => m.process!.child.pid!);
  const shapes = await Promise.all(SHAPES.map(async (name) => ({
    name,
    etcd: { urls: name === "leader" ? [await leaderOf(etcdUrls)] : etcdUrls, pids: etcdPids },
    concord: { urls: name === "leader" ? [await leaderOf(concordUrls)] : concordUrls, pids: concordPids },
  })));
  await compare({ label: "bench:cluster", workloads: WORKLOADS, clients: CLIENTS, seconds: SECONDS, shapes });
} finally {
  await Promise.all(etcd.map((s) => s.stop()));
  await concord?.close();
}
