/**
 * etcd's lease gateway: grant, revoke, time-to-live and leases (the last three also under the
 * older /v3/kv/lease/), and keep-alive, whose body is a stream of requests answered one line each.
 *
 * Owns: each call's decoding, etcd's checks in etcd's order (a grant's rules are every surface's:
 * etcd/lease_grant.ts) and the responses' JSON. Never: keeps time (the leader's lessor does) or
 * changes leases except by proposing.
 */
import { KEEP_ALIVE_STREAM_QUEUED_BYTES_MAX } from "../../config/limits.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../../etcd/errors.ts";
import { leaseGrantCommand } from "../../etcd/lease_grant.ts";
import type { LeaseGrantResponse, LeaseId } from "../../etcd/types.ts";
import type { ApiMember } from "../../member/client_api.ts";
import type { HeaderContext } from "../../etcd/types.ts";
import { header, jsonObject } from "../etcd_json.ts";
import { errorResponse, streamErrorLine, streamErrorResponse } from "../http.ts";
import { jsonValues } from "../compat/json_stream.ts";
import { ResponseBody } from "../response_body.ts";
import type { JsonValue } from "../compat/go_json.ts";
import { type Answer, type Caller, decodeBody, type GatewayHandler, notForLearner, votersOnly } from "../handler.ts";
import { leaseGrantSchema, leaseIdOf, leaseIdSchema, leaseTimeToLiveSchema, ttlOf, wantsKeys } from "../schemas/watch_lease.ts";


function grantJson(ctx: HeaderContext, r: LeaseGrantResponse): string {
  return jsonObject().raw("header", header(ctx, r.header.revision)).int("ID", r.id).int("TTL", r.ttl).toString();
}

async function grant(member: ApiMember, body: JsonValue, caller: Caller): Promise<Answer> {
  if (isEtcdError(caller)) return caller;
  const request = decodeBody(leaseGrantSchema, body);
  if (isEtcdError(request)) return request;
  const command = leaseGrantCommand({ id: leaseIdOf(request), ttlSeconds: ttlOf(request) }, member.leases.minTtl);
  if (isEtcdError(command)) return command;
  const result = await member.propose(command, caller);
  if (isEtcdError(result)) return result;
  return grantJson(member.header, result as LeaseGrantResponse);
}

async function revoke(member: ApiMember, body: JsonValue, caller: Caller): Promise<Answer> {
  if (isEtcdError(caller)) return caller;
  const request = decodeBody(leaseIdSchema, body);
  if (isEtcdError(request)) return request;
  const result = await member.propose({ op: "leaseRevoke", id: leaseIdOf(request) }, caller);
  if (isEtcdError(result)) return result;
  return jsonObject().raw("header", header(member.header, result!.header.revision)).toString();
}

async function timeToLive(member: ApiMember, body: JsonValue): Promise<Answer> {
  const request = decodeBody(leaseTimeToLiveSchema, body);
  if (isEtcdError(request)) return request;
  const id = leaseIdOf(request);
  const time = await member.leases.timeToLive(id);
  if (isEtcdError(time)) return time;
  const out = jsonObject().raw("header", header(member.header, member.revision)).int("ID", id);
  // etcd answers a lease it does not know with TTL -1 and nothing else.
  if (time === undefined) return out.int("TTL", -1).toString();
  const keys = wantsKeys(request) ? member.leaseKeys(id) : [];
  return out.int("TTL", time.ttl).int("grantedTTL", time.grantedTtl).list("keys", keys, (k) => `"${k.toBase64()}"`).toString();
}

function leases(member: ApiMember, body: JsonValue): Answer {
  const request = decodeBody(leaseIdSchema, body);
  if (isEtcdError(request)) return request;
  return jsonObject().raw("header", header(member.header, member.revision))
    .list("leases", member.leaseIds(), (id) => jsonObject().int("ID", id).toString()).toString();
}

/** etcd 3.4's gateway serves revoke, time-to-live and leases on the old /v3/kv/lease/ paths too, but not grant. */
export const leaseHandlers: Record<string, GatewayHandler> = {
  "/v3/lease/grant": votersOnly(grant),
  "/v3/lease/revoke": votersOnly(revoke),
  "/v3/kv/lease/revoke": votersOnly(revoke),
  "/v3/lease/timetolive": votersOnly(timeToLive),
  "/v3/kv/lease/timetolive": votersOnly(timeToLive),
  "/v3/lease/leases": votersOnly(leases),
  "/v3/kv/lease/leases": votersOnly(leases),
};


/**
 * POST /v3/lease/keepalive: every request in the body renews its lease and is answered by a line
 * `{"result":{"header":…,"ID":…,"TTL":…}}` (TTL 0: no such lease), as soon as it arrives.
 */
export async function keepAlive(member: ApiMember, request: Request): Promise<Response> {
  if (member.isLearner) return errorResponse(notForLearner);
  const values = jsonValues(request.body);
  const first = await values.next();
  let firstId: LeaseId | undefined;
  if (!first.done) {
    // As etcd's gateway: a first request that does not decode is an error of code UNKNOWN (500);
    // one too long to read fails the stream alone (429).
    if (!first.value.ok) {
      const e = first.value.error;
      if (e.code !== GrpcCode.RESOURCE_EXHAUSTED) return errorResponse(e);
      member.refusals.count("GATEWAY_BODY_BYTES_MAX");
      return streamErrorResponse(e);
    }
    const decoded = decodeBody(leaseIdSchema, first.value.value);
    if (isEtcdError(decoded)) return errorResponse(new EtcdError(GrpcCode.UNKNOWN, decoded.message));
    firstId = leaseIdOf(decoded);
  }
  const out = new ResponseBody(KEEP_ALIVE_STREAM_QUEUED_BYTES_MAX);
  const answer = async (id: LeaseId): Promise<boolean> => {
    const ttl = await member.leases.renew(id);
    if (isEtcdError(ttl)) {
      out.write(streamErrorLine(ttl));
      return false;
    }
    const result = jsonObject().raw("header", header(member.header, member.revision)).int("ID", id).int("TTL", ttl).toString();
    out.write(`{"result":${result}}\n`);
    return true;
  };
  // A renewal that fails ends the stream with its error line at once, as etcd's does. A client
  // that sends keep-alives and reads no answers is read no further once its answers fill the queue.
  (async () => {
    if (firstId === undefined || await answer(firstId)) {
      for await (const value of values) {
        await out.whenWritable();
        if (out.closed) break;
        if (!value.ok) {
          if (value.error.code === GrpcCode.RESOURCE_EXHAUSTED) {
            member.refusals.count("GATEWAY_BODY_BYTES_MAX");
            out.write(streamErrorLine(value.error));
          }
          break;
        }
        const decoded = decodeBody(leaseIdSchema, value.value);
        if (isEtcdError(decoded) || !(await answer(leaseIdOf(decoded)))) break;
      }
    }
    // Releases the request body however the loop ended (also when it never began).
    await values.return(undefined);
    out.close();
  })().catch(() => {
    // The request body failed: the client went away.
  });
  return new Response(out.stream, { headers: { "Content-Type": "application/json" } });
}
