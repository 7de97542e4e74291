/**
 * The peer port's calls at their boundary, in process: each is refused without proof of the
 * cluster's token addressed to this member, a malformed body is answered 400 and reaches nothing, and a forwarded batch travels in
 * one wire form both ways (the POST is answered with the placements the member gave).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Errors as ServerErrors } from "../../etcd/server_errors.ts";
import type { MembershipRequest } from "../../etcd/membership.ts";
import { PEER_PROPOSALS_PER_BATCH_MAX } from "../../config/limits.ts";
import { type Command, encodeCommand } from "../../etcd/commands.ts";
import { decodeFrame, encodeFrame } from "../../peer/codec.ts";
import { CLUSTER_PATH, CONF_CHANGE_PATH, FROM_HEADER, HASHKV_PATH, LEASE_PATH, MESSAGES_PATH, PROOF_HEADER, PROPOSE_PATH } from "../../peer/paths.ts";
import { encodeMessages } from "../../peer/codec.ts";
import type { Message } from "../../raft/types.ts";
import { ANY_MEMBER, peerProof } from "../../peer/proof.ts";
import { createPeerApp } from "../../peer/server.ts";
import type { PeerService } from "../../peer/service.ts";
import type { ForwardedProposal, LeaseQuestion } from "../../peer/types.ts";

const TOKEN = "t0ken";

function fakeMember(leader = true) {
  const calls = {
    forwarded: [] as ForwardedProposal[][], membership: [] as MembershipRequest[], lease: [] as LeaseQuestion[], stepped: [] as Message[],
    hashed: [] as number[],
  };
  const service: PeerService = {
    clusterToken: TOKEN,
    self: "b0b",
    isLeader: leader,
    step: (messages) => void calls.stepped.push(...messages),
    acceptForwarded: (proposals) => {
      calls.forwarded.push([...proposals]);
      return proposals.map((p, i) => ({ rid: p.rid, index: 10 + i, term: 3 }));
    },
    sendFrame: () => false,
    placed: () => {},
    receiveSnapshotChunk: () => "more",
    changeMembership: (request) => {
      calls.membership.push(request);
      return Promise.resolve({ members: [] });
    },
    answerLease: (question) => {
      calls.lease.push(question);
      return Promise.resolve({ ttl: 7 });
    },
    clusterInfo: () => ({ clusterId: "abc", members: [] }),
    hashKv: (revision) => {
      calls.hashed.push(revision);
      return { hash: 1234, revision: 9, compactRevision: 2 };
    },
  };
  return { app: createPeerApp(service, new Set(["peer"])), calls };
}

/** A request from member a11ce to this member (b0b at host "peer"), with proof of `token` addressed to `to` at `host`. */
const post = (app: ReturnType<typeof createPeerApp>, path: string, body: BodyInit, token = TOKEN, to = "b0b", host = "peer") =>
  app.fetch(new Request(`http://peer${path}`, { method: "POST", body, headers: { [PROOF_HEADER]: peerProof(token, "a11ce", to, host), [FROM_HEADER]: "a11ce" } }));

test("peer calls > every call is refused without proof of the cluster's token addressed to this member", async () => {
  const { app, calls } = fakeMember();
  for (const path of [PROPOSE_PATH, CONF_CHANGE_PATH, LEASE_PATH, HASHKV_PATH]) {
    assert.equal((await post(app, path, "{}", "another-token")).status, 403, path);
    // A proof made for another member (as a URL registered with member add is sent) is worthless here.
    assert.equal((await post(app, path, "{}", TOKEN, "e71")).status, 403, path);
    assert.equal((await post(app, path, "{}", TOKEN, ANY_MEMBER)).status, 403, path);
    // A proof made for this member at another host (a URL a client gave it with member update) is worthless here.
    assert.equal((await post(app, path, "{}", TOKEN, "b0b", "trap.example:2380")).status, 403, path);
    // The token itself, as a proof, proves nothing.
    const bare = await app.fetch(new Request(`http://peer${path}`, { method: "POST", body: "{}", headers: { [PROOF_HEADER]: TOKEN, [FROM_HEADER]: "a11ce" } }));
    assert.equal(bare.status, 403, path);
  }
  const cluster = await app.fetch(new Request(`http://peer${CLUSTER_PATH}`));
  assert.equal(cluster.status, 403);
  // The cluster call alone takes a proof addressed to any member: a joining member knows no id yet.
  const joining = await app.fetch(new Request(`http://peer${CLUSTER_PATH}`, { headers: { [PROOF_HEADER]: peerProof(TOKEN, "", ANY_MEMBER, "peer"), [FROM_HEADER]: "" } }));
  assert.equal(joining.status, 200);
  assert.deepEqual(calls, { forwarded: [], membership: [], lease: [], stepped: [], hashed: [] });
});

