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
}

export interface HardState {
  term: number;
  /** The member voted for in `term`, by id (hex, as etcd prints ids); "" for none. */
  vote: string;
  commit: number;
}

/** What the member asks of the log worker. */
export type LogRequest =
  | { kind: "persist"; seq: number; entries: LogEntry[]; hardState: HardState | undefined }
  | { kind: "compact"; seq: number; before: number }
  | { kind: "close"; seq: number };
