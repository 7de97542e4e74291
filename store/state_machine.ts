/**
 * Applies committed log entries to the key space, exactly once.
 *
 * Owns: the applied index, and the state's write batching. Applied entries accumulate in one open
 * SQLite transaction that is committed when it is `due()` (etcd's backend does the same: a batch
 * every 100 ms or 10,000 entries), because a commit writes every page it touched and most pages
 * are touched again and again. The applied index and revision are written in the same
 * transaction, so a crash loses whole batches of applied entries — and the durable log replays
 * them — but can never lose or repeat part of one.
 * Reads on the same connection see everything applied, committed or not, and run inside the open
 * batch too (`openBatch()`): in WAL mode a statement outside a transaction pays for taking and
 * dropping a read lock, ten times the cost of a key lookup. A commit does not fsync
 * (state.db runs synchronous=NORMAL): the checkpointer syncs in the background.
 * Never: decides what is committed, or serves requests that did not come through the log.
 */
import { LEASES_MAX, STATE_BATCH_ENTRIES_MAX, STATE_BATCH_INTERVAL_MS } from "../config/limits.ts";
import { commandNeeds } from "../etcd/auth_needs.ts";
import type { CallerAuth, Command, CommandResult } from "../etcd/commands.ts";
import { type AuthCommand, AuthErrors } from "../etcd/auth.ts";
import type { AlarmCommand } from "../etcd/alarms.ts";
import { alarmForbids } from "../etcd/alarm_rules.ts";
import { Errors } from "../etcd/errors.ts";
import { keySpan } from "../etcd/keys.ts";
import { EMPTY_BYTES, type LeaseId, type MvccChange } from "../etcd/types.ts";
import { deleteRange, putRequest, txnRequest } from "./applier.ts";
import type { AlarmTable } from "./alarms.ts";
import type { AuthTable } from "./auth.ts";
import type { LeaseTable } from "./leases.ts";
import type { MemberTable } from "./members.ts";
import type { Meta } from "./meta.ts";
import type { Mvcc, WriteTxn } from "./mvcc.ts";
import type { Database } from "./sqlite.ts";

/** A committed entry as the state machine takes it: its index and its command, if it has one. */
export interface CommittedEntry {
  index: number;
  /** With who asked for it, when a client did and auth may be on. */
  command: (Command & { auth?: CallerAuth }) | undefined;
}

/** Who hears of every change applied (the watch hub), and whether it wants them recorded at all. */
export interface ChangeListener {
  wantsChanges(): boolean;
  /** The changes of one revision, in the order they were made. */
  changed(changes: MvccChange[], revision: number): void;
}


export class StateMachine {
  readonly #db: Database;
  readonly #meta: Meta;
  readonly #mvcc: Mvcc;
  readonly #leases: LeaseTable;
  readonly #auth: AuthTable;
  readonly #members: MemberTable;
  readonly #alarms: AlarmTable;
  listener: ChangeListener | undefined;
  #appliedIndex: number;
  #durableIndex: number;
  #batchStartedMs = 0;
  #batchEntries = 0;
  /** The storage failure that broke a batch: nothing runs after it (see #broke). */
  #broken: unknown = undefined;

  constructor(db: Database, meta: Meta, mvcc: Mvcc, leases: LeaseTable, members: MemberTable, auth: AuthTable, alarms: AlarmTable) {
    this.#auth = auth;
    this.#alarms = alarms;
    this.#db = db;
    this.#members = members;
    this.#meta = meta;
    this.#mvcc = mvcc;
    this.#leases = leases;
    this.#appliedIndex = meta.number("applied_index", 0);
    this.#durableIndex = this.#appliedIndex;
  }

  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Applied entries at or below this index survive a crash of the process (committed). */
  get committedIndex(): number {
    return this.#durableIndex;
  }

