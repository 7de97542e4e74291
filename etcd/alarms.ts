/**
 * etcd's alarms: what a member raises when it runs out of space (NOSPACE) or finds its state
 * differs from the others' (CORRUPT), replicated so every member refuses what the alarm forbids.
 *
 * Owns: the alarm types in etcd's enum order, the alarm command's shape, and how etcd's status
 * lists an alarm (what each alarm forbids: alarm_rules.ts).
 * Never: decides when an alarm is raised (the member's quota and corruption checks do).
 */
import { EtcdError, GrpcCode } from "./errors.ts";

/** AlarmType as etcd's proto numbers it. */
export const ALARM_TYPES = ["NONE", "NOSPACE", "CORRUPT"] as const;
export type AlarmType = (typeof ALARM_TYPES)[number];

/** AlarmRequest.AlarmAction as etcd's proto numbers it. */
export const ALARM_ACTIONS = ["GET", "ACTIVATE", "DEACTIVATE"] as const;
export type AlarmAction = (typeof ALARM_ACTIONS)[number];

/** An alarm raised: by which member (hex id), of which type. */
export interface AlarmMember {
  memberId: string;
  alarm: AlarmType;
}

/** etcd's Alarm call as a replicated command: every action goes through the log, as in etcd. */
export interface AlarmCommand {
  op: "alarm";
  action: AlarmAction;
  memberId: string;
  alarm: AlarmType;
}

export const AlarmErrors = {
  noSpace: new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),
  corrupt: new EtcdError(GrpcCode.DATA_LOSS, "etcdserver: corrupt cluster"),
} as const;

/** What etcd's status lists for an active alarm: the AlarmMember in protobuf's text format. */
export function alarmStatusText(a: AlarmMember): string {
  return `memberID:${BigInt(`0x${a.memberId}`)} alarm:${a.alarm} `;
}
