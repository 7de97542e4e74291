/**
 * Keys and values between what callers give (text or bytes) and etcd's JSON (standard base64),
 * with no runtime's own helpers (no Buffer, no node: imports): the same code in a browser, Deno,
 * Bun, Node and an edge function.
 *
 * Owns: those conversions and the end of a prefix's range. Never: talks to a server.
 */

/** A key or a value as a caller gives it: text (UTF-8) or bytes. */
export type BytesLike = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(b: BytesLike): Uint8Array {
  return typeof b === "string" ? encoder.encode(b) : b;
}

export function toText(b: Uint8Array): string {
  return decoder.decode(b);
}

export function toBase64(b: BytesLike): string {
  const bytes = toBytes(b);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(s: string | undefined): Uint8Array {
  if (!s) return new Uint8Array(0);
  const binary = atob(s);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix; "\0" for every key). */
export function prefixEnd(prefix: BytesLike): Uint8Array {
  const end = toBytes(prefix).slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}
