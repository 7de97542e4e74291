/**
 * Differential, over gRPC: one ordered sequence of unary calls — KV, Lease, Cluster, Maintenance,
 * their error paths included — goes to a fresh Debian etcd 3.4.23 and to a fresh Concord member
 * (server.ts, gRPC on its client port), from a grpc-js client built from the protos Concord serves. Every answer must match: the response message field by field, or the
 * status code and details. Normalised: what differs by nature (cluster and member ids, terms, URLs,
 * sizes, random ids), TTLs that count down, and the order etcd lists leases in (Go map order).
 * One test per call, so a mismatch names it; the few known differences are asserted as such.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { REQUEST_BYTES_MAX } from "../../config/limits.ts";
import { EtcdGrpcClient, type GrpcAnswer, type Message, type ServiceName } from "../../testkit/grpc_client.ts";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";

const b = (s: string) => Buffer.from(s);

/** What one side recorded from earlier answers (an id it was given), for later requests. */
type Vars = Map<string, string>;

interface Case {
  name: string;
  service: ServiceName;
  method: string;
  request: object | ((vars: Vars) => object);
  /** Keys whose values differ by nature in this answer, beyond those every answer has. */
  varying?: string[];
  /** Records something of the answer for later cases. */
  save?: (answer: GrpcAnswer, vars: Vars) => void;
  /** gRPC metadata sent with the call. */
  metadata?: Record<string, string>;
  /** Waits this long first (ms). */
  pauseMs?: number;
  /**
   * etcd 3.4's member update replaces a member's raft attributes whole, so a learner whose URLs
   * are updated is listed as a voter from then on (raft still has it as a learner); Concord keeps
   * it a learner. Compared with etcd's answer once the learner is marked as one again.
   */
  learnerUpdated?: boolean;
}

const cases: Case[] = [];
const call = (name: string, service: ServiceName, method: string, request: Case["request"], more: Partial<Case> = {}) =>
  cases.push({ name, service, method, request, ...more });
const kv = (name: string, method: string, request: Case["request"], more: Partial<Case> = {}) => call(`kv > ${name}`, "KV", method, request, more);

