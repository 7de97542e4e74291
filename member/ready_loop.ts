/**
 * The member's write path: drives the Raft core's Ready cycle through ports, one Ready at a time.
 * For each Ready: a leader whose term is on disk sends its messages at once, in parallel with its
 * own fsync; a snapshot that arrived is installed; new entries and a new term or vote are made
 * durable (etcd's MustSync — a moved commit index alone rides along with the next write, unless it
 * commits a membership change); committed entries, durable already, are applied meanwhile (those
 * with a membership change once the commit is durable); anyone else sends only once durable,
 * since votes and acknowledgements promise what is on disk; then the core advances. While a Ready is being synced,
 * a leader sends appends of what was proposed since and entries committed since are applied
 * (leaderMessages, takeCommitted); whatever is proposed meanwhile goes into the next Ready (group
 * commit).
 *
 * Owns: the order of persist, send and apply, and when the next Ready is taken. Never: touches a
 * disk, a socket or a timer itself — the member hands it real ports, the simulator
 * (testkit/raft_simulator.ts) simulated ones, so both run this same code.
 */
import type { PlantedBug } from "../raft/planted_bugs.ts";
import type { Raft } from "../raft/raft.ts";
import type { Entry, HardState, Message, ReadState, Ready, Snapshot } from "../raft/types.ts";

export interface ReadyPorts {
  /** Makes entries and the hard state durable; calls `done` once they are, or with why they could not be. */
  persist(entries: Entry[], hardState: HardState | undefined, done: (error?: unknown) => void): void;
  /** The hard state last handed to persist (or read at start-up). */
  savedHardState(): HardState;
  send(messages: Message[]): void;
  /** Applies committed entries, in order, and answers whoever waits for them. */
  apply(entries: Entry[]): void;
  /** Replaces the state with a snapshot's; calls `done` once it has, or with why it could not. */
  installSnapshot(snapshot: Snapshot, done: (error?: unknown) => void): void;
  /** ReadIndex answers: reads may be served once applied up to their index. */
  readsConfirmed(readStates: ReadState[]): void;
  /** Runs `fn` once the rest of this turn of the event loop is done. */
  defer(fn: () => void): void;
  /** No other member to talk to: nothing to do while a Ready is synced. */
  alone(): boolean;
  /** The member stopped taking writes. */
  stopped(): boolean;
  /** Something failed on the write path: the member must stop taking writes. */
  failStop(error: unknown): void;
}

export class ReadyLoop {
  readonly #raft: Raft;
  readonly #ports: ReadyPorts;
  readonly #plantedBug: PlantedBug | undefined;
  /** A Ready is being worked on; the next one gathers in the core meanwhile. */
  #busy = false;
  /** A snapshot is replacing the state: nothing may touch the store meanwhile. */
  #installing = false;
  #scheduled = false;
  /** Inside pump(): a Ready that finishes at once lets the running loop take the next one. */
  #pumping = false;
  /** Called once the core has nothing left to hand out. */
  #idle: (() => void)[] = [];
  /** The Ready being synced holds a membership change to apply once synced: nothing is applied before it. */
  #applyAfterSync = false;
  /** The term on disk: a leader sends before its own fsync only once its term is durable. */
  #durableTerm: number;

  constructor(raft: Raft, ports: ReadyPorts, plantedBug?: PlantedBug) {
    this.#raft = raft;
    this.#ports = ports;
    this.#plantedBug = plantedBug;
    this.#durableTerm = ports.savedHardState().term;
  }

