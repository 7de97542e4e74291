/**
 * The lease call: keep-alives and TTL questions, which only the leader can answer (it keeps the
 * time), handed to it by any other member over the peer port (as etcd's followers do over /leases).
 *
 * Owns: both ends — the wire form of those two questions and their answers, and turning failures
 * into etcd's errors. Never: keeps time (member/lessor.ts) or decides who leads.
 */
import type { Hono } from "hono";
import type { NodeId } from "../raft/types.ts";
import type { EtcdError } from "../etcd/errors.ts";
import type { LeaseTime } from "../etcd/types.ts";
import { peerRequest } from "./client.ts";
import { LEASE_PATH } from "./paths.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { badRequest } from "./replies.ts";
import type { PeerService } from "./service.ts";
import type { LeaseAnswer, LeaseQuestion } from "./types.ts";


type Wire = { op: string; id: string };
type WireAnswer = { ttl?: number; time?: LeaseTime | null; error?: string };

export function encodeQuestion(q: LeaseQuestion): string {
  return JSON.stringify({ op: q.op, id: q.id.toString() });
}

export function decodeQuestion(body: unknown): LeaseQuestion | undefined {
  const w = body as Wire;
  if (typeof w?.id !== "string" || !/^-?\d+$/.test(w.id)) return undefined;
  if (w.op === "renew" || w.op === "timeToLive") return { op: w.op, id: BigInt(w.id) };
  return undefined;
}

export function encodeAnswer(a: LeaseAnswer | EtcdError): string {
  if ("message" in a) return JSON.stringify({ error: a.message });
  return JSON.stringify("ttl" in a ? { ttl: a.ttl } : { time: a.time ?? null });
}

/** Asks the leader at `url`; any failure to reach it or to get an answer is etcd's "leader changed". */
export async function askLeader(
  url: string,
  q: LeaseQuestion,
  opts: { token: string; from: string; to: NodeId; timeoutMs: number; init: Record<string, unknown> },
): Promise<LeaseAnswer | EtcdError> {
  const answer = await peerRequest(url, LEASE_PATH, { ...opts, body: encodeQuestion(q) });
  if ("error" in answer) return MemberErrors.leaderChanged;
  if (answer.status !== 200) return MemberErrors.leaderChanged;
  const w = JSON.parse(new TextDecoder().decode(answer.body)) as WireAnswer;
  if (w.error !== undefined) return w.error === MemberErrors.noLeader.message ? MemberErrors.noLeader : MemberErrors.leaderChanged;
  return q.op === "renew" ? { ttl: w.ttl ?? 0 } : { time: w.time ?? undefined };
}

export function addLeaseRoute(app: Hono, service: PeerService): void {
  app.post(LEASE_PATH, async (c) => {
    const question = decodeQuestion(await c.req.json().catch(() => undefined));
    if (!question) return badRequest("bad lease question");
    return new Response(encodeAnswer(await service.answerLease(question)), { headers: { "content-type": "application/json" } });
  });
}
