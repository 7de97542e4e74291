/**
 * etcd's cluster calls on the gateway: /v3/cluster/member/list, add, remove, update and promote.
 *
 * Owns: their request schemas and response JSON in etcd's field names (`ID`, `peerURLs`,
 * `clientURLs`, `isLearner`); cluster calls carry no revision in their header. Never: the rules of
 * changing membership (member/membership.ts has them).
 */
import { EtcdError, GrpcCode, isEtcdError } from "../../etcd/errors.ts";
import type { MemberRecord } from "../../etcd/types.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { goString, header, jsonObject } from "../etcd_json.ts";
import type { JsonValue } from "../compat/go_json.ts";
import { type Caller, type GatewayHandler, votersOnly } from "../handler.ts";
import { emptySchema } from "../schemas/kv.ts";
import { bool, decodeWith, type FieldSchema, message, repeated, spec, string, uint64 } from "../compat/proto_json.ts";

type Wire = { ID?: bigint; peerURLs?: string[]; isLearner?: boolean };

const addSchema = message<Wire>([spec("peerURLs", repeated(string)), spec("isLearner", bool)]);
const idSchema = message<Wire>([spec("ID", uint64)]);
const updateSchema = message<Wire>([spec("ID", uint64), spec("peerURLs", repeated(string))]);

const urls = (list: string[]) => `[${list.map(goString).join(",")}]`;

export function memberJson(m: { id: bigint; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }): string {
  return jsonObject().int("ID", m.id).str("name", m.name).raw("peerURLs", m.peerUrls.length ? urls(m.peerUrls) : undefined)
    .raw("clientURLs", m.clientUrls.length ? urls(m.clientUrls) : undefined).bool("isLearner", m.isLearner).toString();
}

const fromRecord = (m: MemberRecord) => memberJson({ ...m, id: BigInt(`0x${m.id}`) });

function decode(schema: FieldSchema<Wire>, body: JsonValue): Wire | EtcdError {
  const decoded = decodeWith(schema, body);
  return decoded.ok ? decoded.value : new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
}

const hex = (id: bigint | undefined) => (id ?? 0n).toString(16);

/** Answers the change with the header and every member; `withMember` adds the one added. */
async function change(member: ApiMember, caller: Caller, request: Parameters<ApiMember["changeMembership"]>[0], withMember = false) {
  // Membership is root's while auth is on (etcd answers permission denied).
  const denied = isEtcdError(caller) ? caller : member.auth.admin(caller);
  if (denied) return denied;
  const result = await member.changeMembership(request);
  if (isEtcdError(result)) return result;
  return jsonObject().raw("header", header(member.header, 0))
    .raw("member", withMember && result.member ? fromRecord(result.member) : undefined)
    .raw("members", `[${result.members.map(fromRecord).join(",")}]`).toString();
}

const handlers: Record<string, GatewayHandler> = {
  "/v3/cluster/member/list": (member, body) => {
    const decoded = decodeWith(emptySchema, body);
    if (!decoded.ok) return new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
    return jsonObject().raw("header", header(member.header, 0))
      .raw("members", `[${member.members().map(memberJson).join(",")}]`).toString();
  },

  "/v3/cluster/member/add": (member, body, caller) => {
    const r = decode(addSchema, body);
    if (isEtcdError(r)) return r;
    return change(member, caller, { op: "add", peerUrls: r.peerURLs ?? [], isLearner: r.isLearner ?? false }, true);
  },

  "/v3/cluster/member/remove": (member, body, caller) => {
    const r = decode(idSchema, body);
    return isEtcdError(r) ? r : change(member, caller, { op: "remove", id: hex(r.ID) });
  },

  "/v3/cluster/member/update": (member, body, caller) => {
    const r = decode(updateSchema, body);
    return isEtcdError(r) ? r : change(member, caller, { op: "update", id: hex(r.ID), peerUrls: r.peerURLs ?? [] });
  },

  "/v3/cluster/member/promote": (member, body, caller) => {
    const r = decode(idSchema, body);
    return isEtcdError(r) ? r : change(member, caller, { op: "promote", id: hex(r.ID) });
  },
};

/** A learner serves none of them, as etcd's interceptor refuses every cluster call on a learner. */
export const clusterHandlers: Record<string, GatewayHandler> = Object.fromEntries(
  Object.entries(handlers).map(([path, handler]) => [path, votersOnly(handler)]),
);
