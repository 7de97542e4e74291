/**
 * Simple tokens on a member (member/auth_tokens.ts) and password hashes (member/passwords.ts):
 * a token names its user until five minutes without use (each use restarts the clock), a user's
 * tokens go with its deletion, the number kept is bounded; a password checks against its hash
 * and nothing else does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_AUTH_TOKEN_TTL_S } from "../../config/defaults.ts";
import { AUTH_TOKENS_KEPT_MAX } from "../../config/limits.ts";
import { SimpleTokens } from "../../member/auth_tokens.ts";
import { hashPassword, passwordMatches } from "../../member/passwords.ts";

const AUTH_SIMPLE_TOKEN_IDLE_MS = DEFAULT_AUTH_TOKEN_TTL_S * 1_000;

test("simple tokens > a token lives while used within five minutes; a user's tokens go with the user", () => {
  const tokens = new SimpleTokens(AUTH_SIMPLE_TOKEN_IDLE_MS);
  tokens.assign("aaa.5", "alice", 0);
  tokens.assign("bbb.6", "bob", 0);
  assert.equal(tokens.user("aaa.5", AUTH_SIMPLE_TOKEN_IDLE_MS - 1), "alice");
  // Used just now: another almost-five minutes is fine; bob's was never used again and is gone.
  assert.equal(tokens.user("aaa.5", 2 * AUTH_SIMPLE_TOKEN_IDLE_MS - 2), "alice");
  assert.equal(tokens.user("bbb.6", AUTH_SIMPLE_TOKEN_IDLE_MS), undefined);
  assert.equal(tokens.user("nope.1", 0), undefined);
  tokens.assign("ccc.7", "alice", 0);
  tokens.forgetUser("alice");
  assert.equal(tokens.user("ccc.7", 1), undefined);
  assert.equal(tokens.size, 0);
});

test("simple tokens > no more than the limit are kept: the least recently used goes first", () => {
  const tokens = new SimpleTokens(AUTH_SIMPLE_TOKEN_IDLE_MS);
  for (let i = 0; i < AUTH_TOKENS_KEPT_MAX; i++) tokens.assign(`t.${i}`, "u", 0);
  tokens.user("t.0", 1);
  tokens.assign("t.new", "u", 2);
  assert.equal(tokens.size, AUTH_TOKENS_KEPT_MAX);
  assert.equal(tokens.user("t.0", 3), "u", "a token just used was dropped");
  assert.equal(tokens.user("t.1", 3), undefined);
});

test("passwords > a hash checks its password only, and is salted", async () => {
  const [one, two] = await Promise.all([hashPassword("s3cret"), hashPassword("s3cret")]);
  assert.notEqual(one, two);
  assert.equal(await passwordMatches("s3cret", one), true);
  assert.equal(await passwordMatches("s3cret!", one), false);
  assert.equal(await passwordMatches("", one), false);
  assert.equal(await passwordMatches("s3cret", "not a hash"), false);
  assert.equal(await passwordMatches("s3cret", one.replace(/\$16384\$/, "$1073741824$")), false, "a hash naming an absurd cost is not run");
});
