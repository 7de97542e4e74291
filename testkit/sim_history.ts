/**
 * What the simulated cluster has done, as the checkers see it: every entry any log held or sent
 * (log matching), every index seen committed and the term it was first seen committed in (state
 * machine safety, leader completeness), the membership each committed change made, and the writes
 * acknowledged to clients (none may be lost).
 *
 * Owns: the one true history and the properties checked against it. Never: drives a node — the
 * simulator reports to it and it answers with the property that broke, if one did.
 */
import type { ConfState, Entry } from "../raft/types.ts";

const decoder = new TextDecoder();
export const entryKey = (e: Entry): string => `${e.term}:${decoder.decode(e.data)}`;

/** A broken property: its name and what was seen. */
export type Violation = { property: string; detail: string };

export class History {
  /** "index:term" → the entry's key and the term of the entry before it (-1: not known where seen). */
  readonly #entries = new Map<string, { key: string; prevTerm: number; where: string }>();
  /** index → key, for every index seen committed anywhere. */
  readonly committed = new Map<number, string>();
  /** index → the lowest term of a node that saw it committed: a leader of a later term must hold it. */
  readonly commitTerm = new Map<number, number>();
  committedMax = 0;
  /** Indexes of membership changes and the membership after each, in index order. */
  readonly #confs: { index: number; conf: ConfState }[] = [];
  readonly #initialConf: ConfState;
  /** index → key of writes a client was told succeeded. */
  readonly acked = new Map<number, string>();
  /** For reads by value: every client write's value → the index it was committed at. */
  readonly #valueIndex = new Map<string, number>();

  constructor(initialConf: ConfState) {
    this.#initialConf = initialConf;
  }

  /**
   * An entry seen in a log or a message, after an entry of `prevTerm` (-1 when not known there).
   * Log matching: the same index and term always carry the same entry after the same term.
   */
  witness(e: Entry, prevTerm: number, where: string): Violation | undefined {
    const id = `${e.index}:${e.term}`;
    const key = entryKey(e);
    const known = this.#entries.get(id);
    if (!known) {
      this.#entries.set(id, { key, prevTerm, where });
      return;
    }
    if (known.key !== key) return { property: "log matching", detail: `${where} holds ${key} at ${e.index} where ${known.where} held ${known.key}` };
    if (prevTerm >= 0 && known.prevTerm >= 0 && known.prevTerm !== prevTerm) {
      return { property: "log matching", detail: `${where} holds ${key} at ${e.index} after an entry of term ${prevTerm}, another log after term ${known.prevTerm}` };
    }
    if (known.prevTerm < 0) known.prevTerm = prevTerm;
  }

  /** Entries in log order, the first after an entry of `prevTerm`. */
  witnessRun(entries: readonly Entry[], prevTerm: number, where: string): Violation | undefined {
    let prev = prevTerm;
    for (const e of entries) {
      const v = this.witness(e, prev, where);
      if (v) return v;
      prev = e.term;
    }
  }

  /** A node with term `term` has `key` at `index` committed. */
  commit(index: number, key: string, term: number, where: string): Violation | undefined {
    const known = this.committed.get(index);
    if (known === undefined) {
      this.committed.set(index, key);
      this.commitTerm.set(index, term);
      if (index > this.committedMax) this.committedMax = index;
      const value = valueOf(key);
      if (value) this.#valueIndex.set(value, index);
      return;
    }
    if (known !== key) return { property: "state machine safety", detail: `${where} committed ${key} at ${index} where ${known} was committed` };
    if (term < this.commitTerm.get(index)!) this.commitTerm.set(index, term);
  }

  /** A membership change committed at `index` made `conf`. */
  confChanged(index: number, conf: ConfState): Violation | undefined {
    let at = this.#confs.length;
    while (at > 0 && this.#confs[at - 1].index >= index) at--;
    const known = this.#confs[at];
    if (known?.index === index) {
      if (sameConf(known.conf, conf)) return;
      return { property: "membership", detail: `the change at ${index} made ${show(conf)} on one node and ${show(known.conf)} on another` };
    }
    this.#confs.splice(at, 0, { index, conf });
  }

  /** The membership as of `index`. */
  confAt(index: number): ConfState {
    let lo = 0;
    let hi = this.#confs.length - 1;
    let found: ConfState = this.#initialConf;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#confs[mid].index <= index) {
        found = this.#confs[mid].conf;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The index of the last committed write to `key` at or before `index` (0: none). */
  lastWriteTo(key: string, index: number): number {
    for (let i = index; i > 0; i--) {
      const k = this.committed.get(i);
      if (k !== undefined && keyOf(k) === key) return i;
    }
    return 0;
  }

  /** The index a client write's value was committed at. */
  indexOfValue(value: string): number | undefined {
    return this.#valueIndex.get(value);
  }
}

/** Client writes are "key=value" with a unique value: the two halves of an entry's key "term:key=value". */
function write(entryKey: string): [string, string] | undefined {
  const data = entryKey.slice(entryKey.indexOf(":") + 1);
  const eq = data.indexOf("=");
  return eq > 0 && !data.startsWith("{") ? [data.slice(0, eq), data.slice(eq + 1)] : undefined;
}

export const keyOf = (entryKey: string): string | undefined => write(entryKey)?.[0];
export const valueOf = (entryKey: string): string | undefined => write(entryKey)?.[1];

const show = (c: ConfState) => `voters ${c.voters.join(",")} learners ${c.learners.join(",")}`;

export function sameConf(a: ConfState, b: ConfState): boolean {
  const norm = (c: ConfState) => `${[...c.voters].sort().join(",")}|${[...c.learners].sort().join(",")}`;
  return norm(a) === norm(b);
}