// ---- KV ----
kv("put", "Put", { key: b("foo"), value: b("bar") });
kv("put with prev_kv", "Put", { key: b("foo"), value: b("baz"), prev_kv: true });
kv("put a second key", "Put", { key: b("foo2"), value: b("v2") });
kv("put a third key", "Put", { key: b("fop"), value: b("x") });
kv("range one key", "Range", { key: b("foo") });
kv("range a prefix, descending, limit 1", "Range", { key: b("foo"), range_end: b("fop"), sort_order: 2, sort_target: 0, limit: 1 });
kv("range every key, keys only", "Range", { key: b("\0"), range_end: b("\0"), keys_only: true });
kv("range every key, count only", "Range", { key: b("\0"), range_end: b("\0"), count_only: true });
kv("range sorted by version", "Range", { key: b("\0"), range_end: b("\0"), sort_order: 1, sort_target: 1 });
kv("range sorted by value, descending", "Range", { key: b("\0"), range_end: b("\0"), sort_order: 2, sort_target: 4 });
kv("range at a past revision", "Range", { key: b("foo"), revision: 2 });
kv("range at a future revision", "Range", { key: b("foo"), revision: 100 });
kv("range serializable", "Range", { key: b("foo"), serializable: true });
kv("range with min and max mod revision", "Range", { key: b("\0"), range_end: b("\0"), min_mod_revision: 4, max_mod_revision: 4 });
kv("range with min create revision", "Range", { key: b("\0"), range_end: b("\0"), min_create_revision: 4 });
kv("range without a key", "Range", {});
kv("range a missing key", "Range", { key: b("nope") });
kv("range requiring a leader (clientv3's WithRequireLeader)", "Range", { key: b("foo") }, { metadata: { hasleader: "true" } });
// More keys than one page (member/paged_range.ts): the answer is read and encoded a slice at a time.
for (let i = 0; i < 2_400; i += 128) {
  kv(`put many keys ${i}…`, "Txn", {
    success: Array.from({ length: Math.min(128, 2_400 - i) }, (_, k) => ({
      request_put: { key: b(`many/${String(i + k).padStart(5, "0")}`), value: b(`v${((i + k) * 7919) % 2_400}`) },
    })),
  });
}
kv("range many keys", "Range", { key: b("many/"), range_end: b("many0") });
kv("range many keys, limit over a page", "Range", { key: b("many/"), range_end: b("many0"), limit: 1_500 });
kv("range many keys sorted by value, descending", "Range", { key: b("many/"), range_end: b("many0"), sort_order: 2, sort_target: 4 });
kv("delete many keys", "DeleteRange", { key: b("many/"), range_end: b("many0") });
kv("put without a key", "Put", { value: b("x") });
kv("put ignore_value with a value", "Put", { key: b("foo"), value: b("x"), ignore_value: true });
kv("put ignore_lease with a lease", "Put", { key: b("foo"), lease: "5", ignore_lease: true });
kv("put ignore_value keeps the value", "Put", { key: b("foo"), ignore_value: true, prev_kv: true });
kv("put ignore_value on a missing key", "Put", { key: b("missing"), ignore_value: true });
kv("put with a missing lease", "Put", { key: b("leased"), value: b("v"), lease: "999" });
kv("delete with prev_kv", "DeleteRange", { key: b("foo2"), prev_kv: true });
kv("delete a missing key", "DeleteRange", { key: b("foo2") });
kv("delete without a key", "DeleteRange", {});
kv("txn: value compare succeeds", "Txn", {
  compare: [{ key: b("foo"), target: 3, result: 0, value: b("baz") }],
  success: [{ request_put: { key: b("t1"), value: b("1") } }, { request_range: { key: b("foo") } }],
  failure: [{ request_put: { key: b("t2"), value: b("2") } }],
});
kv("txn: version compare fails", "Txn", {
  compare: [{ key: b("foo"), target: 0, result: 1, version: "100" }],
  success: [{ request_put: { key: b("t3"), value: b("3") } }],
  failure: [{ request_delete_range: { key: b("fop"), prev_kv: true } }, { request_range: { key: b("t1") } }],
});
kv("txn: create revision 0 (put if absent), nested", "Txn", {
  success: [{
    request_txn: {
      compare: [{ key: b("n1"), target: 1, result: 0, create_revision: "0" }],
      success: [{ request_put: { key: b("n1"), value: b("new") } }],
      failure: [{ request_range: { key: b("n1") } }],
    },
  }],
});
kv("txn: the same nested txn again takes its failure branch", "Txn", {
  success: [{
    request_txn: {
      compare: [{ key: b("n1"), target: 1, result: 0, create_revision: "0" }],
      success: [{ request_put: { key: b("n1"), value: b("new") } }],
      failure: [{ request_range: { key: b("n1") } }],
    },
  }],
});
kv("txn: mod revision and lease compares over a range", "Txn", {
  compare: [{ key: b("a"), range_end: b("z"), target: 2, result: 2, mod_revision: "1000" }, { key: b("foo"), target: 4, result: 0, lease: "0" }],
  success: [{ request_range: { key: b("a"), range_end: b("z"), count_only: true } }],
});
kv("txn: no compares, no ops", "Txn", {});
kv("txn: a key put twice", "Txn", { success: [{ request_put: { key: b("d"), value: b("1") } }, { request_put: { key: b("d"), value: b("2") } }] });
kv("txn: a key put and deleted", "Txn", {
  success: [{ request_put: { key: b("d1"), value: b("1") } }, { request_delete_range: { key: b("d0"), range_end: b("d2") } }],
});
kv("txn: one key in both branches of a nested txn", "Txn", {
  success: [{ request_txn: { success: [{ request_put: { key: b("x"), value: b("1") } }], failure: [{ request_put: { key: b("x"), value: b("2") } }] } }],
});
kv("txn: a key put at two levels", "Txn", {
  success: [{ request_put: { key: b("y"), value: b("1") } }, { request_txn: { success: [{ request_put: { key: b("y"), value: b("2") } }] } }],
});
kv("txn: 129 operations", "Txn", { success: Array.from({ length: 129 }, (_, i) => ({ request_put: { key: b(`many${i}`), value: b("v") } })) });
kv("txn: 128 operations", "Txn", { success: Array.from({ length: 128 }, (_, i) => ({ request_put: { key: b(`many${i}`), value: b("v") } })) });
kv("txn: an empty operation", "Txn", { success: [{}] });
kv("txn: a compare without a key", "Txn", { compare: [{ target: 0, result: 0 }] });
kv("txn: a put without a key", "Txn", { failure: [{ request_put: { value: b("v") } }] });
kv("txn: a range at a future revision", "Txn", { success: [{ request_range: { key: b("foo"), revision: 1000 } }] });
kv("txn: a put with a missing lease", "Txn", { success: [{ request_put: { key: b("l"), value: b("v"), lease: "4242" } }] });
kv("compact", "Compact", { revision: 3 });
kv("compact the same revision again", "Compact", { revision: 3 });
kv("compact an older revision", "Compact", { revision: 2 });
kv("compact a future revision", "Compact", { revision: 100000 });
kv("range below the compaction", "Range", { key: b("foo"), revision: 2 });
kv("range at the compaction", "Range", { key: b("foo"), revision: 3 });
kv("txn: a range below the compaction", "Txn", { success: [{ request_range: { key: b("foo"), revision: 2 } }] });
kv("compact physically", "Compact", { revision: 5, physical: true });
// A put's proposal is 27 bytes more than its value here — 26 when etcd's request id fits in 9
// bytes of varint rather than 10, which depends on its member id; Concord counts 10. So: the
// largest value etcd always takes, and two bytes more, which it never takes.
const LARGEST_VALUE = REQUEST_BYTES_MAX - 27;
kv("put the largest value a proposal holds", "Put", { key: b("big"), value: Buffer.alloc(LARGEST_VALUE, 1) });
kv("put two bytes more", "Put", { key: b("big"), value: Buffer.alloc(LARGEST_VALUE + 2, 1) });
kv("txn over the proposal limit", "Txn", { success: [{ request_put: { key: b("big2"), value: Buffer.alloc(REQUEST_BYTES_MAX, 2) } }] });
kv("delete the large value", "DeleteRange", { key: b("big") });

