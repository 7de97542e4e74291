/**
 * The rules every unary gRPC call passes before its handler, and what an exception in a handler
 * becomes — against a stand-in member, so each rule can be set up at will:
 * - a learner serves only Status and serializable Range (etcd 3.4's isRPCSupportedForLearner;
 *   tried against a real etcd learner: MemberList, HashKV, Alarm, Defragment, Snapshot… all
 *   refused with "etcdserver: rpc not supported for learner", code UNAVAILABLE);
 * - a client that sends clientv3's `hasleader: true` is refused "etcdserver: no leader" when the
 *   member knows none;
 * - a handler that throws or rejects is answered UNKNOWN with the error's message, and the server
 *   goes on answering.
 */
import { Metrics } from "../../metrics/registry.ts";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createServer, type Server } from "node:net";
import { type GrpcConnections, grpcConnections } from "../../grpc/server.ts";
import { fromNodeSocket } from "../../runtime/byte_stream.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { EtcdGrpcClient } from "../../testkit/grpc_client.ts";
import { freePort } from "../../testkit/processes.ts";

/** What the stand-in does; each test sets what it needs. */
const behaviour = {
  isLearner: false,
  leader: 7n,
  range: (): unknown => ({ header: { revision: 3 }, kvs: [], more: false, count: 0 }),
  propose: (): Promise<unknown> => Promise.resolve({ header: { revision: 4 }, prevKv: undefined }),
};

const standIn = {
  header: { clusterId: 1n, memberId: 2n, raftTerm: 5 },
  revision: 3,
  get isLearner() {
    return behaviour.isLearner;
  },
  readBarrier: () => undefined,
  range: () => behaviour.range(),
  propose: () => behaviour.propose(),
  members: () => [],
  leaseIds: () => [],
  status: () => ({
    revision: 3, leader: behaviour.leader, raftIndex: 9, raftTerm: 5, raftAppliedIndex: 9, dbSizeBytes: 4096,
    dbSizeInUseBytes: 4096, isLearner: behaviour.isLearner, errors: [],
  }),
  hashKv: () => ({ hash: 1, revision: 3, compactRevision: -1 }),
  hash: () => ({ hash: 1, revision: 3 }),
  // Auth off: no caller, nothing checked.
  auth: { caller: () => undefined, check: () => undefined, admin: () => undefined, maintenance: () => undefined },
  metrics: new Metrics(),
  refusals: { count: () => {} },
} as unknown as ApiMember;

let server: Server;
let grpc: GrpcConnections;
let client: EtcdGrpcClient;

before(async () => {
  grpc = grpcConnections(standIn);
  server = createServer((socket) => grpc.injectConnection(fromNodeSocket(socket)));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  client = new EtcdGrpcClient(`127.0.0.1:${port}`);
});

after(() => {
  client.close();
  grpc.close();
  server.close();
});

const REFUSED = { code: 14, details: "etcdserver: rpc not supported for learner" };
const key = Buffer.from("k");

test("grpc rules > a learner answers Status and serializable Range, and refuses every other call before reading it", async () => {
  behaviour.isLearner = true;
  try {
    const status = await client.call("Maintenance", "Status", {});
    assert.ok("ok" in status && status.ok.isLearner === true, JSON.stringify(status));
    assert.ok("ok" in await client.call("KV", "Range", { key, serializable: true }));
    const refused: [Parameters<EtcdGrpcClient["call"]>[0], string, object][] = [
      ["KV", "Range", { key }],
      // Refused before its own checks: an empty key would be INVALID_ARGUMENT otherwise.
      ["KV", "Put", {}],
      ["KV", "DeleteRange", { key }],
      ["KV", "Txn", {}],
      ["KV", "Compact", { revision: 1 }],
      ["Lease", "LeaseGrant", { TTL: "10" }],
      ["Lease", "LeaseRevoke", { ID: "1" }],
      ["Lease", "LeaseTimeToLive", { ID: "1" }],
      ["Lease", "LeaseLeases", {}],
      ["Cluster", "MemberList", {}],
      ["Cluster", "MemberAdd", { peerURLs: ["http://127.0.0.1:1"] }],
      ["Cluster", "MemberRemove", { ID: "1" }],
      ["Cluster", "MemberUpdate", { ID: "1" }],
      ["Cluster", "MemberPromote", { ID: "1" }],
      ["Maintenance", "Alarm", {}],
      ["Maintenance", "Hash", {}],
      ["Maintenance", "HashKV", {}],
      ["Maintenance", "MoveLeader", { targetID: "1" }],
      ["Maintenance", "Defragment", {}],
    ];
    for (const [service, method, request] of refused) {
      assert.deepEqual(await client.call(service, method, request), REFUSED, `${service}.${method}`);
    }
    const snapshot = await client.stream("Maintenance", "Snapshot", {});
    assert.deepEqual({ code: snapshot.code, details: snapshot.details }, REFUSED);
    assert.equal(snapshot.messages.length, 0);
  } finally {
    behaviour.isLearner = false;
  }
});

test("grpc rules > a client requiring a leader is refused without one, and answered with one", async () => {
  behaviour.leader = 0n;
  try {
    assert.deepEqual(await client.call("KV", "Range", { key }, { hasleader: "true" }), { code: 14, details: "etcdserver: no leader" });
    assert.ok("ok" in await client.call("KV", "Range", { key }), "without the metadata the read is answered");
  } finally {
    behaviour.leader = 7n;
  }
  assert.ok("ok" in await client.call("KV", "Range", { key }, { hasleader: "true" }));
});

test("grpc rules > a handler that throws or rejects is answered UNKNOWN, and the server goes on", async () => {
  const { range, propose } = behaviour;
  const logged = console.error;
  console.error = () => {};
  try {
    behaviour.range = () => {
      throw new Error("boom");
    };
    behaviour.propose = () => Promise.reject(new Error("disk on fire"));
    assert.deepEqual(await client.call("KV", "Range", { key }), { code: 2, details: "concord: internal error: boom" });
    assert.deepEqual(await client.call("KV", "Put", { key }), { code: 2, details: "concord: internal error: disk on fire" });
    // A result of a shape the response builder cannot read fails that call alone.
    behaviour.range = () => ({ header: { revision: 3 }, kvs: [{ key: 5 }], more: false, count: 1 });
    const odd = await client.call("KV", "Range", { key });
    assert.ok("code" in odd, JSON.stringify(odd));
  } finally {
    Object.assign(behaviour, { range, propose });
    console.error = logged;
  }
  const answer = await client.call("KV", "Range", { key });
  assert.deepEqual(answer, { ok: { header: { cluster_id: "1", member_id: "2", revision: "3", raft_term: "5" } } });
});