test("peer calls > malformed bodies are answered 400 and reach nothing", async () => {
  const { app, calls } = fakeMember();
  const bad: [string, BodyInit][] = [
    [CONF_CHANGE_PATH, "not json"],
    [CONF_CHANGE_PATH, JSON.stringify({ op: "add", peerUrls: "http://x:1" })],
    [CONF_CHANGE_PATH, JSON.stringify({ op: "drop", id: "1" })],
    [CONF_CHANGE_PATH, JSON.stringify({ op: "remove", id: 5 })],
    [LEASE_PATH, JSON.stringify({ op: "renew", id: "12x" })],
    [LEASE_PATH, JSON.stringify({ op: "revoke", id: "12" })],
    [PROPOSE_PATH, new Uint8Array([1, 2, 3])],
    [HASHKV_PATH, "not json"],
    [HASHKV_PATH, JSON.stringify({ revision: -1 })],
    [HASHKV_PATH, JSON.stringify({ revision: "7" })],
    // A frame of another kind is not a batch of proposals.
    [PROPOSE_PATH, encodeFrame({ kind: "placed", placements: [] }) as Uint8Array<ArrayBuffer>],
  ];
  for (const [path, body] of bad) {
    const answer = await post(app, path, body);
    assert.equal(answer.status, 400, `${path} ${String(body)}`);
    assert.match(await answer.text(), /^concord: bad/);
  }
  assert.deepEqual(calls, { forwarded: [], membership: [], lease: [], stepped: [], hashed: [] });
});

test("peer calls > a hash question is answered with the member's HashKV at the revision asked", async () => {
  const { app, calls } = fakeMember();
  const answer = await post(app, HASHKV_PATH, JSON.stringify({ revision: 7 }));
  assert.equal(answer.status, 200);
  assert.deepEqual(await answer.json(), { hash: 1234, revision: 9, compactRevision: 2 });
  assert.deepEqual(calls.hashed, [7]);
});

test("peer calls > a forwarded batch over the bound is refused whole", async () => {
  const { app, calls } = fakeMember();
  const proposals = Array.from({ length: PEER_PROPOSALS_PER_BATCH_MAX + 1 }, (_, i) => ({ rid: `r${i}`, data: new Uint8Array([i & 255]) }));
  const answer = await post(app, PROPOSE_PATH, encodeFrame({ kind: "propose", proposals }) as Uint8Array<ArrayBuffer>);
  assert.equal(answer.status, 400);
  assert.equal(calls.forwarded.length, 0);
});