  /**
   * A leader may send before its fsync only in a term already on disk: one elected alone at once (a
   * lone voter) would otherwise send entries of a term it forgets in a crash, and then lead that
   * term again with other entries at the same indexes (found by the simulator).
   */
  get #leadsDurably(): boolean {
    return this.#raft.role === "leader" && this.#raft.term === this.#durableTerm;
  }

  get installing(): boolean {
    return this.#installing;
  }

  /** Calls `resolve` once the core has nothing left to hand out (or the member stopped). */
  whenIdle(resolve: () => void): void {
    this.#idle.push(resolve);
    this.pump();
  }

  /** The member stopped: whoever waits for the core to be idle waits no more. */
  releaseIdle(): void {
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Something reached the core (a message, a proposal): take it up once this turn is over. */
  schedule(): void {
    if (this.#scheduled || (this.#busy && this.#ports.alone())) return;
    this.#scheduled = true;
    this.#ports.defer(() => {
      this.#scheduled = false;
      if (this.#busy) this.#whileBusy();
      else this.pump();
    });
  }

  /** Runs Readies while the core has them and none is being worked on. */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#busy && !this.#ports.stopped()) {
        if (!this.#raft.hasReady()) return this.releaseIdle();
        this.#busy = true;
        this.#run(this.#raft.ready());
      }
      if (this.#ports.stopped()) this.releaseIdle();
    } finally {
      this.#pumping = false;
    }
  }

  #whileBusy(): void {
    if (this.#installing || this.#ports.stopped()) return;
    try {
      if (this.#leadsDurably) this.#ports.send(this.#raft.leaderMessages());
      if (!this.#applyAfterSync) this.#ports.apply(this.#raft.takeCommitted());
    } catch (e) {
      this.#ports.failStop(e);
    }
  }

  #run(rd: Ready): void {
    try {
      const sendFirst = this.#leadsDurably || this.#plantedBug === "followerSendsBeforeFsync";
      if (sendFirst) this.#ports.send(rd.messages);
      const persistAndApply = () => this.#persistAndApply(rd, () => this.#finish(rd, sendFirst));
      if (!rd.snapshot) return persistAndApply();
      this.#installing = true;
      this.#ports.installSnapshot(rd.snapshot, (error) => {
        this.#installing = false;
        if (error !== undefined) return this.#ports.failStop(error);
        this.#guard(persistAndApply);
      });
    } catch (e) {
      this.#ports.failStop(e);
    }
  }

  #persistAndApply(rd: Ready, then: () => void): void {
    const saved = this.#ports.savedHardState();
    const newTermOrVote = rd.hardState !== undefined && (rd.hardState.term !== saved.term || rd.hardState.vote !== saved.vote);
    // A membership change is applied only once its commit is on disk: a member that applied one and
    // restarted not knowing it was committed would count a membership the others have left (a lone
    // voter that added a second one waited for it for ever, and the new one could not join).
    const change = rd.committed.findLast((e) => e.type === "confChange")?.index;
    const hardState = change === undefined ? rd.hardState : { ...(rd.hardState ?? saved), commit: Math.max((rd.hardState ?? saved).commit, change) };
    const mustSync = rd.entries.length > 0 || change !== undefined || (newTermOrVote && this.#plantedBug !== "syncOnlyEntries");
    if (!mustSync) {
      this.#ports.apply(rd.committed);
      return then();
    }
    // Whichever comes last of the sync and the apply goes on; a sync may answer at once.
    let pending = 2;
    const oneDone = (error?: unknown) => {
      if (error !== undefined) return this.#ports.failStop(error);
      if (--pending === 0) this.#guard(then);
    };
    const term = hardState?.term;
    this.#applyAfterSync = change !== undefined;
    this.#ports.persist(rd.entries, hardState, (error) => {
      if (error === undefined && term !== undefined) this.#durableTerm = term;
      if (error === undefined && change !== undefined) {
        this.#applyAfterSync = false;
        // A snapshot that arrived meanwhile covers what the log no longer holds: it is installed next.
        const first = this.#raft.log.firstIndex;
        this.#guard(() => this.#ports.apply(rd.committed.filter((e) => e.index >= first)));
      }
      oneDone(error);
    });
    // Committed entries are durable already: apply them while this Ready's entries are synced.
    if (change === undefined) this.#ports.apply(rd.committed);
    oneDone();
  }

  #finish(rd: Ready, sent: boolean): void {
    if (!sent) this.#ports.send(rd.messages);
    this.#raft.advance(rd);
    this.#ports.readsConfirmed(rd.readStates);
    this.#busy = false;
    this.pump();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#ports.failStop(e);
    }
  }
}
