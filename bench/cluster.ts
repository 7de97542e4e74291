/**
 * `npm run bench:cluster`: put, txn and linearizable range with 64 clients against a 3-member
 * Concord cluster (on Bun) and a 3-member etcd 3.4 cluster (Debian's etcd-server), alternating in
 * the same run on the same machine, and prints each figure with Concord's ratio to etcd. Clients
 * spread over the members (client c talks to member c mod 3), so two thirds of the writes reach the
 * leader through a follower, as with etcd's clients. Nothing else should run on the machine.
 * Each figure is measured as workloads.ts compares (twice, ABBA, averaged).
 *
 * Flags: --seconds N (per measurement, default 5), --clients 64, --workloads put,txn,range.
 */
import { TestCluster } from "../testkit/cluster.ts";
import { type ServerProcess, startEtcdCluster } from "../testkit/processes.ts";
import { compare, flag, preload } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "64").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,txn,range").split(",");

console.log(`bench:cluster: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients over 3 members, ${SECONDS} s each, 256-byte values`);
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
  await compare({ label: "bench:cluster", workloads: WORKLOADS, clients: CLIENTS, seconds: SECONDS, etcd: etcdUrls, concord: concordUrls });
} finally {
  await Promise.all(etcd.map((s) => s.stop()));
  await concord?.close();
}
