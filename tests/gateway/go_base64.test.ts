/**
 * Go's base64 as the gateway decodes it: the fast check for canonical padded base64 accepts
 * exactly what the definition (whole quads, then an optional padded last quad) accepts, over every
 * short string of a small alphabet, and a large value is decoded byte for byte.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeGoBase64, isCanonicalBase64 } from "../../gateway/compat/go_base64.ts";

const DEFINITION = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

test("go base64 > the fast check accepts exactly canonical padded base64", () => {
  const alphabet = ["A", "/", "=", "\n", "-"];
  let checked = 0;
  const visit = (s: string) => {
    assert.equal(isCanonicalBase64(s), DEFINITION.test(s), JSON.stringify(s));
    checked++;
    if (s.length < 8) for (const c of alphabet) visit(s + c);
  };
  visit("");
  assert.ok(checked > 400_000);
});

test("go base64 > a 1.4 MiB value decodes to its bytes", () => {
  const bytes = new Uint8Array(1.4 * 1024 * 1024).map((_, i) => (i * 7919) & 255);
  const out = decodeGoBase64(bytes.toBase64());
  assert.ok(out.ok);
  assert.deepEqual(out.bytes, bytes);
});