const putOf = (key: string): Command => ({
  op: "put", put: { key: new TextEncoder().encode(key), value: new Uint8Array([1]), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
});

test("peer calls > forwarded writes are answered with where each was placed, in the stream's own form", async () => {
  const { app, calls } = fakeMember();
  const proposals = [{ rid: "a", data: encodeCommand(putOf("k1"), "a") }, { rid: "b", data: encodeCommand(putOf("k2"), "b") }];
  const answer = await post(app, PROPOSE_PATH, encodeFrame({ kind: "propose", proposals }) as Uint8Array<ArrayBuffer>);
  assert.equal(answer.status, 200);
  const frame = decodeFrame(new Uint8Array(await answer.arrayBuffer()));
  assert.deepEqual(frame, { kind: "placed", placements: [{ rid: "a", index: 10, term: 3 }, { rid: "b", index: 11, term: 3 }] });
  assert.deepEqual(calls.forwarded, [proposals]);
});

test("peer calls > a forwarded write that is not a command the members can apply is refused whole with 400, and never reaches the log", async () => {
  const { app, calls } = fakeMember();
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const nested = (depth: number): unknown =>
    depth === 0 ? { kind: "range", range: {} } : { kind: "txn", txn: { compare: [], success: [nested(depth - 1)], failure: [] } };
  const poisons: [string, Uint8Array][] = [
    ["bytes that are not JSON", new Uint8Array([1, 2, 3])],
    ["JSON that is not an object", json([1, 2])],
    ["an unknown operation", json({ op: "explode" })],
    ["a put whose key is a number", json({ op: "put", put: { key: 5, value: { $b: "" }, lease: { $i: "0" }, prevKv: false, ignoreValue: false, ignoreLease: false } })],
    ["a put with an empty key", encodeCommand(putOf(""), "x")],
    ["a binary put cut short", encodeCommand(putOf("k"), "x").subarray(0, 12)],
    ["a binary put with bytes after it", new Uint8Array([...encodeCommand(putOf("k"), "x"), 0])],
    ["a membership change in a plain entry", json({ op: "conf", kind: "addVoter", id: "abc", peerUrls: ["http://127.0.0.1:1"] })],
    ["a txn with an op of no kind", json({ op: "txn", txn: { compare: [], success: [{ kind: "empty" }], failure: [] } })],
    ["txns nested without end", json({ op: "txn", txn: { compare: [], success: [nested(200)], failure: [] } })],
    ["a lease grant without a TTL", json({ op: "leaseGrant", id: { $i: "7" } })],
    ["an alarm of no known type", json({ op: "alarm", action: "ACTIVATE", memberId: "abc", alarm: "FIRE" })],
    ["an alarm for a member id that is not hex", json({ op: "alarm", action: "ACTIVATE", memberId: "'; DROP", alarm: "NOSPACE" })],
  ];
  for (const [what, data] of poisons) {
    const proposals = [{ rid: "good", data: encodeCommand(putOf("k")) }, { rid: "bad", data }];
    const answer = await post(app, PROPOSE_PATH, encodeFrame({ kind: "propose", proposals }) as Uint8Array<ArrayBuffer>);
    assert.equal(answer.status, 400, what);
    assert.match(await answer.text(), /^concord: bad proposal batch: proposal bad: /, what);
  }
  assert.equal(calls.forwarded.length, 0, "none of them, nor the good write beside them, was proposed");
});

test("peer calls > a membership change reaches only a leader; a well-formed one is answered", async () => {
  const follower = fakeMember(false);
  const request = JSON.stringify({ op: "add", peerUrls: ["http://127.0.0.1:9"], isLearner: false });
  const refused = await (await post(follower.app, CONF_CHANGE_PATH, request)).json();
  assert.deepEqual(refused, { error: { code: ServerErrors.leaderChanged.code, message: "etcdserver: leader changed" } });
  assert.equal(follower.calls.membership.length, 0);
  const leader = fakeMember(true);
  const answered = await (await post(leader.app, CONF_CHANGE_PATH, request)).json();
  assert.deepEqual(answered, { result: { members: [] } });
  assert.deepEqual(leader.calls.membership, [{ op: "add", peerUrls: ["http://127.0.0.1:9"], isLearner: false }]);
});

test("peer calls > a lease question is decoded and answered", async () => {
  const { app, calls } = fakeMember();
  const answer = await post(app, LEASE_PATH, JSON.stringify({ op: "renew", id: "42" }));
  assert.deepEqual(await answer.json(), { ttl: 7 });
  assert.deepEqual(calls.lease, [{ op: "renew", id: 42n }]);
});

test("peer calls > Raft messages must come from the member that proved itself: a batch speaking for another is refused whole", async () => {
  const { app, calls } = fakeMember();
  const message = (from: string): Message => ({
    type: "vote", from, to: "b0b", term: 77, logTerm: 1, index: 1, entries: [], commit: 0, reject: false, rejectHint: 0, context: "",
  });
  const forged = await post(app, MESSAGES_PATH, encodeMessages([message("a11ce"), message("c0de")]) as Uint8Array<ArrayBuffer>);
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /a message from c0de in a request from a11ce/);
  assert.deepEqual(calls.stepped, []);
  const own = await post(app, MESSAGES_PATH, encodeMessages([message("a11ce")]) as Uint8Array<ArrayBuffer>);
  assert.equal(own.status, 204);
  assert.equal(calls.stepped.length, 1);
});
