/**
 * etcd's Cluster service over gRPC: MemberAdd, MemberRemove, MemberUpdate, MemberList and
 * MemberPromote. Cluster calls carry no revision in their header, as etcd's.
 *
 * Owns: each call's request and response messages (ids as uint64, `peerURLs`, `clientURLs`,
 * `isLearner`). Never: the rules of changing membership (member/membership.ts has them).
 */
import { isEtcdError } from "../etcd/errors.ts";
import type { MembershipRequest } from "../etcd/membership.ts";
import type { MemberRecord } from "../etcd/types.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ServiceImplementation } from "./calls.ts";
import { bool, int64, strings } from "./requests.ts";
import { fields, header, type ProtoObject } from "./responses.ts";
import { unary, type UnaryHandler } from "./unary.ts";

type MemberShape = { id: bigint; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean };

function member(m: MemberShape): ProtoObject {
  return fields().int("ID", m.id).str("name", m.name).list("peerURLs", m.peerUrls).list("clientURLs", m.clientUrls)
    .bool("isLearner", m.isLearner).done();
}

const fromRecord = (m: MemberRecord) => member({ ...m, id: BigInt(`0x${m.id}`) });
/** A uint64 member id as raft/ names nodes (hex). */
const hexId = (id: bigint) => id.toString(16);

/** Answers a change with the header and every member; `withMember` adds the one the call was about (add). */
function change(toRequest: (m: Parameters<UnaryHandler>[1]) => MembershipRequest, withMember = false): UnaryHandler {
  return async (api, m, caller) => {
    // Membership is root's while auth is on (etcd answers permission denied).
    const denied = isEtcdError(caller) ? caller : api.auth.admin(caller);
    if (denied) return denied;
    const result = await api.changeMembership(toRequest(m));
    if (isEtcdError(result)) return result;
    return fields().message("header", header(api.header, 0))
      .message("member", withMember && result.member ? fromRecord(result.member) : undefined)
      .list("members", result.members.map(fromRecord)).done();
  };
}

const list: UnaryHandler = (api) =>
  fields().message("header", header(api.header, 0)).list("members", api.members().map(member)).done();

export function clusterService(api: ApiMember): ServiceImplementation {
  return {
    MemberAdd: unary(api, change((m) => ({ op: "add", peerUrls: strings(m, "peerURLs"), isLearner: bool(m, "isLearner") }), true)),
    MemberRemove: unary(api, change((m) => ({ op: "remove", id: hexId(int64(m, "ID")) }))),
    MemberUpdate: unary(api, change((m) => ({ op: "update", id: hexId(int64(m, "ID")), peerUrls: strings(m, "peerURLs") }))),
    MemberList: unary(api, list),
    MemberPromote: unary(api, change((m) => ({ op: "promote", id: hexId(int64(m, "ID")) }))),
  };
}
