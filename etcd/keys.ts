/**
 * Key spans as etcd reads them from (key, range_end), and byte-wise comparison.
 *
 * Owns: the rule "empty range_end is one key, range_end \0 is every key from key on, anything else
 * is [key, range_end)". Never: storage or I/O.
 */
import type { Bytes } from "./types.ts";

export type KeySpan =
  | { kind: "single"; key: Bytes }
  | { kind: "from"; key: Bytes }
  | { kind: "between"; key: Bytes; end: Bytes };

export function keySpan(key: Bytes, rangeEnd: Bytes): KeySpan {
  if (rangeEnd.length === 0) return { kind: "single", key };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: "from", key };
  return { kind: "between", key, end: rangeEnd };
}

export function compareBytes(a: Bytes, b: Bytes): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** The key just past every key with this prefix (clientv3's GetPrefixRangeEnd); \0 when there is none. */
export function prefixEnd(prefix: Bytes): Bytes {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]++;
      return end;
    }
  }
  return new Uint8Array([0]);
}
