/**
 * etcd's maintenance calls on the gateway: /v3/maintenance/status and transfer-leadership, and the
 * body of the plain GET /version.
 *
 * Owns: their JSON, in etcd's field names (`dbSize`, `raftIndex`, `targetID`, ...).
 * Never: membership (cluster_routes.ts) or how leadership moves (member/).
 */
import { ETCD_CLUSTER_VERSION, ETCD_SERVER_VERSION } from "../../config/defaults.ts";
import { EtcdError, GrpcCode } from "../../etcd/errors.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { goString, header, jsonObject } from "../etcd_json.ts";
import { type GatewayHandler, votersOnly } from "../handler.ts";
import { emptySchema } from "../schemas/kv.ts";
import { decodeWith, message, spec, uint64 } from "../compat/proto_json.ts";

const moveLeaderSchema = message<{ targetID?: bigint }>([spec("targetID", uint64)]);

function noFields(body: Parameters<GatewayHandler>[1]): EtcdError | undefined {
  const decoded = decodeWith(emptySchema, body);
  return decoded.ok ? undefined : new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
}

export const memberHandlers: Record<string, GatewayHandler> = {
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
      .raw("errors", s.errors.length > 0 ? `[${s.errors.map(goString).join(",")}]` : undefined)
      .int("dbSizeInUse", s.dbSizeInUseBytes)
      .bool("isLearner", s.isLearner)
      .toString();
  },

  "/v3/maintenance/transfer-leadership": votersOnly(async (member: ApiMember, body, caller) => {
    // Root's while auth is on, in the words of etcd's maintenance server.
    const denied = member.auth.maintenance(caller);
    if (denied) return denied;
    const decoded = decodeWith(moveLeaderSchema, body);
    if (!decoded.ok) return new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
    const err = await member.moveLeader((decoded.value.targetID ?? 0n).toString(16));
    // etcd answers a transfer with an empty object: no header.
    return err ?? "{}";
  }),
};

export const versionBody = jsonObject().str("etcdserver", ETCD_SERVER_VERSION).str("etcdcluster", ETCD_CLUSTER_VERSION)
  .toString();
