/**
 * The HTTP application a member serves on its peer URLs: Raft messages (POSTed, or streamed over a
 * WebSocket), snapshot chunks, and the calls each owned by its module (propose, confchange, lease,
 * cluster).
 *
 * Owns: refusing every request and connection without the cluster's token (403), decoding Raft
 * traffic, and composing the calls. Never: client traffic, Raft logic, or the member's internals
 * (it knows only PeerService).
 */
import { Hono } from "hono";
import { PEER_PROPOSALS_PER_BATCH_MAX, SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";
import type { SocketHandler } from "../runtime/serve.ts";
import { addClusterRoute } from "./cluster.ts";
import { decodeFrame, decodeMessages } from "./codec.ts";
import { addConfChangeRoute } from "./confchange.ts";
import { addLeaseRoute } from "./lease.ts";
import { addHashKvRoute } from "./hashkv.ts";
import { CLUSTER_PATH, FROM_HEADER, MESSAGES_PATH, PROOF_HEADER, SNAPSHOT_PATH, STREAM_PATH } from "./paths.ts";
import { addProposeRoute, malformedProposal } from "./propose.ts";
import { ANY_MEMBER, provesToken } from "./proof.ts";
import { badRequest, refusal, text } from "./replies.ts";
import type { PeerService } from "./service.ts";

/**
 * Frames streamed by peers over WebSockets (sender.ts): Raft messages and forwarded writes.
 * `hosts` are this member's own peer host:ports (its listen and advertised peer URLs'): a proof
 * must name one.
 */
export function peerStream(service: PeerService, hosts: ReadonlySet<string>): SocketHandler {
  return {
    path: STREAM_PATH,
    accept: (request) =>
      proven(service, hosts, request, false) ? { peer: request.headers.get(FROM_HEADER) ?? "" } : { refused: refusal() },
    onMessage: (data, peer) => {
      const frame = decodeFrame(data);
      if ("error" in frame) return;
      switch (frame.kind) {
        // A batch with a message from anyone but the member that proved itself is dropped whole.
        case "raft": return frame.messages.every((m) => m.from === peer) ? service.step(frame.messages) : undefined;
        case "propose":
          // A batch with a write that is not a command never reaches the log (the sender's writes time out).
          if (frame.proposals.length > PEER_PROPOSALS_PER_BATCH_MAX || malformedProposal(frame.proposals)) return;
          service.sendFrame(peer, { kind: "placed", placements: service.acceptForwarded(frame.proposals) });
          return;
        case "placed": return service.placed(frame.placements);
      }
    },
  };
}

/**
 * Whether a request proves its sender holds the cluster's token, addressed to this member — or,
 * for the cluster call only (`anyMember`), to any member: a member finding its cluster knows no id yet.
 */
function proven(service: PeerService, hosts: ReadonlySet<string>, request: Request, anyMember: boolean): boolean {
  const proof = request.headers.get(PROOF_HEADER);
  const from = request.headers.get(FROM_HEADER) ?? "";
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  if (!hosts.has(host)) return false;
  return provesToken(proof, service.clusterToken, from, service.self, host) ||
    (anyMember && provesToken(proof, service.clusterToken, from, ANY_MEMBER, host));
}

/** The peer port's app; `hosts` as for peerStream. */
export function createPeerApp(service: PeerService, hosts: ReadonlySet<string>): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    if (!proven(service, hosts, c.req.raw, c.req.path === CLUSTER_PATH)) return refusal();
    await next();
  });

  app.post(MESSAGES_PATH, async (c) => {
    const messages = decodeMessages(new Uint8Array(await c.req.arrayBuffer()));
    if ("error" in messages) return badRequest(`bad message batch: ${messages.error}`);
    const from = c.req.header(FROM_HEADER);
    const stranger = messages.find((m) => m.from !== from);
    if (stranger) return badRequest(`a message from ${stranger.from} in a request from ${from}`);
    service.step(messages);
    return new Response(null, { status: 204 });
  });

  app.post(SNAPSHOT_PATH, async (c) => {
    const [index, offset, total] = ["index", "offset", "total"].map((k) => Number(c.req.query(k)));
    if (![index, offset, total].every((n) => Number.isSafeInteger(n) && n >= 0)) return badRequest("bad snapshot chunk position");
    if (Number(c.req.header("content-length") ?? 0) > SNAPSHOT_CHUNK_BYTES) return badRequest(`a snapshot chunk over ${SNAPSHOT_CHUNK_BYTES} bytes`);
    const sha256 = c.req.query("sha256") ?? "";
    const outcome = service.receiveSnapshotChunk({ index, offset, total, sha256 }, new Uint8Array(await c.req.arrayBuffer()));
    if (typeof outcome === "object") return text(`concord: ${outcome.error}\n`, 409);
    return new Response(null, { status: 204 });
  });

  addProposeRoute(app, service);
  addConfChangeRoute(app, service);
  addLeaseRoute(app, service);
  addClusterRoute(app, service);
  addHashKvRoute(app, service);
  app.notFound(() => text("404 page not found\n", 404));
  return app;
}
