/**
 * Test support: the type of a JSON answer from a member or from etcd, as tests read it, and
 * masking the fields that differ between two clusters by nature.
 *
 * Owns: that type and the mask. Never: values. Tests read answers field by field and assert on them; the
 * assertions are the check, so the type is left open here, once, rather than cast at every read.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** A JSON answer with every field named in `varying` (at any depth) replaced by `<name>`: what differs between two clusters by nature. */
export function maskFields(value: unknown, varying: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => maskFields(v, varying));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, varying.has(k) ? `<${k}>` : maskFields(v, varying)]));
  }
  return value;
}
