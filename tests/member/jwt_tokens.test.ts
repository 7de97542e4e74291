/**
 * Signed auth tokens on a member (member/jwt_tokens.ts): keys read as etcd reads them (PKCS#1 and
 * SEC1 PEM from openssl, a public key alone for a member that only checks), refused in its words
 * when missing, mismatched or of the wrong kind; a token one member signs another checks; what a
 * token says; expiry to the second, also for a token checked before; tokens altered, too long or
 * saying too little name no one.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { SignJWT } from "jose";
import type { JwtSignMethod } from "../../config/auth_token.ts";
import { AUTH_JWT_CHECKED_BYTES_MAX, AUTH_JWT_KEY_FILE_BYTES_MAX, AUTH_TOKEN_BYTES_MAX } from "../../config/limits.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { JwtTokens } from "../../member/jwt_tokens.ts";
import { type JwtKeyFiles, makeJwtKeys } from "../../testkit/certs.ts";
import { tempDir } from "../../testkit/processes.ts";

let keys: JwtKeyFiles;
before(() => {
  keys = makeJwtKeys();
});

const spec = (signMethod: JwtSignMethod, files: { privateKeyFile?: string; publicKeyFile?: string }, ttlMs = 60_000) =>
  ({ kind: "jwt" as const, signMethod, ttlMs, unknownOptions: [], ...files });

async function load(signMethod: JwtSignMethod, files: { privateKeyFile?: string; publicKeyFile?: string }, ttlMs?: number): Promise<JwtTokens> {
  const tokens = await JwtTokens.load(spec(signMethod, files, ttlMs));
  if ("error" in tokens) throw new Error(tokens.error);
  return tokens;
}

async function signed(tokens: JwtTokens, user: string, revision: number, nowMs: number): Promise<string> {
  const token = await tokens.sign(user, revision, nowMs);
  if (isEtcdError(token)) throw new Error(token.message);
  return token;
}

test("jwt tokens > a token one member signs, another holding only the public key checks: the user and the auth revision", async () => {
  for (const [method, privateKeyFile, publicKeyFile] of [["RS256", keys.rsaPrivate, keys.rsaPublic], ["PS512", keys.rsaPrivate, keys.rsaPublic], ["ES256", keys.ecPrivate, keys.ecPublic]] as const) {
    const signer = await load(method, { privateKeyFile, publicKeyFile });
    const checker = await load(method, { publicKeyFile });
    assert.equal(checker.verifyOnly, true);
    const now = Date.now();
    const token = await signed(signer, "alice", 7, now);
    assert.deepEqual(await checker.claims(token, now), { user: "alice", revision: 7 }, method);
    assert.deepEqual(await signer.claims(token, now), { user: "alice", revision: 7 }, method);
    assert.ok(isEtcdError(await checker.sign("alice", 7, now)), `${method}: a verify-only member signed`);
  }
  const hmac = await load("HS256", { privateKeyFile: keys.secret });
  const now = Date.now();
  assert.deepEqual(await hmac.claims(await signed(hmac, "bob", 2, now), now), { user: "bob", revision: 2 });
});

test("jwt tokens > valid until its expiry second begins, then not — also once checked before (Debian's etcd: now.Before(exp))", async () => {
  const tokens = await load("HS256", { privateKeyFile: keys.secret }, 10_000);
  const signedAt = 1_700_000_000_500;
  const token = await signed(tokens, "alice", 3, signedAt);
  const expiryMs = Math.floor((signedAt + 10_000) / 1_000) * 1_000;
  assert.deepEqual(await tokens.claims(token, expiryMs - 1), { user: "alice", revision: 3 });
  assert.equal(await tokens.claims(token, expiryMs), undefined);
  const fresh = await load("HS256", { privateKeyFile: keys.secret }, 10_000);
  assert.equal(await fresh.claims(token, expiryMs), undefined, "expired, never checked before");
});

test("jwt tokens > altered, foreign, unsigned, too long or saying too little: no one", async () => {
  const tokens = await load("RS256", { privateKeyFile: keys.rsaPrivate });
  const now = Date.now();
  const token = await signed(tokens, "alice", 3, now);
  const [header, payload, signature] = token.split(".");
  const other = Buffer.from(JSON.stringify({ username: "root", revision: 3, exp: Math.floor(now / 1_000) + 60 })).toString("base64url");
  const secret = new Uint8Array(Buffer.from("x"));
  const cases: Record<string, string> = {
    "another payload": `${header}.${other}.${signature}`,
    "no signature": `${header}.${payload}.`,
    "alg none": `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`,
    "HS256 instead": await new SignJWT({ username: "root", revision: 3 }).setProtectedHeader({ alg: "HS256" }).sign(secret),
    "too long": `${token}${"A".repeat(AUTH_TOKEN_BYTES_MAX)}`,
    "not a JWT": "abc.1",
  };
  for (const [name, forged] of Object.entries(cases)) assert.equal(await tokens.claims(forged, now), undefined, name);
  const hmac = await load("HS256", { privateKeyFile: keys.secret });
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new Uint8Array(readFileSync(keys.secret)));
  assert.equal(await hmac.claims(await sign({ revision: 3 }), now), undefined, "no user");
  assert.equal(await hmac.claims(await sign({ username: "a", revision: "3" }), now), undefined, "a revision that is not a number");
  assert.deepEqual(await hmac.claims(await sign({ username: "a", revision: 3 }), now), { user: "a", revision: 3 }, "no expiry: golang-jwt takes it");
});

test("jwt tokens > checked tokens are remembered within a byte bound, the least recently used forgotten first", async () => {
  const tokens = await load("HS256", { privateKeyFile: keys.secret });
  const now = Date.now();
  const longName = "u".repeat(5_000);
  const perToken = (await signed(tokens, longName, 1, now)).length + longName.length;
  const count = Math.ceil((AUTH_JWT_CHECKED_BYTES_MAX * 1.2) / perToken);
  const first = await signed(tokens, `${longName}0`, 1, now);
  assert.ok(await tokens.claims(first, now));
  for (let i = 1; i < count; i++) assert.ok(await tokens.claims(await signed(tokens, `${longName}${i}`, 1, now), now));
  assert.ok(tokens.checkedCount < count && tokens.checkedCount * perToken <= AUTH_JWT_CHECKED_BYTES_MAX * 1.01, `${tokens.checkedCount} of ${count} kept`);
  assert.ok(tokens.checkedCount * perToken > AUTH_JWT_CHECKED_BYTES_MAX * 0.9, `only ${tokens.checkedCount} kept`);
  // The first was forgotten, not refused: it is checked again and still names its user.
  assert.equal((await tokens.claims(first, now))?.user, `${longName}0`);
});

test("jwt tokens > keys refused in etcd's words: none, a mismatched pair, the wrong kind, unreadable, too large", async () => {
  const dir = tempDir("jwt-bad");
  const huge = join(dir, "huge.pem");
  writeFileSync(huge, "x".repeat(AUTH_JWT_KEY_FILE_BYTES_MAX + 1));
  const other = makeJwtKeys();
  const cases: [JwtSignMethod, { privateKeyFile?: string; publicKeyFile?: string }, RegExp][] = [
    ["RS256", {}, /^auth: missing key data$/],
    ["HS256", { publicKeyFile: keys.rsaPublic }, /^auth: missing key data$/],
    ["RS256", { privateKeyFile: keys.rsaPrivate, publicKeyFile: other.rsaPublic }, /^auth: public and private keys don't match$/],
    ["RS256", { privateKeyFile: keys.ecPrivate }, /^key is not a valid RSA private key$/],
    ["ES256", { publicKeyFile: keys.rsaPublic }, /^key is not a valid ECDSA public key$/],
    ["ES384", { privateKeyFile: keys.ecPrivate }, /does not fit ES384/],
    ["RS256", { privateKeyFile: join(dir, "missing") }, /ENOENT.*auth: invalid auth options$/],
    ["RS256", { privateKeyFile: huge }, /larger than 65536 bytes/],
    ["RS256", { privateKeyFile: keys.secret }, /Key must be PEM encoded/],
  ];
  for (const [method, files, expected] of cases) {
    const loaded = await JwtTokens.load(spec(method, files));
    assert.ok("error" in loaded, `${method} ${JSON.stringify(files)} loaded`);
    assert.match(loaded.error, expected, `${method} ${JSON.stringify(files)}`);
  }
});
