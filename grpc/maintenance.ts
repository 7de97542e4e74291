/**
 * etcd's Maintenance service over gRPC: Status, Alarm, Hash, HashKV, MoveLeader, Defragment and
 * Snapshot (a stream: snapshot.ts).
 *
 * Owns: each call's response message in etcd's field names (`dbSize`, `raftIndex`, …) and which
 * calls carry a header (Alarm, MoveLeader and Defragment carry none in etcd). Never: how leadership
 * moves (member/) or how the state is hashed, copied or rewritten (store/).
 */
import { ETCD_SERVER_VERSION } from "../config/defaults.ts";
import { ALARM_ACTIONS, ALARM_TYPES, type AlarmMember } from "../etcd/alarms.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ServiceImplementation } from "./calls.ts";
import { int, int64 } from "./requests.ts";
import { fields, header } from "./responses.ts";
import { snapshot } from "./snapshot.ts";
import { unary, type UnaryHandler } from "./unary.ts";

const status: UnaryHandler = (member) => {
  const s = member.status();
  return fields()
    .message("header", header(member.header, s.revision))
    .str("version", ETCD_SERVER_VERSION)
    .int("dbSize", s.dbSizeBytes)
    .int("leader", s.leader)
    .int("raftIndex", s.raftIndex)
    .int("raftTerm", s.raftTerm)
    .int("raftAppliedIndex", s.raftAppliedIndex)
    .list("errors", s.errors)
    .int("dbSizeInUse", s.dbSizeInUseBytes)
    .bool("isLearner", s.isLearner)
    .done();
};

/** An alarm as etcd's AlarmMember: the member's id and the type's number. */
function alarmMember(a: AlarmMember) {
  return fields().int("memberID", BigInt(`0x${a.memberId}`)).int("alarm", ALARM_TYPES.indexOf(a.alarm)).done();
}

/**
 * etcd's Alarm: GET lists the alarms (of a type, or NONE: all), ACTIVATE and DEACTIVATE raise or
 * clear one member's, all through the log. etcd 3.4 answers with the alarms and no header.
 */
const alarm: UnaryHandler = async (member, m) => {
  const action = ALARM_ACTIONS[int(m, "action")];
  const type = ALARM_TYPES[int(m, "alarm")];
  if (action === undefined || type === undefined) return new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: unknown alarm action or type");
  const alarms = await member.alarm(action, int64(m, "memberID").toString(16), type);
  if (isEtcdError(alarms)) return alarms;
  return fields().list("alarms", alarms.map(alarmMember)).done();
};

const hash: UnaryHandler = (member, _m, caller) => {
  const refused = member.auth.maintenance(caller);
  if (refused) return refused;
  const h = member.hash();
  if (isEtcdError(h)) return h;
  return fields().message("header", header(member.header, h.revision)).int("hash", h.hash).done();
};

const hashKv: UnaryHandler = (member, m, caller) => {
  const refused = member.auth.maintenance(caller);
  if (refused) return refused;
  const h = member.hashKv(int(m, "revision"));
  if (isEtcdError(h)) return h;
  return fields().message("header", header(member.header, h.revision)).int("hash", h.hash)
    .int("compact_revision", h.compactRevision).done();
};

/** etcd answers a defragment with an empty message: no header. */
const defragment: UnaryHandler = async (member, _m, caller) => {
  const refused = member.auth.maintenance(caller);
  if (refused) return refused;
  return (await member.defragment()) ?? {};
};

const moveLeader: UnaryHandler = async (member, m, caller) => {
  const refused = member.auth.maintenance(caller);
  if (refused) return refused;
  const err = await member.moveLeader(int64(m, "targetID").toString(16));
  // etcd answers a transfer with an empty message: no header.
  return err ?? {};
};

export function maintenanceService(member: ApiMember): ServiceImplementation {
  return {
    Status: unary(member, status, { servesLearner: () => true }),
    Alarm: unary(member, alarm),
    Hash: unary(member, hash),
    HashKV: unary(member, hashKv),
    MoveLeader: unary(member, moveLeader),
    Defragment: unary(member, defragment),
    Snapshot: snapshot(member),
  };
}
