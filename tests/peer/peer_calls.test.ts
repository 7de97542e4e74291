/**
 * The peer port's calls at their boundary, in process: each is refused without the cluster's
 * token, a malformed body is answered 400 and reaches nothing, and a forwarded batch travels in
 * one wire form both ways (the POST is answered with the placements the member gave).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Errors as ServerErrors } from "../../etcd/server_errors.ts";
import type { MembershipRequest } from "../../etcd/membership.ts";
import { PEER_PROPOSALS_PER_BATCH_MAX } from "../../config/limits.ts";
import { decodeFrame, encodeFrame } from "../../peer/codec.ts";
import { CLUSTER_PATH, CONF_CHANGE_PATH, LEASE_PATH, PROPOSE_PATH, TOKEN_HEADER } from "../../peer/paths.ts";
import { createPeerApp } from "../../peer/server.ts";
import type { PeerService } from "../../peer/service.ts";
import type { ForwardedProposal, LeaseQuestion } from "../../peer/types.ts";

const TOKEN = "t0ken";

function fakeMember(leader = true) {
  const calls = { forwarded: [] as ForwardedProposal[][], membership: [] as MembershipRequest[], lease: [] as LeaseQuestion[] };
  const service: PeerService = {
    clusterToken: TOKEN,
    isLeader: leader,
    step: () => {},
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
  };
  return { app: createPeerApp(service), calls };
}

const post = (app: ReturnType<typeof createPeerApp>, path: string, body: BodyInit, token = TOKEN) =>
  app.fetch(new Request(`http://peer${path}`, { method: "POST", body, headers: { [TOKEN_HEADER]: token } }));

test("peer calls > every call is refused without the cluster's token", async () => {
  const { app, calls } = fakeMember();
  for (const path of [PROPOSE_PATH, CONF_CHANGE_PATH, LEASE_PATH]) {
    const answer = await post(app, path, "{}", "another-token");
    assert.equal(answer.status, 403, path);
  }
  const cluster = await app.fetch(new Request(`http://peer${CLUSTER_PATH}`));
  assert.equal(cluster.status, 403);
  assert.deepEqual(calls, { forwarded: [], membership: [], lease: [] });
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
    // A frame of another kind is not a batch of proposals.
    [PROPOSE_PATH, encodeFrame({ kind: "placed", placements: [] }) as Uint8Array<ArrayBuffer>],
  ];
  for (const [path, body] of bad) {
    const answer = await post(app, path, body);
    assert.equal(answer.status, 400, `${path} ${String(body)}`);
    assert.match(await answer.text(), /^concord: bad/);
  }
  assert.deepEqual(calls, { forwarded: [], membership: [], lease: [] });
});

test("peer calls > a forwarded batch over the bound is refused whole", async () => {
  const { app, calls } = fakeMember();
  const proposals = Array.from({ length: PEER_PROPOSALS_PER_BATCH_MAX + 1 }, (_, i) => ({ rid: `r${i}`, data: new Uint8Array([i & 255]) }));
  const answer = await post(app, PROPOSE_PATH, encodeFrame({ kind: "propose", proposals }) as Uint8Array<ArrayBuffer>);
  assert.equal(answer.status, 400);
  assert.equal(calls.forwarded.length, 0);
});

test("peer calls > forwarded writes are answered with where each was placed, in the stream's own form", async () => {
  const { app, calls } = fakeMember();
  const proposals = [{ rid: "a", data: new Uint8Array([1]) }, { rid: "b", data: new Uint8Array([2, 3]) }];
  const answer = await post(app, PROPOSE_PATH, encodeFrame({ kind: "propose", proposals }) as Uint8Array<ArrayBuffer>);
  assert.equal(answer.status, 200);
  const frame = decodeFrame(new Uint8Array(await answer.arrayBuffer()));
  assert.deepEqual(frame, { kind: "placed", placements: [{ rid: "a", index: 10, term: 3 }, { rid: "b", index: 11, term: 3 }] });
  assert.deepEqual(calls.forwarded, [proposals]);
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
