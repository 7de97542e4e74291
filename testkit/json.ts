/**
 * Test support: the type of a JSON answer from a member or from etcd, as tests read it.
 *
 * Owns: that one type. Never: values. Tests read answers field by field and assert on them; the
 * assertions are the check, so the type is left open here, once, rather than cast at every read.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;
