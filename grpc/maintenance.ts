/**
 * etcd's Maintenance service over gRPC: Status, Alarm, Hash, HashKV, MoveLeader, Defragment and
 * Snapshot (a stream: snapshot.ts).
 *
 * Owns: each call's response message in etcd's field names (`dbSize`, `raftIndex`, …) and which
 * calls carry a header (Alarm, MoveLeader and Defragment carry none in etcd). Never: how leadership
 * moves (member/) or how the state is hashed, copied or rewritten (store/).
 */
import { ETCD_SERVER_VERSION } from "../config/defaults.ts";
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

/** AlarmRequest.AlarmAction and AlarmType. */
const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
const ALARM_NONE = 0;
const alarmsUnsupported = new EtcdError(GrpcCode.UNIMPLEMENTED, "concord: alarms (NOSPACE, CORRUPT) are not supported");

/**
 * Concord raises no alarms (it has no space quota nor corruption check yet), so there is never one
 * to list or disarm: etcd's answer then is an empty message, without a header. Raising one by hand
 * is refused rather than pretended.
 */
const alarm: UnaryHandler = (_member, m) => {
  if (int(m, "action") === AlarmAction.ACTIVATE && int(m, "alarm") !== ALARM_NONE) return alarmsUnsupported;
  return {};
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
const defragment: UnaryHandler = (member, _m, caller) => {
  const refused = member.auth.maintenance(caller);
  if (refused) return refused;
  member.defragment();
  return {};
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
