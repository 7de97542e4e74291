/**
 * Keys as folders, for the console's key browser: under a prefix, the distinct next segments up
 * to a separator (with how many live keys each holds) and the keys with no separator left, in key
 * order, a page at a time. A folder of any size costs one index seek and one count of at most
 * FOLDER_COUNT_KEYS_MAX keys: the listing skips over it rather than reading its keys, and a page
 * ends once its counts read FOLDER_PAGE_COUNTED_KEYS_MAX keys.
 *
 * Owns: that listing, read-only over kv_index (mvcc.ts owns the table). Never: writes.
 */
import { FOLDER_COUNT_KEYS_MAX, FOLDER_PAGE_COUNTED_KEYS_MAX } from "../config/limits.ts";
import { compareBytes, prefixEnd } from "../etcd/keys.ts";
import type { Bytes } from "../etcd/types.ts";
import type { Database, Statement } from "./sqlite.ts";

export interface FolderListing {
  /** `count` live keys in each folder; with `more`, at least that many (counting stopped there). */
  folders: { prefix: Bytes; count: number; more: boolean }[];
  keys: Bytes[];
  /** Where the next page starts, if there is one. */
  next: Bytes | undefined;
}

/** Keys read per step while no folder interrupts them. */
const STEP = 64;

function indexOf(haystack: Bytes, needle: Bytes, from: number): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Bytes, b: Bytes): Bytes {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class Folders {
  readonly #keysBetween: Statement;
  readonly #keysFrom: Statement;
  readonly #countBetween: Statement;
  readonly #countFrom: Statement;

  constructor(db: Database) {
    this.#keysBetween = db.prepare("SELECT key FROM kv_index WHERE key >= ? AND key < ? AND version > 0 ORDER BY key LIMIT ?");
    this.#keysFrom = db.prepare("SELECT key FROM kv_index WHERE key >= ? AND version > 0 ORDER BY key LIMIT ?");
    this.#countBetween = db.prepare("SELECT count(*) AS n FROM (SELECT 1 FROM kv_index WHERE key >= ? AND key < ? AND version > 0 LIMIT ?)");
    this.#countFrom = db.prepare("SELECT count(*) AS n FROM (SELECT 1 FROM kv_index WHERE key >= ? AND version > 0 LIMIT ?)");
  }

  /** The children of `prefix` from `start` on (at most `limit` folders and keys together). */
  list(prefix: Bytes, separator: Bytes, start: Bytes | undefined, limit: number): FolderListing {
    const end = prefixEnd(prefix);
    const unbounded = end.length === 1 && end[0] === 0;
    const keys = (from: Bytes, n: number) =>
      (unbounded ? this.#keysFrom.all<{ key: Uint8Array }>(from, n) : this.#keysBetween.all<{ key: Uint8Array }>(from, end, n)).map((r) => r.key);
    const count = (p: Bytes) => {
      const e = prefixEnd(p);
      const all = e.length === 1 && e[0] === 0;
      // One more than the cap: a folder of exactly the cap is not "more".
      const cap = FOLDER_COUNT_KEYS_MAX + 1;
      return (all ? this.#countFrom.get<{ n: number }>(p, cap) : this.#countBetween.get<{ n: number }>(p, e, cap))?.n ?? 0;
    };
    let counted = 0;
    const out: FolderListing = { folders: [], keys: [], next: undefined };
    let from = start !== undefined && compareBytes(start, prefix) > 0 ? start : prefix;
    for (;;) {
      const batch = keys(from, STEP);
      if (batch.length === 0) return out;
      let jumped = false;
      for (const key of batch) {
        if (out.folders.length + out.keys.length >= limit) {
          out.next = key;
          return out;
        }
        const at = separator.length === 0 ? -1 : indexOf(key, separator, prefix.length);
        if (at >= 0) {
          const folder = key.slice(0, at + separator.length);
          const n = count(folder);
          out.folders.push({ prefix: folder, count: Math.min(n, FOLDER_COUNT_KEYS_MAX), more: n > FOLDER_COUNT_KEYS_MAX });
          // Skip the rest of the folder in one step.
          from = prefixEnd(folder);
          jumped = true;
          if (from.length === 1 && from[0] === 0) return out;
          counted += n;
          if (counted >= FOLDER_PAGE_COUNTED_KEYS_MAX) {
            out.next = from;
            return out;
          }
          break;
        }
        out.keys.push(key);
        from = concat(key, new Uint8Array([0]));
      }
      if (!jumped && batch.length < STEP) return out;
    }
  }
}
