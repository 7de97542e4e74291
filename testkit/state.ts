/**
 * Test support: a member's state (state.db's tables and the state machine over them) in an
 * in-memory SQLite database — or in a file, to reopen it as a restart does — for tests of the
 * store and what sits on it, the watch hub's view of it too.
 *
 * Owns: wiring the parts as store/open.ts does. Never: asserts anything.
 */
import { AlarmTable } from "../store/alarms.ts";
import { AuthTable } from "../store/auth.ts";
import { LeaseTable } from "../store/leases.ts";
import { MemberTable } from "../store/members.ts";
import { Meta } from "../store/meta.ts";
import { Mvcc } from "../store/mvcc.ts";
import { applyStateSchema } from "../store/schema.ts";
import { openDatabase } from "../store/sqlite.ts";
import { StateMachine } from "../store/state_machine.ts";
import type { HubStore } from "../watch/hub.ts";

export function memoryState() {
  return stateAt(":memory:");
}

/** The state in the file at `path` (":memory:" for none), opened as a member opens it. */
export async function stateAt(path: string) {
  const db = await openDatabase(path);
  applyStateSchema(db);
  const meta = new Meta(db);
  const mvcc = new Mvcc(db, meta);
  const leases = new LeaseTable(db);
  const members = new MemberTable(db);
  const auth = new AuthTable(db, meta);
  const alarms = new AlarmTable(db);
  return { db, meta, mvcc, leases, members, auth, alarms, sm: new StateMachine(db, meta, mvcc, leases, members, auth, alarms) };
}

/** The hub's view of a store, as the member gives it; `changesBetween` may be wrapped to watch the reads. */
export function hubStoreOf(mvcc: Mvcc, changesBetween: HubStore["changesBetween"] = (...args) => mvcc.changesBetween(...args)): HubStore {
  return {
    get revision() {
      return mvcc.revision;
    },
    get compactRevision() {
      return mvcc.compactRevision;
    },
    readable: true,
    changesBetween,
    keyValueAt: (revision, sub) => mvcc.keyValueAt(revision, sub),
  };
}
