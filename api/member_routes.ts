/**
 * etcd's gateway calls about the member itself: /v3/maintenance/status, /v3/cluster/member/list,
 * and the plain GET endpoints /version and /health.
 *
 * Owns: their JSON, in etcd's field names (`dbSize`, `raftIndex`, `ID`, `peerURLs`, ...).
 * Never: membership changes (they come with the cluster).
 */
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from "../config/defaults.ts";
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import type { ApiMember } from "./api_member.ts";
import { goString, header, jsonObject } from "./etcd_json.ts";
import type { KvHandler } from "./kv_routes.ts";
import { emptySchema } from "./kv_schemas.ts";
import { decodeWith } from "./proto_json.ts";

const urls = (list: string[]) => `[${list.map(goString).join(",")}]`;

function noFields(body: Parameters<KvHandler>[1]): EtcdError | undefined {
  const decoded = decodeWith(emptySchema, body);
  return decoded.ok ? undefined : new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
}

export const memberHandlers: Record<string, KvHandler> = {
  "/v3/maintenance/status": (member: ApiMember, body) => {
    const err = noFields(body);
    if (err) return err;
    const s = member.status();
    return jsonObject()
      .raw("header", header(member.header, s.revision))
      .str("version", ETCD_SERVER_VERSION)
      .int("dbSize", s.dbSizeBytes)
      .int("leader", s.leader)
      .int("raftIndex", s.raftIndex)
      .int("raftTerm", s.raftTerm)
      .int("raftAppliedIndex", s.raftAppliedIndex)
      .int("dbSizeInUse", s.dbSizeInUseBytes)
      .toString();
  },

  "/v3/cluster/member/list": (member: ApiMember, body) => {
    const err = noFields(body);
    if (err) return err;
    // etcd's cluster calls carry no revision in their header.
    const members = member.members().map((m) =>
      jsonObject().int("ID", m.id).str("name", m.name).raw("peerURLs", m.peerUrls.length ? urls(m.peerUrls) : undefined)
        .raw("clientURLs", m.clientUrls.length ? urls(m.clientUrls) : undefined).bool("isLearner", m.isLearner).toString()
    );
    return jsonObject().raw("header", header(member.header, 0)).raw("members", `[${members.join(",")}]`).toString();
  },
};

export const versionBody = jsonObject().str("etcdserver", ETCD_SERVER_VERSION).str("etcdcluster", ETCD_CLUSTER_VERSION)
  .toString();
