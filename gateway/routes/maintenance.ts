/**
 * etcd's maintenance calls on the gateway: /v3/maintenance/status, alarm, defragment, hash and
 * transfer-leadership, and the body of the plain GET /version (snapshot: snapshot.ts).
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
import { decodeWith, enumeration, message, spec, uint64 } from "../compat/proto_json.ts";
import { ALARM_ACTIONS, ALARM_TYPES, type AlarmMember } from "../../etcd/alarms.ts";
import { isEtcdError } from "../../etcd/errors.ts";

const moveLeaderSchema = message<{ targetID?: bigint }>([spec("targetID", uint64)]);
const alarmSchema = message<{ action?: number; memberID?: bigint; alarm?: number }>([
  spec("action", enumeration("etcdserverpb.AlarmRequest_AlarmAction", ALARM_ACTIONS)),
  spec("memberID", uint64),
  spec("alarm", enumeration("etcdserverpb.AlarmType", ALARM_TYPES)),
]);

/** An alarm as etcd's gateway writes an AlarmMember: the id as a string, the type by name (NONE left out). */
function alarmJson(a: AlarmMember): string {
  return jsonObject().int("memberID", BigInt(`0x${a.memberId}`)).raw("alarm", a.alarm === "NONE" ? undefined : `"${a.alarm}"`).toString();
}

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

  // Every action goes through the log, as in etcd; 3.4 answers the alarms with no header.
  "/v3/maintenance/alarm": async (member: ApiMember, body) => {
    const decoded = decodeWith(alarmSchema, body);
    if (!decoded.ok) return new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
    const { action = 0, memberID = 0n, alarm = 0 } = decoded.value;
    const type = ALARM_TYPES[alarm];
    if (type === undefined || ALARM_ACTIONS[action] === undefined) return new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: unknown alarm action or type");
    const alarms = await member.alarm(ALARM_ACTIONS[action], memberID.toString(16), type);
    if (isEtcdError(alarms)) return alarms;
    return jsonObject().raw("alarms", alarms.length > 0 ? `[${alarms.map(alarmJson).join(",")}]` : undefined).toString();
  },

  "/v3/maintenance/defragment": async (member: ApiMember, body, caller) => {
    const denied = member.auth.maintenance(caller);
    if (denied) return denied;
    const err = noFields(body);
    if (err) return err;
    // etcd answers a defragment with an empty object: no header.
    return (await member.defragment()) ?? "{}";
  },

  // etcd's gateway maps Hash and HashKV to this one path; Hash answers (unknown fields are ignored).
  "/v3/maintenance/hash": (member: ApiMember, _body, caller) => {
    const denied = member.auth.maintenance(caller);
    if (denied) return denied;
    const h = member.hash();
    if (isEtcdError(h)) return h;
    return jsonObject().raw("header", header(member.header, h.revision)).raw("hash", h.hash === 0 ? undefined : String(h.hash)).toString();
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
