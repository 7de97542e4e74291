/**
 * Test support: a member's state (state.db's tables and the state machine over them) in an
 * in-memory SQLite database, for tests of the store and what sits on it.
 *
 * Owns: wiring the parts as store/open.ts does, without files. Never: asserts anything.
 */
import { LeaseTable } from "../../store/leases.ts";
import { MemberTable } from "../../store/members.ts";
import { Meta } from "../../store/meta.ts";
import { Mvcc } from "../../store/mvcc.ts";
import { applyStateSchema } from "../../store/schema.ts";
import { openDatabase } from "../../store/sqlite.ts";
import { StateMachine } from "../../store/state_machine.ts";

export async function memoryState() {
  const db = await openDatabase(":memory:");
  applyStateSchema(db);
  const meta = new Meta(db);
  const mvcc = new Mvcc(db, meta);
  const leases = new LeaseTable(db);
  const members = new MemberTable(db);
  return { db, meta, mvcc, leases, members, sm: new StateMachine(db, meta, mvcc, leases, members) };
}
