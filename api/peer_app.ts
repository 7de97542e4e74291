/**
 * The HTTP application a member serves on its peer URLs: Raft messages (POSTed, or streamed over a
 * WebSocket), snapshot chunks, writes and membership changes handed over by followers, and the
 * cluster's members for a joining member.
 *
 * Owns: refusing every request and connection without the cluster's token (403) and turning peer
 * requests into calls on the member. Never: client traffic or Raft logic.
 */
import { Hono } from "hono";
import { isEtcdError } from "../etcd/errors.ts";
import type { Member } from "../member/member.ts";
import type { MembershipRequest } from "../member/membership.ts";
import { decodeBlobs, decodeFrame, decodeMessages } from "../transport/codec.ts";
import {
  CLUSTER_PATH, CONF_CHANGE_PATH, FROM_HEADER, LEASE_PATH, MESSAGES_PATH, PROPOSE_PATH, SNAPSHOT_PATH, STREAM_PATH,
  TOKEN_HEADER,
} from "../transport/peer_paths.ts";
import { decodeQuestion, encodeAnswer } from "../member/lease_requests.ts";
import type { SocketHandler } from "../runtime/serve.ts";

const text = (body: string, status: number) => new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

const refusal = () => text("concord: request refused: it does not carry this cluster's token\n", 403);

/** Frames streamed by peers over WebSockets (peer_sender.ts): Raft messages and forwarded writes. */
export function peerStream(member: Member): SocketHandler {
  return {
    path: STREAM_PATH,
    accept: (request) =>
      request.headers.get(TOKEN_HEADER) === member.clusterToken
        ? { peer: request.headers.get(FROM_HEADER) ?? "" }
        : { refused: refusal() },
    onMessage: (data, peer) => {
      const frame = decodeFrame(data);
      if ("error" in frame) return;
      switch (frame.kind) {
        case "raft": return member.step(frame.messages);
        case "propose": return member.acceptForwardedFrame(peer, frame.proposals);
        case "placed": return member.placed(frame.placements);
      }
    },
  };
}

export function createPeerApp(member: Member): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    if (c.req.header(TOKEN_HEADER) !== member.clusterToken) return refusal();
    await next();
  });

  app.post(MESSAGES_PATH, async (c) => {
    const messages = decodeMessages(new Uint8Array(await c.req.arrayBuffer()));
    if ("error" in messages) return text(`concord: bad message batch: ${messages.error}\n`, 400);
    member.step(messages);
    return new Response(null, { status: 204 });
  });

  app.post(SNAPSHOT_PATH, async (c) => {
    const [index, offset, total] = ["index", "offset", "total"].map((k) => Number(c.req.query(k)));
    if (![index, offset, total].every((n) => Number.isSafeInteger(n) && n >= 0)) return text("concord: bad snapshot chunk position\n", 400);
    const outcome = member.receiveSnapshotChunk(index, offset, total, new Uint8Array(await c.req.arrayBuffer()));
    if (typeof outcome === "object") return text(`concord: ${outcome.error}\n`, 409);
    return new Response(null, { status: 204 });
  });

  app.post(PROPOSE_PATH, async (c) => {
    const data = decodeBlobs(new Uint8Array(await c.req.arrayBuffer()));
    if ("error" in data) return text(`concord: bad proposal batch: ${data.error}\n`, 400);
    return json(member.acceptForwarded(data));
  });

  app.post(CONF_CHANGE_PATH, async (c) => {
    const request = await c.req.json<MembershipRequest>();
    // Only the leader changes membership: a follower asked here would pass it on again.
    if (!member.isLeader) return json({ error: { code: 14, message: "etcdserver: leader changed" } });
    const result = await member.changeMembership(request);
    return json(isEtcdError(result) ? { error: { code: result.code, message: result.message } } : { result });
  });

  app.post(LEASE_PATH, async (c) => {
    const question = decodeQuestion(await c.req.json());
    if (!question) return text("concord: bad lease question\n", 400);
    return new Response(encodeAnswer(await member.leases.answer(question)), { headers: { "content-type": "application/json" } });
  });

  app.get(CLUSTER_PATH, () => json(member.clusterInfo()));
  app.notFound(() => text("404 page not found\n", 404));
  return app;
}

