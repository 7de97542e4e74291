/**
 * Which watcher groups a changed key may concern, without asking every group: groups watching one
 * key are found by that key, groups watching a prefix by each prefix of the key, and only groups
 * watching some other range are tried one by one (etcd keeps a key map and an interval tree).
 *
 * Owns: the three indexes and where a span belongs in them. Never: decides a match (a group's
 * watcher checks span and filters) or knows about delivery.
 */
import { compareBytes, type KeySpan, prefixEnd } from "../etcd/keys.ts";
import type { Bytes } from "../etcd/types.ts";

/** Where a span is indexed. */
export type IndexPlace = { kind: "key"; at: string } | { kind: "prefix"; at: string } | { kind: "range" };

/** Bytes as a string of the same length, one character per byte: a Map key that orders as the bytes do. */
export function byteString(bytes: Bytes): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

export function placeOf(span: KeySpan): IndexPlace {
  if (span.kind === "single") return { kind: "key", at: byteString(span.key) };
  if (span.kind === "between" && span.key.length > 0 && compareBytes(prefixEnd(span.key), span.end) === 0) {
    return { kind: "prefix", at: byteString(span.key) };
  }
  return { kind: "range" };
}

export class WatchIndex<G> {
  readonly #byKey = new Map<string, Set<G>>();
  readonly #byPrefix = new Map<string, Set<G>>();
  readonly #ranges = new Set<G>();
  /** The longest prefix indexed: keys are only cut up to it. */
  #longestPrefix = 0;

  add(group: G, place: IndexPlace): void {
    if (place.kind === "range") return void this.#ranges.add(group);
    const map = place.kind === "key" ? this.#byKey : this.#byPrefix;
    let set = map.get(place.at);
    if (!set) map.set(place.at, (set = new Set()));
    set.add(group);
    if (place.kind === "prefix") this.#longestPrefix = Math.max(this.#longestPrefix, place.at.length);
  }

  remove(group: G, place: IndexPlace): void {
    if (place.kind === "range") return void this.#ranges.delete(group);
    const map = place.kind === "key" ? this.#byKey : this.#byPrefix;
    const set = map.get(place.at);
    if (!set?.delete(group) || set.size > 0) return;
    map.delete(place.at);
    if (map.size === 0 && place.kind === "prefix") this.#longestPrefix = 0;
  }

  /** Calls `visit` for every group whose span may hold `key` (each at most once). */
  candidates(key: Bytes, visit: (group: G) => void): void {
    const text = this.#byKey.size > 0 || this.#byPrefix.size > 0 ? byteString(key) : "";
    this.#byKey.get(text)?.forEach(visit);
    if (this.#byPrefix.size > 0) {
      const longest = Math.min(text.length, this.#longestPrefix);
      for (let n = 1; n <= longest; n++) this.#byPrefix.get(text.slice(0, n))?.forEach(visit);
    }
    this.#ranges.forEach(visit);
  }
}
