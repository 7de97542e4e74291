/**
 * The log's vocabulary, shared by the log's reader, its writer and the worker between them.
 *
 * Owns: shapes only. Never: behaviour.
 */

export interface LogEntry {
  index: number;
  term: number;
  /** A command's encoding; empty for entries that carry none (a new leader's first entry). */
  data: Uint8Array;
  /** Set on membership changes (raft/'s Entry.type). */
  type?: "confChange";
}

export interface HardState {
  term: number;
  /** The member voted for in `term`, by id (hex, as etcd prints ids); "" for none. */
  vote: string;
  commit: number;
}

/**
 * Entries packed for the trip to the log worker: one transferred buffer instead of a structured
 * clone per entry (measured: cloning cost more than the whole SQLite insert).
 */
export interface PackedEntries {
  /** The first entry's index; the rest follow one by one. */
  first: number;
  terms: Float64Array;
  /** 1 for a membership change, 0 otherwise. */
  confChanges: Uint8Array;
  /** Where each entry's data ends in `data`. */
  ends: Uint32Array;
  data: ArrayBuffer;
}

export function packEntries(entries: readonly LogEntry[]): PackedEntries {
  const ends = new Uint32Array(entries.length);
  const terms = new Float64Array(entries.length);
  const confChanges = new Uint8Array(entries.length);
  let size = 0;
  entries.forEach((e, i) => {
    size += e.data.length;
    ends[i] = size;
    terms[i] = e.term;
    if (e.type === "confChange") confChanges[i] = 1;
  });
  const data = new Uint8Array(size);
  entries.forEach((e, i) => data.set(e.data, i === 0 ? 0 : ends[i - 1]));
  return { first: entries.length > 0 ? entries[0].index : 0, terms, confChanges, ends, data: data.buffer };
}

export function unpackEntries(packed: PackedEntries): LogEntry[] {
  const bytes = new Uint8Array(packed.data);
  return Array.from(packed.ends, (end, i) => ({
    index: packed.first + i,
    term: packed.terms[i],
    data: bytes.subarray(i === 0 ? 0 : packed.ends[i - 1], end),
    ...(packed.confChanges[i] === 1 ? { type: "confChange" as const } : {}),
  }));
}

/** What the member asks of the log worker. */
export type LogRequest =
  | { kind: "persist"; seq: number; entries: PackedEntries; hardState: HardState | undefined }
  | { kind: "compact"; seq: number; before: number }
  | { kind: "restore"; seq: number; index: number; term: number }
  | { kind: "meta"; seq: number; name: string; value: string }
  | { kind: "close"; seq: number };
