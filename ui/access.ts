/**
 * What the console's user may do, as its member says (/concord/v1/access), so pages show what the
 * user may not do as disabled, with the reason on hover, rather than failing on click: root's
 * calls (membership, maintenance) and reading or writing a key or a range.
 *
 * Owns: asking once per login and the questions. Never: enforces anything — every call is checked
 * again by the member; while the answer is not known, nothing is disabled.
 */
import { signal } from "@preact/signals";
import { base64ToBytes, call } from "./api.ts";
import { user } from "./session.ts";

/** A key range [start, end); an empty end runs to the end of the key space. */
interface KeyRange {
  start: Uint8Array;
  end: Uint8Array;
}

interface Access {
  admin: boolean;
  read: KeyRange[];
  write: KeyRange[];
}

type RangeJson = { key?: string; range_end?: string };
type AccessJson = { admin?: boolean; read?: RangeJson[]; write?: RangeJson[] };

export const access = signal<Access | undefined>(undefined);

/** The latest ask: an answer to an earlier one (another login's) arriving late is dropped. */
let asked = 0;

/** Asks the member again (after a login, a logout, or a page shown); the last answer stands meanwhile, and when it cannot answer. */
export async function loadAccess(): Promise<void> {
  const ask = ++asked;
  try {
    const answer = await call<AccessJson>("/concord/v1/access", {});
    if (ask !== asked) return;
    const ranges = (list: RangeJson[] = []) => list.map((r) => {
      const end = base64ToBytes(r.range_end);
      return { start: base64ToBytes(r.key), end: end.length === 1 && end[0] === 0 ? new Uint8Array(0) : end };
    });
    access.value = { admin: answer.admin === true, read: ranges(answer.read), write: ranges(answer.write) };
  } catch {
    // Not logged in, or the member is unreachable: the page says so itself.
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Whether one of the sorted, merged ranges holds all of [start, end) (end empty: to the end). */
function holds(ranges: KeyRange[], start: Uint8Array, end: Uint8Array): boolean {
  return ranges.some((r) => compare(r.start, start) <= 0 && (r.end.length === 0 || (end.length !== 0 && compare(end, r.end) <= 0)));
}

const encoder = new TextEncoder();

/** A key's own range, or a prefix's: [key, key\0), [prefix, prefix+1); the empty prefix is every key. */
function rangeOf(key: string | Uint8Array, prefix: boolean): [Uint8Array, Uint8Array] {
  const bytes = typeof key === "string" ? encoder.encode(key) : key;
  if (!prefix) return [bytes, Uint8Array.of(...bytes, 0)];
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) return [bytes, Uint8Array.of(...bytes.slice(0, i), bytes[i] + 1)];
  }
  return [new Uint8Array([0]), new Uint8Array(0)];
}

const who = () => user.value ?? "this user";

/** Why the user may not use root's calls, or undefined when it may (or it is not known yet). */
export function notAdmin(): string | undefined {
  const known = access.value;
  return known && !known.admin ? `only root may do this (logged in as ${who()})` : undefined;
}

/** Why the user may not write `key` (text, or its bytes; or every key under it, as a prefix — and read it too, if asked), or undefined when it may. */
export function cannotWrite(key: string | Uint8Array, opts: { prefix?: boolean; alsoRead?: boolean } = {}): string | undefined {
  const known = access.value;
  if (!known) return undefined;
  const [start, end] = rangeOf(key, opts.prefix === true);
  const name = typeof key === "string" ? key : new TextDecoder().decode(key);
  const what = opts.prefix ? `every key under "${name}"` : `"${name}"`;
  if (!holds(known.write, start, end)) return `${who()} may not write ${what}`;
  if (opts.alsoRead && !holds(known.read, start, end)) return `${who()} may not read ${what}`;
  return undefined;
}
