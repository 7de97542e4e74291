/**
 * Keep-alives and TTL questions, which only the leader can answer (it keeps the time): asked of
 * the leader directly, or, on any other member, handed to it over the peer port (as etcd's
 * followers do over /leases).
 *
 * Owns: the wire form of those two peer calls and turning their failures into etcd's errors.
 * Never: keeps time (lessor.ts) or decides who leads.
 */
import type { EtcdError } from "../etcd/errors.ts";
import type { LeaseId } from "../etcd/types.ts";
import { peerRequest } from "../transport/peer_client.ts";
import { LEASE_PATH } from "../transport/peer_paths.ts";
import type { LeaseTime } from "./lessor.ts";
import { Errors as MemberErrors } from "./member_errors.ts";

/** A question for the leader: renew a lease, or tell its TTL. */
export type LeaseQuestion = { op: "renew"; id: LeaseId } | { op: "timeToLive"; id: LeaseId };
/** The leader's answer: the renewed TTL (0: no such lease), or the TTL left (undefined: no such lease). */
export type LeaseAnswer = { ttl: number } | { time: LeaseTime | undefined };

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
  opts: { token: string; from: string; timeoutMs: number },
): Promise<LeaseAnswer | EtcdError> {
  const answer = await peerRequest(url, LEASE_PATH, { ...opts, body: encodeQuestion(q) });
  if ("error" in answer) return MemberErrors.leaderChanged;
  if (answer.status !== 200) return MemberErrors.leaderChanged;
  const w = JSON.parse(new TextDecoder().decode(answer.body)) as WireAnswer;
  if (w.error !== undefined) return w.error === MemberErrors.noLeader.message ? MemberErrors.noLeader : MemberErrors.leaderChanged;
  return q.op === "renew" ? { ttl: w.ttl ?? 0 } : { time: w.time ?? undefined };
}