// ---- Lease ----
const lease = (name: string, method: string, request: Case["request"], more: Partial<Case> = {}) => call(`lease > ${name}`, "Lease", method, request, more);
lease("grant with an id", "LeaseGrant", { TTL: "60", ID: "1001" });
lease("grant an id that exists", "LeaseGrant", { TTL: "60", ID: "1001" });
lease("grant below the minimum TTL", "LeaseGrant", { TTL: "1", ID: "1002" });
lease("grant a negative TTL", "LeaseGrant", { TTL: "-5", ID: "1003" });
lease("grant over the maximum TTL", "LeaseGrant", { TTL: "9000000001", ID: "1004" });
lease("grant the maximum TTL", "LeaseGrant", { TTL: "9000000000", ID: "1005" });
lease("grant without an id", "LeaseGrant", { TTL: "30" }, { varying: ["ID"] });
lease("grant a negative id", "LeaseGrant", { TTL: "60", ID: "-7" });
kv("put with a lease", "Put", { key: b("leased/a"), value: b("1"), lease: "1001" });
kv("put another with the lease", "Put", { key: b("leased/b"), value: b("2"), lease: "1001" });
lease("time to live with keys", "LeaseTimeToLive", { ID: "1001", keys: true });
lease("time to live without keys", "LeaseTimeToLive", { ID: "1002" });
lease("time to live of a missing lease", "LeaseTimeToLive", { ID: "5555" });
lease("leases", "LeaseLeases", {}, { varying: ["leases"] });
lease("revoke", "LeaseRevoke", { ID: "1001" });
kv("the lease's keys are gone", "Range", { key: b("leased/"), range_end: b("leased0") });
lease("revoke it again", "LeaseRevoke", { ID: "1001" });
lease("revoke a missing lease", "LeaseRevoke", { ID: "31337" });
lease("time to live after the revoke", "LeaseTimeToLive", { ID: "1001" });
lease("revoke without an id", "LeaseRevoke", {});

