/**
 * Opens a member's store in its data dir and wires its parts together.
 *
 * Owns: the layout of a data dir — `<data-dir>/member/log.db`, `<data-dir>/member/state.db` (each
 * with SQLite's -wal and -shm beside it) and `<data-dir>/member/snap/` — the identity fixed at first
 * start, and swapping a received snapshot in for the state. Installing one is ordered so a crash
 * at any point recovers: the log is reset to the snapshot's position first, then the file replaces
 * state.db; a file still waiting at the log's start on opening is swapped in then.
 * Never: request semantics.
 */
import { AlarmTable } from "./alarms.ts";
import { AuthTable } from "./auth.ts";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { Checkpointer } from "./checkpointer.ts";
import { Folders } from "./folders.ts";
import { LeaseTable } from "./leases.ts";
import { MemberTable } from "./members.ts";
import { Meta } from "./meta.ts";
import { Mvcc } from "./mvcc.ts";
import { RaftLog } from "./raft_log.ts";
import { applyStateSchema } from "./schema.ts";
import { type SnapshotFile, SnapshotFiles, type StateCopy, syncDirectory } from "./snapshots.ts";
import { type Database, openDatabase, type Statement } from "./sqlite.ts";
import { StateHashes } from "./state_hash.ts";
import { StateMachine } from "./state_machine.ts";

export interface Store {
  readonly log: RaftLog;
  readonly mvcc: Mvcc;
  readonly stateMachine: StateMachine;
  readonly checkpointer: Checkpointer;
  readonly members: MemberTable;
  readonly leases: LeaseTable;
  readonly auth: AuthTable;
  readonly alarms: AlarmTable;
  readonly folders: Folders;
  readonly hashes: StateHashes;
  readonly snapshots: SnapshotFiles;
  /** A 64-bit id fixed at first start (kept with the log: it is this member's own). */
  identity(name: string): bigint | undefined;
  setIdentity(name: string, id: bigint): Promise<void>;
  /** Writes state at first start, outside any applied entry (the initial members). */
  initialise(fn: () => void): void;
  /**
   * Commits the state and copies it, on the checkpoint worker's thread, into a new outgoing
   * snapshot file as of the applied index it holds (the latest: `snapshots.latestOutgoing()`).
   */
  makeSnapshot(): Promise<SnapshotFile | { error: string }>;
  /** Commits the state and copies it, on the worker's thread, for a client (etcd's Snapshot call); the caller releases it. */
  copyState(): Promise<StateCopy | { error: string }>;
  /**
   * One step of etcd's Defragment: hands up to `pages` free pages of state.db back to the file
   * system, in the state's open batch (incremental vacuum: a step takes milliseconds, so the member
   * serves between steps). True once none is left: the batch is then committed, and the file
   * shrinks once the checkpoint asked for has run.
   */
  defragmentStep(pages: number): boolean;
  /** Replaces log and state by the received snapshot at (index, term). */
  installSnapshot(index: number, term: number): Promise<void>;
  /**
   * The state database's size as etcd reports its backend's: its pages (`total`, free ones too —
   * what the quota limits; the log and SQLite's WAL files are not counted, as etcd's WAL is not)
   * and of those the pages that hold data (`inUse`).
   */
  sizeBytes(): { total: number; inUse: number };
  /** Bytes of the state database's pages, free ones too: what the quota limits (etcd's backend size). */
  stateBytes(): number;
  close(): Promise<void>;
}

interface State {
  db: Database;
  mvcc: Mvcc;
  stateMachine: StateMachine;
  checkpointer: Checkpointer;
  members: MemberTable;
  leases: LeaseTable;
  auth: AuthTable;
  alarms: AlarmTable;
  folders: Folders;
  hashes: StateHashes;
  /** Bytes of the database's pages that hold data. */
  bytesInUse(): number;
  /** Bytes of the database's pages, free ones too: what the quota limits (etcd's backend size); read again after an apply. */
  stateBytes(): number;
  /** The size changed without an apply (a defragment step): stateBytes() reads it again. */
  sizeChanged(): void;
  /** Pages on the database's free list. */
  freePageCount(): number;
}

