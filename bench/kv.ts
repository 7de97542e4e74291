/**
 * `npm run bench`: put, range and txn with 1, 16 and 64 concurrent clients against Concord (one
 * member, on Bun) and against Debian's etcd 3.4 (one member), alternating in the same run on the
 * same machine, and prints each figure with Concord's ratio to etcd (workloads.ts: measured twice,
 * ABBA, averaged), with the CPU time each server spent per operation. Nothing else should run on
 * the machine meanwhile.
 *
 * Flags: --seconds N (per measurement, default 5), --clients 1,16,64, --workloads put,range,txn.
 */
import { startConcord, startEtcd } from "../testkit/processes.ts";
import { compare, flag, KEY_SPACE, preload } from "./workloads.ts";

const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = flag("clients", "1,16,64").split(",").map(Number);
const WORKLOADS = flag("workloads", "put,range,txn").split(",");

console.log(`bench: ${WORKLOADS.join(", ")} × ${CLIENTS.join("/")} clients, ${SECONDS} s each, 256-byte values, ${KEY_SPACE} keys`);
console.log("bench: starting etcd and Concord, preloading keys …");
const [etcd, concord] = await Promise.all([startEtcd("bench-etcd"), startConcord({ name: "bench" })]);
try {
  await preload([etcd.url], WORKLOADS);
  await preload([concord.url], WORKLOADS);
  await compare({
    label: "bench", workloads: WORKLOADS, clients: CLIENTS, seconds: SECONDS,
    shapes: [{ etcd: { urls: [etcd.url], pids: [etcd.child.pid!] }, concord: { urls: [concord.url], pids: [concord.child.pid!] } }],
  });
} finally {
  await Promise.all([etcd.stop(), concord.stop()]);
}
