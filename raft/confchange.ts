/**
 * How a membership change travels in a log entry.
 *
 * Owns: the encoding of ConfChange in Entry.data. Never: the rules of changing membership (raft.ts).
 */
import type { ConfChange, Entry } from "./types.ts";

export function encodeConfChange(change: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(change));
}

/** The change a membership entry carries. */
export function decodeConfChange(entry: Entry): ConfChange {
  return JSON.parse(new TextDecoder().decode(entry.data)) as ConfChange;
}