// ---- Cluster ----
const cluster = (name: string, method: string, request: Case["request"], more: Partial<Case> = {}) =>
  call(`cluster > ${name}`, "Cluster", method, request, { varying: ["ID"], ...more });
const learnerId = (vars: Vars) => vars.get("learner") ?? "0";
cluster("member list", "MemberList", {});
cluster("add a learner", "MemberAdd", { peerURLs: ["http://127.0.0.1:1"], isLearner: true }, {
  save: (a, vars) => "ok" in a && vars.set("learner", String((a.ok.member as Message).ID)),
});
// etcd derives an added member's id from its URLs and the time in seconds: within the same second
// it answers "member ID already exist" (Concord's ids are random), later "Peer URLs already exists".
cluster("add the same URL again", "MemberAdd", { peerURLs: ["http://127.0.0.1:1"], isLearner: true }, { pauseMs: 1_100 });
cluster("add a second learner", "MemberAdd", { peerURLs: ["http://127.0.0.1:3"], isLearner: true });
cluster("add a bad URL", "MemberAdd", { peerURLs: ["not a url"] });
cluster("add no URL", "MemberAdd", {});
cluster("promote the learner that never started", "MemberPromote", (v: Vars) => ({ ID: learnerId(v) }));
cluster("update the learner's URLs", "MemberUpdate", (v: Vars) => ({ ID: learnerId(v), peerURLs: ["http://127.0.0.1:2"] }), {
  learnerUpdated: true,
});
cluster("update a missing member", "MemberUpdate", { ID: "12345", peerURLs: ["http://127.0.0.1:5"] });
cluster("remove the learner", "MemberRemove", (v: Vars) => ({ ID: learnerId(v) }));
cluster("remove it again", "MemberRemove", (v: Vars) => ({ ID: learnerId(v) }));
cluster("promote a missing member", "MemberPromote", { ID: "12345" });
cluster("member list at the end", "MemberList", {});

// ---- Maintenance ----
const maintenance = (name: string, method: string, request: Case["request"], more: Partial<Case> = {}) =>
  call(`maintenance > ${name}`, "Maintenance", method, request, more);
