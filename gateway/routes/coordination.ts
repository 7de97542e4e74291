/**
 * etcd's lock and election gateway: /v3/lock/lock and /unlock; /v3/election/campaign, /proclaim,
 * /leader, /observe (a stream of JSON lines, as etcd's gateway streams a server-streaming call)
 * and /resign — answered as etcd 3.4's gateway answers them.
 *
 * Owns: each call's decoding and the responses' JSON, and the observe stream (held back while the
 * client reads slowly). Never: the recipes (coordination/ has them).
 */
import { campaign, type LeaderKey, leader, observe, proclaim, resign } from "../../coordination/election.ts";
import { lock, unlock } from "../../coordination/lock.ts";
import { type EtcdError, isEtcdError } from "../../etcd/errors.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { KEEP_ALIVE_STREAM_QUEUED_BYTES_MAX } from "../../config/limits.ts";
import { header, jsonObject, keyValue } from "../etcd_json.ts";
import { streamErrorLine } from "../http.ts";
import { ResponseBody } from "../response_body.ts";
import { type Answer, type Caller, decodeBody, type GatewayHandler } from "../handler.ts";
import type { JsonValue } from "../compat/go_json.ts";
import type { FieldSchema, WireMessage } from "../compat/proto_json.ts";
import {
  bytesOf, campaignSchema, leaderKeyOf, leaderSchema, leaseOf, lockSchema, proclaimSchema, resignSchema, unlockSchema,
} from "../schemas/coordination.ts";

/** A handler of a decoded request with its caller known (a token naming no one is refused first). */
function call(
  schema: FieldSchema<WireMessage>,
  handle: (member: ApiMember, request: WireMessage, caller: Exclude<Caller, EtcdError>, signal: AbortSignal) => Promise<Answer>,
): GatewayHandler {
  return (member: ApiMember, body: JsonValue, caller: Caller, signal: AbortSignal) => {
    if (isEtcdError(caller)) return caller;
    const request = decodeBody(schema, body);
    if (isEtcdError(request)) return request;
    return handle(member, request, caller, signal);
  };
}

const headerOnly = (member: ApiMember, revision: number | EtcdError): Answer =>
  isEtcdError(revision) ? revision : jsonObject().raw("header", header(member.header, revision)).toString();

const leaderJson = (l: LeaderKey) => jsonObject().bytes("name", l.name).bytes("key", l.key).int("rev", l.rev).int("lease", l.lease).toString();

export const lockHandlers: Record<string, GatewayHandler> = {
  "/v3/lock/lock": call(lockSchema, async (member, request, caller, signal) => {
    const locked = await lock({ member, caller, signal }, bytesOf(request, "name"), leaseOf(request, "lease"));
    if (isEtcdError(locked)) return locked;
    return jsonObject().raw("header", header(member.header, locked.revision)).bytes("key", locked.key).toString();
  }),
  "/v3/lock/unlock": call(unlockSchema, async (member, request, caller, signal) =>
    headerOnly(member, await unlock({ member, caller, signal }, bytesOf(request, "key")))),
};

export const electionHandlers: Record<string, GatewayHandler> = {
  "/v3/election/campaign": call(campaignSchema, async (member, request, caller, signal) => {
    const won = await campaign({ member, caller, signal }, bytesOf(request, "name"), leaseOf(request, "lease"), bytesOf(request, "value"));
    if (isEtcdError(won)) return won;
    return jsonObject().raw("header", header(member.header, won.revision)).raw("leader", leaderJson(won.leader)).toString();
  }),
  "/v3/election/proclaim": call(proclaimSchema, async (member, request, caller, signal) =>
    headerOnly(member, await proclaim({ member, caller, signal }, leaderKeyOf(request), bytesOf(request, "value")))),
  "/v3/election/leader": call(leaderSchema, async (member, request, caller, signal) => {
    const found = await leader({ member, caller, signal }, bytesOf(request, "name"));
    if (isEtcdError(found)) return found;
    return jsonObject().raw("header", header(member.header, found.revision)).raw("kv", keyValue(found.kv)).toString();
  }),
  "/v3/election/resign": call(resignSchema, async (member, request, caller, signal) =>
    headerOnly(member, await resign({ member, caller, signal }, leaderKeyOf(request)))),
  "/v3/election/observe": call(leaderSchema, (member, request, caller, signal) => {
    // Ends when the client goes away, whichever side notices first.
    const gone = new AbortController();
    signal.addEventListener("abort", () => gone.abort(), { once: true });
    const out = new ResponseBody(KEEP_ALIVE_STREAM_QUEUED_BYTES_MAX, { pulled: () => member.watches.wake(), cancelled: () => gone.abort() });
    // As etcd's gateway, the response starts with the first line: with no leader yet, nothing is sent.
    const { promise: started, resolve: start } = Promise.withResolvers<ReadableStream<Uint8Array>>();
    void observe({ member, caller, signal: gone.signal }, bytesOf(request, "name"), (revision, kv) => {
      out.write(`{"result":${jsonObject().raw("header", header(member.header, revision)).raw("kv", keyValue(kv)).toString()}}\n`);
      start(out.stream);
    }, () => out.ready).then((ended) => {
      if (ended && !gone.signal.aborted) out.write(streamErrorLine(ended));
      out.close();
      start(out.stream);
    });
    return started;
  }),
};
