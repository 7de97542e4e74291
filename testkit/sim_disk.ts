/**
 * A simulated member's disk: the replicated log (hard state, where it starts, its entries) and the
 * state's last durable copy, with one log write in flight at a time — as the member's log thread
 * has. A crash decides what became of the write in flight: lost, kept whole (it reached the disk
 * but its sync never returned), or torn — a prefix of its entries kept without its hard state.
 *
 * Owns: what survives a crash. Never: decides when to write (the member's Ready loop does) or knows
 * what a state means (the simulator does).
 */
import type { LogStart } from "../raft/log.ts";
import type { ConfState, Entry, HardState } from "../raft/types.ts";

/** The state as last made durable: applied up to `index`, `keys[0..index)` of the shared array. */
export interface DurableState {
  index: number;
  /** Append-only within an incarnation, so a shorter durable copy may share it. */
  keys: string[];
  conf: ConfState;
}

type Write = { entries: Entry[]; hardState: HardState | undefined; dueAt: number; done: (error?: unknown) => void };
export type CrashOutcome = "none" | "lost" | "kept" | "torn";

export class SimDisk {
  hardState: HardState = { term: 0, vote: "", commit: 0 };
  start: LogStart = { index: 0, term: 0 };
  entries: Entry[] = [];
  state: DurableState;
  #inFlight: Write | undefined;

  constructor(conf: ConfState) {
    this.state = { index: 0, keys: [], conf };
  }

  get lastIndex(): number {
    return this.start.index + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.start.index) return this.start.term;
    if (index < this.start.index || index > this.lastIndex) return undefined;
    return this.entries[index - this.start.index - 1].term;
  }

  /** A log write starts; `done` is called when `complete` finds it due. */
  write(entries: Entry[], hardState: HardState | undefined, dueAt: number, done: (error?: unknown) => void): void {
    if (this.#inFlight) throw new Error("sim disk: a log write started while another was in flight");
    this.#inFlight = { entries, hardState, dueAt, done };
  }

  /** Finishes the write in flight if it is due; answers the entries it made durable (for the checkers). */
  complete(now: number): { entries: Entry[]; done: () => void } | undefined {
    const w = this.#inFlight;
    if (!w || w.dueAt > now) return undefined;
    this.#inFlight = undefined;
    this.#land(w.entries, w.hardState);
    return { entries: w.entries, done: () => w.done() };
  }

  /** The member died: its write in flight is lost, kept or torn as `draw` decides. */
  crash(draw: () => number): { outcome: CrashOutcome; entries: Entry[] } {
    const w = this.#inFlight;
    this.#inFlight = undefined;
    if (!w) return { outcome: "none", entries: [] };
    const r = draw();
    if (r < 0.4) return { outcome: "lost", entries: [] };
    if (r < 0.7 || w.entries.length === 0) {
      this.#land(w.entries, w.hardState);
      return { outcome: "kept", entries: w.entries };
    }
    const kept = w.entries.slice(0, Math.floor(draw() * w.entries.length));
    this.#land(kept, undefined);
    return { outcome: "torn", entries: kept };
  }

  /** Entries replace any the log holds at or after the first one's index, as LogWriter.persist does. */
  #land(entries: Entry[], hardState: HardState | undefined): void {
    if (entries.length > 0) {
      const first = entries[0].index;
      // The member's log cannot hold this: it trimmed entries it had not made durable yet.
      if (first <= this.start.index) throw new Error(`log write: entry ${first} written at or before the log's start ${this.start.index}`);
      this.entries.length = Math.min(this.entries.length, first - this.start.index - 1);
      if (this.lastIndex !== first - 1) throw new Error(`log write: entry ${first} written after ${this.lastIndex}, a gap`);
      this.entries.push(...entries);
    }
    if (hardState) this.hardState = { ...hardState };
  }

  /** Drops entries before `keepFrom` (the member's log trimming). */
  compactBefore(keepFrom: number): void {
    const through = Math.min(keepFrom - 1, this.lastIndex);
    if (through <= this.start.index) return;
    const term = this.termAt(through)!;
    this.entries = this.entries.slice(through - this.start.index);
    this.start = { index: through, term };
  }

  /** A snapshot from the leader replaced the state and reset the log to start after it. */
  installSnapshot(index: number, term: number, state: DurableState): void {
    this.start = { index, term };
    this.entries = [];
    this.state = state;
    if (this.hardState.commit < index) this.hardState = { ...this.hardState, commit: index };
  }
}
