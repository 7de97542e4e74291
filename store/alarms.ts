/**
 * The alarms raised in the cluster, as replicated state (etcd's alarm bucket).
 *
 * Owns: the `alarms` table of state.db. Writes land in the caller's transaction (the state's open
 * batch while applying), so an alarm changes atomically with the applied index.
 * Never: decides what an alarm forbids (etcd/alarms.ts) or when one is raised (member/).
 */
import type { AlarmMember, AlarmType } from "../etcd/alarms.ts";
import type { Database } from "./sqlite.ts";

export class AlarmTable {
  readonly #all;
  readonly #insert;
  readonly #remove;
  /** The table in memory: every request asks whether an alarm forbids it. */
  #alarms: AlarmMember[];

  constructor(db: Database) {
    this.#all = db.prepare("SELECT member_id AS memberId, alarm FROM alarms");
    this.#insert = db.prepare("INSERT OR IGNORE INTO alarms (member_id, alarm) VALUES (?, ?)");
    this.#remove = db.prepare("DELETE FROM alarms WHERE member_id = ? AND alarm = ?");
    this.#alarms = this.#read();
  }

  #read(): AlarmMember[] {
    return this.#all.all<{ memberId: string; alarm: AlarmMember["alarm"] }>().map((r): AlarmMember => ({ memberId: r.memberId, alarm: r.alarm })).sort((a, b) =>
      a.alarm === b.alarm ? (BigInt(`0x${a.memberId}`) < BigInt(`0x${b.memberId}`) ? -1 : 1) : a.alarm < b.alarm ? -1 : 1
    );
  }

  /** Every alarm of `type` ("NONE": of every type), by type then member. */
  list(type: AlarmType = "NONE"): AlarmMember[] {
    return type === "NONE" ? this.#alarms : this.#alarms.filter((a) => a.alarm === type);
  }

  has(type: AlarmType): boolean {
    return this.#alarms.some((a) => a.alarm === type);
  }

  /** Raises an alarm; the alarm as raised (already, or now). */
  activate(memberId: string, alarm: AlarmType): AlarmMember {
    this.#insert.run(memberId, alarm);
    this.#alarms = this.#read();
    return { memberId, alarm };
  }

  /** Clears an alarm; the alarm cleared, or undefined if it was not raised. */
  deactivate(memberId: string, alarm: AlarmType): AlarmMember | undefined {
    if (!this.#alarms.some((a) => a.memberId === memberId && a.alarm === alarm)) return undefined;
    this.#remove.run(memberId, alarm);
    this.#alarms = this.#read();
    return { memberId, alarm };
  }
}