async function openState(path: string): Promise<State> {
  const db = await openDatabase(path);
  applyStateSchema(db);
  const meta = new Meta(db);
  const mvcc = new Mvcc(db, meta);
  const members = new MemberTable(db);
  const leases = new LeaseTable(db);
  const auth = new AuthTable(db, meta);
  const alarms = new AlarmTable(db);
  const stateMachine = new StateMachine(db, meta, mvcc, leases, members, auth, alarms);
  const checkpointer = new Checkpointer(path, stateMachine.committedIndex);
  const [pageSize, pageCount, freePages] = ["page_size", "page_count", "freelist_count"].map((p) => db.prepare(`PRAGMA ${p}`));
  const value = (s: Statement) => Object.values(s.get()!)[0] as number;
  const bytesInUse = () => value(pageSize) * (value(pageCount) - value(freePages));
  // The quota asks before every write: the size is read once per applied index (only applying and
  // defragmenting change it), as etcd keeps its backend's size rather than asking the file.
  let sized: { applied: number; bytes: number } | undefined;
  const stateBytes = () => {
    const applied = stateMachine.appliedIndex;
    if (sized?.applied !== applied) sized = { applied, bytes: value(pageSize) * value(pageCount) };
    return sized.bytes;
  };
  return {
    db, mvcc, stateMachine, checkpointer, members, leases, auth, alarms, folders: new Folders(db), hashes: new StateHashes(db), bytesInUse,
    stateBytes, sizeChanged: () => (sized = undefined), freePageCount: () => value(freePages),
  };
}

/** Moves a snapshot file into place as state.db (without its old WAL, which belongs to the old state). */
function swapIn(file: string, statePath: string): void {
  for (const suffix of ["-wal", "-shm"]) rmSync(statePath + suffix, { force: true });
  renameSync(file, statePath);
  syncDirectory(dirname(statePath));
}

/** `plantedLogUnsynced`: member/planted_bugs.ts's logAppendUnsynced (the chaos harness's power cuts find it). */
export async function openStore(dataDir: string, plantedLogUnsynced = false): Promise<Store> {
  const dir = join(dataDir, "member");
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, "state.db");
  const log = await RaftLog.open(dir, plantedLogUnsynced);
  const snapshots = new SnapshotFiles(dir);
  // Only a file that still has the SHA-256 it was checked against on arriving (else it is removed).
  const waiting = snapshots.verifiedReceived(log.start.index);
  if (waiting) swapIn(waiting, statePath);
  let state = await openState(statePath);
  if (state.stateMachine.appliedIndex < log.start.index) {
    // The log was trimmed (or reset to a snapshot) past what the state holds: entries are missing.
    throw new Error(
      `store: ${statePath} is applied to ${state.stateMachine.appliedIndex} but the log starts after ${log.start.index}; ` +
        "the data dir is damaged (restore it, or remove the member and add it again)",
    );
  }
  const closeState = async () => {
    // A batch a storage failure broke is not committed (state_machine.ts: nothing runs after it).
    if (state.stateMachine.batchOpen) state.stateMachine.commit();
    await state.checkpointer.close();
    state.db.close();
  };
  return {
    log,
    snapshots,
    get mvcc() {
      return state.mvcc;
    },
    get stateMachine() {
      return state.stateMachine;
    },
    get checkpointer() {
      return state.checkpointer;
    },
    get members() {
      return state.members;
    },
    get leases() {
      return state.leases;
    },
    get auth() {
      return state.auth;
    },
    get alarms() {
      return state.alarms;
    },
    get folders() {
      return state.folders;
    },
    get hashes() {
      return state.hashes;
    },
    identity(name) {
      const kept = log.metaText(name);
      return kept === undefined ? undefined : BigInt(kept);
    },
    setIdentity(name, id) {
      return log.setMeta(name, id.toString());
    },
    initialise(fn) {
      if (state.db.inTransaction) state.stateMachine.commit();
      state.db.transaction(fn);
    },
    makeSnapshot() {
      state.stateMachine.commit();
      const { checkpointer } = state;
      return snapshots.createOutgoing((to, digest) => checkpointer.copy(to, digest));
    },
    copyState() {
      state.stateMachine.commit();
      const { checkpointer } = state;
      return snapshots.copyForClient((to, digest) => checkpointer.copy(to, digest));
    },
    defragmentStep(pages) {
      state.stateMachine.openBatch();
      state.db.prepare(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`).all();
      state.sizeChanged();
      if (state.freePageCount() > 0) return false;
      state.stateMachine.commit();
      state.checkpointer.request(state.stateMachine.committedIndex);
      return true;
    },
    async installSnapshot(index, term) {
      const file = snapshots.verifiedReceived(index);
      if (!file) throw new Error(`store: no received snapshot at index ${index} (whole, with the SHA-256 it arrived with) to install`);
      await closeState();
      await log.restore(index, term);
      swapIn(file, statePath);
      snapshots.dropReceivedBefore(index);
      state = await openState(statePath);
      if (state.stateMachine.appliedIndex !== index) {
        throw new Error(`store: snapshot for index ${index} holds state applied to ${state.stateMachine.appliedIndex}`);
      }
    },
    sizeBytes() {
      return { total: state.stateBytes(), inUse: state.bytesInUse() };
    },
    stateBytes() {
      return state.stateBytes();
    },
    async close() {
      await closeState();
      await log.close();
    },
  };
}

