/**
 * What each alarm forbids a command as it applies: etcd 3.4's capped applier (NOSPACE) and corrupt
 * applier (CORRUPT).
 *
 * Owns: those rules. Never: raises or stores alarms (member/, store/alarms.ts).
 */
import { AlarmErrors, type AlarmType } from "./alarms.ts";
import type { Command } from "./commands.ts";
import type { EtcdError } from "./errors.ts";

/** Which alarms are raised (store/alarms.ts answers). */
export interface RaisedAlarms {
  has(type: AlarmType): boolean;
}

/** Whether a txn writes a key at its top level: etcd's quota counts only those puts (costTxn). */
export function txnPuts(command: Command): boolean {
  return command.op === "txn" && [...command.txn.success, ...command.txn.failure].some((op) => op.kind === "put");
}

/**
 * What an alarm forbids a command, as it applies: CORRUPT every change to keys and leases (etcd's
 * corrupt applier), NOSPACE whatever takes more space — a put, a txn that puts, a lease grant
 * (etcd's capped applier). Deletes, revokes and compactions still free space under NOSPACE.
 */
export function alarmForbids(alarms: RaisedAlarms, command: Command): EtcdError | undefined {
  const op = command.op;
  if (alarms.has("CORRUPT") && ["put", "deleteRange", "txn", "compact", "leaseGrant", "leaseRevoke"].includes(op)) return AlarmErrors.corrupt;
  if (alarms.has("NOSPACE") && (op === "put" || op === "leaseGrant" || txnPuts(command))) return AlarmErrors.noSpace;
  return undefined;
}