maintenance("status", "Status", {});
maintenance("alarm list", "Alarm", { action: 0 });
maintenance("alarm list of one member", "Alarm", { action: 0, memberID: "1", alarm: 1 });
maintenance("alarm disarm", "Alarm", { action: 2, alarm: 1 });
// An alarm raised by hand, as `etcdctl alarm` cannot but a client may: it caps every member.
maintenance("raise NOSPACE for member 1", "Alarm", { action: 1, memberID: "1", alarm: 1 });
maintenance("raise it again", "Alarm", { action: 1, memberID: "1", alarm: 1 });
maintenance("alarm list with NOSPACE raised", "Alarm", { action: 0 });
maintenance("status with NOSPACE raised", "Status", {});
kv("put under NOSPACE", "Put", { key: b("nospace"), value: b("x") });
kv("txn that puts under NOSPACE", "Txn", { success: [{ request_put: { key: b("nospace"), value: b("x") } }] });
kv("txn that only deletes under NOSPACE", "Txn", { success: [{ request_delete_range: { key: b("nospace") } }] });
kv("range under NOSPACE", "Range", { key: b("foo") });
kv("delete under NOSPACE", "DeleteRange", { key: b("nospace") });
call("lease > grant under NOSPACE", "Lease", "LeaseGrant", { TTL: 60 });
maintenance("disarm NOSPACE of another member", "Alarm", { action: 2, memberID: "2", alarm: 1 });
maintenance("disarm NOSPACE for member 1", "Alarm", { action: 2, memberID: "1", alarm: 1 });
maintenance("disarm it again", "Alarm", { action: 2, memberID: "1", alarm: 1 });
kv("put once disarmed", "Put", { key: b("nospace"), value: b("x") });
kv("delete it", "DeleteRange", { key: b("nospace") });
// The same requests made the same history on both sides: etcd's own number, on both.
maintenance("hash of the key space now", "HashKV", {});
maintenance("hash of the key space at a past revision", "HashKV", { revision: 7 });
maintenance("hash of the key space at the compaction", "HashKV", { revision: 5 });
maintenance("hash of the key space below the compaction", "HashKV", { revision: 2 });
maintenance("hash of the key space at a future revision", "HashKV", { revision: 100000 });
maintenance("hash of everything", "Hash", {}, { varying: ["hash"] });
maintenance("move leadership to a missing member", "MoveLeader", { targetID: "1" });
maintenance("defragment", "Defragment", {});
kv("a put after it all", "Put", { key: b("last"), value: b("1") });
maintenance("hash of the key space after it all", "HashKV", {});

/** Fields every answer may differ in by nature (two clusters, two disks). */
const VARYING = new Set([
  "cluster_id", "member_id", "raft_term", "name", "peerURLs", "clientURLs", "dbSize", "dbSizeInUse", "leader", "raftIndex",
  "raftTerm", "raftAppliedIndex",
]);

function normalise(value: unknown, varying: Set<string>): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const text = Buffer.from(value).toString("utf8");
    return value.length > 64 ? `<${value.length} bytes, sha256 ${createHash("sha256").update(value).digest("hex").slice(0, 16)}>` : text;
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => normalise(v, varying));
    // Members are listed by id, and ids differ by nature: compare the list as a set.
    return items.every((i) => i !== null && typeof i === "object" && "ID" in i) && varying.has("ID")
      ? items.map((i) => JSON.stringify(i)).sort().map((i) => JSON.parse(i))
      : items;
  }
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    // A time to live counts down: only its presence is compared; etcd lists its keys in Go map order.
    const counting = "grantedTTL" in o;
    const sortKeys = (k: string, v: unknown) => (counting && k === "keys" ? (v as string[]).toSorted() : v);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, varying.has(k) || (counting && k === "TTL") ? `<${k}>` : sortKeys(k, normalise(v, varying))]));
  }
  return value;
}

type Side = { client: EtcdGrpcClient; vars: Vars };
let etcd: ServerProcess;
let concord: ServerProcess;
let sides: { etcd: Side; concord: Side };

before(async () => {
  [etcd, concord] = await Promise.all([startEtcd(), startConcord({ name: "differential" })]);
  sides = {
    etcd: { client: new EtcdGrpcClient(etcd.url.replace("http://", "")), vars: new Map() },
    concord: { client: new EtcdGrpcClient(concord.url.replace("http://", "")), vars: new Map() },
  };
});

after(async () => {
  sides?.etcd.client.close();
  sides?.concord.client.close();
  await Promise.all([etcd?.stop(), concord?.stop()]);
});

async function ask(side: Side, c: Case): Promise<GrpcAnswer> {
  if (c.pauseMs) await new Promise((r) => setTimeout(r, c.pauseMs));
  const request = typeof c.request === "function" ? c.request(side.vars) : c.request;
  const answer = await side.client.call(c.service, c.method, request, c.metadata);
  c.save?.(answer, side.vars);
  return answer;
}