  /**
   * Applies entries in index order, starting right after the applied index; one result each.
   * An exception leaves the open batch rolled back and this state machine unusable (fail-stop).
   */
  apply(entries: readonly CommittedEntry[]): CommandResult[] {
    if (entries.length === 0) return [];
    if (entries[0].index !== this.#appliedIndex + 1) {
      throw new Error(`state machine: entry ${entries[0].index} applied after ${this.#appliedIndex} (a gap or a repeat)`);
    }
    this.openBatch();
    try {
      const results = entries.map((e) => (e.command === undefined ? undefined : this.#applyCommand(e.command, e.index)));
      this.#appliedIndex = entries[entries.length - 1].index;
      this.#batchEntries += entries.length;
      return results;
    } catch (e) {
      throw this.#broke(e);
    }
  }

  /**
   * A statement of the open batch failed: SQLite may have rolled the whole batch back by itself
   * (a full disk does), and any statement after that would commit on its own — the applied index
   * among them, over writes that are gone (a full disk lost acknowledged writes so). So nothing runs
   * after it: this state machine is broken for good (the member fail-stops; a restart replays the log).
   */
  #broke(e: unknown): unknown {
    this.#broken ??= e;
    try {
      this.#db.rollback();
    } catch {
      // Rolled back already, by SQLite.
    }
    return e;
  }

  /** Throws the failure that broke this state machine, if one did. */
  #usable(): void {
    if (this.#broken !== undefined) throw this.#broken;
  }

  /** Opens a batch if none is open; reads and applies run inside it until `commit()`. */
  openBatch(): void {
    this.#usable();
    if (this.#db.inTransaction) return;
    this.#db.begin();
    this.#batchStartedMs = performance.now();
    this.#batchEntries = 0;
  }

  /** Whether a batch is open (and so must be committed within the batch interval). */
  get batchOpen(): boolean {
    return this.#broken === undefined && this.#db.inTransaction;
  }

  /** Whether the open batch should be committed now. */
  due(): boolean {
    return this.batchOpen &&
      (this.#batchEntries >= STATE_BATCH_ENTRIES_MAX || performance.now() - this.#batchStartedMs >= STATE_BATCH_INTERVAL_MS);
  }

  /** Commits the open batch with the applied index and revision it reached. */
  commit(): void {
    this.#usable();
    if (!this.#db.inTransaction) return;
    try {
      this.#mvcc.saveRevision();
      if (this.#appliedIndex !== this.#durableIndex) this.#meta.set("applied_index", this.#appliedIndex);
      this.#db.commit();
    } catch (e) {
      throw this.#broke(e);
    }
    this.#durableIndex = this.#appliedIndex;
  }

  #applyCommand(command: Command & { auth?: CallerAuth }, index: number): CommandResult {
    // An alarm raised forbids what etcd's capped and corrupt appliers refuse, before any other check.
    const forbidden = alarmForbids(this.#alarms, command);
    if (forbidden) return forbidden;
    // A client's request is checked again as it applies: a permission revoked (or auth turned on)
    // since it was checked takes effect, as in etcd.
    if (command.auth && this.#auth.enabled) {
      const denied = this.#auth.check(command.auth, commandNeeds(command, (id) => this.#leases.keys(id)));
      if (denied) return denied;
    }
    switch (command.op) {
      case "put": return this.#write((txn) => putRequest(txn, this.#leases, command.put));
      case "deleteRange": return this.#write((txn) => deleteRange(txn, command.deleteRange));
      case "txn": return this.#write((txn) => txnRequest(txn, this.#leases, command.txn));
      case "compact": {
        const err = this.#mvcc.compact(command.compact.revision);
        return err ?? { header: { revision: this.#mvcc.revision } };
      }
      case "leaseGrant": {
        if (this.#leases.exists(command.id)) return Errors.leaseExists;
        if (this.#leases.size >= LEASES_MAX) return Errors.tooManyLeases;
        this.#leases.grant(command.id, command.ttl);
        return { header: { revision: this.#mvcc.revision }, id: command.id, ttl: command.ttl };
      }
      case "leaseRevoke": {
        if (!this.#leases.exists(command.id)) return Errors.leaseNotFound;
        this.#write((txn) => this.#revoke(txn, command.id));
        return { header: { revision: this.#mvcc.revision } };
      }
      case "leaseCheckpoint": {
        for (const c of command.checkpoints) this.#leases.checkpoint(c.id, c.remaining);
        return { header: { revision: this.#mvcc.revision } };
      }
      case "conf": {
        if (command.kind === "removeNode") {
          this.#members.remove(command.id);
          return;
        }
        const known = this.#members.get(command.id);
        // A promotion (no URLs given) of a member removed since it was proposed changes nothing.
        if (!known && command.peerUrls === undefined) return Errors.memberNotFound;
        this.#members.put({
          id: command.id,
          name: known?.name ?? "",
          peerUrls: command.peerUrls ?? known?.peerUrls ?? [],
          clientUrls: known?.clientUrls ?? [],
          isLearner: command.kind === "addLearner",
        });
        return;
      }
      case "publish": {
        const known = this.#members.get(command.id);
        if (known) this.#members.put({ ...known, name: command.name, clientUrls: command.clientUrls });
        return;
      }
      case "updatePeers": {
        const known = this.#members.get(command.id);
        if (known) this.#members.put({ ...known, peerUrls: command.peerUrls });
        return;
      }
      case "alarm": return this.#applyAlarm(command);
      default: return this.#applyAuth(command, index);
    }
  }

  /**
   * etcd's auth changes; each answers its header or etcd's error. An authenticate answers its
   * simple token as etcd makes it — the proposer's random prefix, a dot, the entry's index — the
   * same on every member, each of which then knows it, and the auth revision it was applied at.
   */
  #applyAuth(command: AuthCommand, index: number): CommandResult {
    const auth = this.#auth;
    const outcome = (() => {
      switch (command.op) {
        case "authEnable": return auth.enable();
        case "authDisable": return auth.disable();
        case "authenticate": {
          if (!auth.enabled) return AuthErrors.authNotEnabled;
          const user = auth.user(command.name);
          return !user || user.noPassword ? AuthErrors.authFailed : undefined;
        }
        case "userAdd": return auth.userAdd(command.name, command.password, command.noPassword);
        case "userDelete": return auth.userDelete(command.name);
        case "userChangePassword": return auth.userChangePassword(command.name, command.password);
        case "userGrantRole": return auth.userGrantRole(command.user, command.role);
        case "userRevokeRole": return auth.userRevokeRole(command.name, command.role);
        case "roleAdd": return auth.roleAdd(command.name);
        case "roleDelete": return auth.roleDelete(command.role);
        case "roleGrantPermission": return auth.roleGrantPermission(command.name, command.perm);
        case "roleRevokePermission": return auth.roleRevokePermission(command.role, command.key, command.rangeEnd);
      }
    })();
    if (outcome) return outcome;
    const header = { revision: this.#mvcc.revision };
    return command.op === "authenticate" ? { header, token: `${command.tokenPrefix}.${index}`, authRevision: auth.revision } : { header };
  }

  /** etcd's Alarm as it applies: the alarms listed, the one raised, or the one cleared (none if it was not raised). */
  #applyAlarm(command: AlarmCommand): CommandResult {
    const header = { revision: this.#mvcc.revision };
    switch (command.action) {
      case "GET": return { header, alarms: this.#alarms.list(command.alarm) };
      case "ACTIVATE": return { header, alarms: [this.#alarms.activate(command.memberId, command.alarm)] };
      case "DEACTIVATE": {
        const cleared = this.#alarms.deactivate(command.memberId, command.alarm);
        return { header, alarms: cleared ? [cleared] : [] };
      }
    }
  }

  /** A revoke deletes the lease's keys in key order, all in one revision, as etcd's lessor does. */
  #revoke(txn: WriteTxn, id: LeaseId): void {
    for (const key of this.#leases.keys(id)) txn.deleteRange(keySpan(key, EMPTY_BYTES));
    this.#leases.remove(id);
  }

  #write<T>(fn: (txn: WriteTxn) => T): T {
    const recording = this.listener?.wantsChanges() ? [] : undefined;
    this.#mvcc.recorder = recording;
    const txn = this.#mvcc.beginWrite();
    let result: T;
    try {
      result = fn(txn);
      txn.end();
    } finally {
      this.#mvcc.recorder = undefined;
    }
    if (recording !== undefined && recording.length > 0) this.listener!.changed(recording, this.#mvcc.revision);
    return result;
  }
}
