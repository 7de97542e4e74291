/**
 * The confchange call: a membership change (etcd's member add, remove, update, promote) a member
 * that does not lead hands to the leader, answered once the leader has applied it.
 *
 * Owns: both ends — the JSON on the wire, checked on arrival, and turning failures into etcd's
 * errors. Never: the rules of a change (member/membership.ts).
 */
import type { Hono } from "hono";
import type { NodeId } from "../raft/types.ts";
import { EtcdError, type GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { MembershipRequest, MembershipResult } from "../etcd/membership.ts";
import { Errors as ServerErrors } from "../etcd/server_errors.ts";
import { peerRequest } from "./client.ts";
import { CONF_CHANGE_PATH } from "./paths.ts";
import { badRequest, json } from "./replies.ts";
import type { PeerService } from "./service.ts";

type WireAnswer = { result?: MembershipResult; error?: { code: GrpcCode; message: string } };

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** The request as sent, or undefined when it is not one. */
export function decodeMembershipRequest(body: unknown): MembershipRequest | undefined {
  const w = body as Record<string, unknown> | null;
  if (typeof w !== "object" || w === null) return undefined;
  switch (w.op) {
    case "add":
      return isStrings(w.peerUrls) && typeof w.isLearner === "boolean" ? { op: "add", peerUrls: w.peerUrls, isLearner: w.isLearner } : undefined;
    case "remove":
    case "promote":
      return typeof w.id === "string" ? { op: w.op, id: w.id } : undefined;
    case "update":
      return typeof w.id === "string" && isStrings(w.peerUrls) ? { op: "update", id: w.id, peerUrls: w.peerUrls } : undefined;
  }
  return undefined;
}

/** Asks the leader at `url` to make a change; a leader that cannot be reached has changed, as etcd says. */
export async function changeAtLeader(
  url: string,
  request: MembershipRequest,
  opts: { token: string; from: string; to: NodeId; timeoutMs: number; init: Record<string, unknown> },
): Promise<MembershipResult | EtcdError> {
  const answer = await peerRequest(url, CONF_CHANGE_PATH, { ...opts, body: JSON.stringify(request) });
  if ("error" in answer || answer.status !== 200) return ServerErrors.leaderChanged;
  const body = JSON.parse(new TextDecoder().decode(answer.body)) as WireAnswer;
  if (body.error) return new EtcdError(body.error.code, body.error.message);
  return body.result ?? ServerErrors.leaderChanged;
}

export function addConfChangeRoute(app: Hono, service: PeerService): void {
  app.post(CONF_CHANGE_PATH, async (c) => {
    const request = decodeMembershipRequest(await c.req.json().catch(() => undefined));
    if (!request) return badRequest("bad membership request");
    // Only the leader changes membership: a follower asked here would pass it on again.
    if (!service.isLeader) return json({ error: { code: ServerErrors.leaderChanged.code, message: ServerErrors.leaderChanged.message } });
    const result = await service.changeMembership(request);
    return json(isEtcdError(result) ? { error: { code: result.code, message: result.message } } : { result });
  });
}