for (const c of cases) {
  test(`grpc differential > ${c.name}`, async () => {
    const [expected, actual] = [await ask(sides.etcd, c), await ask(sides.concord, c)];
    const varying = new Set([...VARYING, ...(c.varying ?? [])]);
    if (c.learnerUpdated && "ok" in expected) {
      const updated = (expected.ok.members as Message[]).find((m) => String(m.ID) === sides.etcd.vars.get("learner"));
      assert.ok(updated && updated.isLearner === undefined, "etcd 3.4 lists the updated learner as a voter");
      updated.isLearner = true;
    }
    if (c.name === "lease > leases" && "ok" in expected && "ok" in actual) {
      // etcd lists leases in Go map order: compare them as sets.
      const ids = (a: { ok: Message }) => ((a.ok.leases as Message[] | undefined) ?? []).map((l) => String(l.ID)).sort();
      assert.deepEqual(ids(actual).filter((id) => id.length < 6), ids(expected).filter((id) => id.length < 6));
      assert.equal(ids(actual).length, ids(expected).length);
    }
    assert.deepEqual(normalise(actual, varying), normalise(expected, varying));
  });
}

test("grpc differential > a message over gRPC's limit is refused with the same code and words", async () => {
  const c: Case = { name: "huge", service: "KV", method: "Put", request: { key: b("huge"), value: Buffer.alloc(2 * 1024 * 1024 + 1) } };
  const [expected, actual] = [await ask(sides.etcd, c), await ask(sides.concord, c)];
  assert.ok("code" in expected && "code" in actual, JSON.stringify([expected, actual]));
  assert.equal(actual.code, expected.code);
  assert.match(expected.details, /^grpc: received message larger than max \(2097164 vs\. 2097152\)$/);
  assert.equal(actual.details, expected.details);
});

test("grpc differential > a snapshot streams the state in pieces that count down, then its SHA-256 (the file is each server's own)", async () => {
  for (const side of [sides.etcd, sides.concord]) {
    const { messages, code, details } = await side.client.stream("Maintenance", "Snapshot", {});
    assert.equal(code, 0, details);
    const blobs = messages.map((m) => (m.blob as Buffer | undefined) ?? Buffer.alloc(0));
    const data = Buffer.concat(blobs.slice(0, -1));
    let sent = 0;
    for (const [i, m] of messages.entries()) {
      if (i < messages.length - 1) sent += blobs[i].length;
      assert.equal(Number(m.remaining_bytes ?? 0), data.length - sent, `message ${i} of ${messages.length}`);
    }
    assert.ok(messages.every((m) => m.header === undefined), "snapshot messages carry no header");
    assert.equal(blobs.at(-1)!.toString("hex"), createHash("sha256").update(data).digest("hex"));
    // etcdctl snapshot save requires this of what it received (its hasChecksum).
    assert.equal((data.length + 32) % 512, 32);
  }
});

// Last, for after it neither side has a quorum: etcd lets a member alone add a voter (to restore a
// cluster from one member's data), though the new voter has not started.
test("grpc differential > cluster > add a voter to a cluster of one", async () => {
  const c: Case = { name: "add a voter", service: "Cluster", method: "MemberAdd", request: { peerURLs: ["http://127.0.0.1:4"] } };
  const varying = new Set([...VARYING, "ID"]);
  const [expected, actual] = [await ask(sides.etcd, c), await ask(sides.concord, c)];
  assert.deepEqual(normalise(actual, varying), normalise(expected, varying));
});

test("grpc differential > raising the alarm NONE: etcd 3.4 crashes (an empty key into its alarm bucket), Concord raises nothing", async () => {
  const answer = await sides.concord.client.call("Maintenance", "Alarm", { action: 1, alarm: 0 });
  assert.deepEqual(answer, { ok: {} });
});
