/**
 * etcd's JWT auth tokens (--auth-token jwt,…): the member a login was proposed on signs a token
 * with the user's name, the auth revision the login was applied at and an expiry; any member
 * holding the key checks one without asking the others. A token checked once is remembered
 * (bounded, least recently used forgotten first), so its signature is verified once rather than
 * on every request.
 *
 * Owns: the keys, read once at start-up, and signing and verifying with jose. Never: decides who
 * may do what (the auth store does, with the revision a token carries), or learns tokens from the
 * log.
 */
import { readFileSync, statSync } from "node:fs";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { compactVerify, type CryptoKey, importPKCS8, importSPKI, SignJWT } from "jose";
import type { AuthTokenSpec, JwtSignMethod } from "../config/auth_token.ts";
import { AUTH_JWT_CHECKED_BYTES_MAX, AUTH_JWT_KEY_FILE_BYTES_MAX, AUTH_TOKEN_BYTES_MAX, AUTH_TOKENS_KEPT_MAX } from "../config/limits.ts";
import { EtcdError, GrpcCode } from "../etcd/errors.ts";

export type JwtSpec = Extract<AuthTokenSpec, { kind: "jwt" }>;

/** Who a token names and the auth revision it was signed at. */
export interface JwtClaims {
  user: string;
  revision: number;
}

/** etcd's answer to a login on a member given only a public key (its auth.ErrVerifyOnly, code 2). */
export const verifyOnlyError = new EtcdError(GrpcCode.UNKNOWN, "auth: token signing attempted with verify-only key");

type Keys = { sign?: CryptoKey | Uint8Array; verify: CryptoKey | Uint8Array };

export class JwtTokens {
  readonly #method: JwtSignMethod;
  readonly #ttlMs: number;
  readonly #keys: Keys;
  /** Tokens whose signature held, with what they say, oldest use first, and their bytes. */
  readonly #checked = new Map<string, CheckedClaims>();
  #checkedBytes = 0;

  private constructor(spec: JwtSpec, keys: Keys) {
    this.#method = spec.signMethod;
    this.#ttlMs = spec.ttlMs;
    this.#keys = keys;
  }

  /** Reads the key files the spec names; why not, in etcd's words, when they are missing, unreadable, of the wrong kind or do not match. */
  static async load(spec: JwtSpec): Promise<JwtTokens | { error: string }> {
    const files: { privateKey?: Buffer; publicKey?: Buffer } = {};
    for (const [which, path] of [["privateKey", spec.privateKeyFile], ["publicKey", spec.publicKeyFile]] as const) {
      if (path === undefined) continue;
      try {
        if (statSync(path).size > AUTH_JWT_KEY_FILE_BYTES_MAX) return { error: `problem loading JWT options: ${path} is larger than ${AUTH_JWT_KEY_FILE_BYTES_MAX} bytes: auth: invalid auth options` };
        files[which] = readFileSync(path);
      } catch (e) {
        return { error: `problem loading JWT options: ${(e as Error).message}: auth: invalid auth options` };
      }
    }
    const keys = await keysFor(spec.signMethod, files);
    return "error" in keys ? keys : new JwtTokens(spec, keys);
  }

  /** Checked tokens remembered now. */
  get checkedCount(): number {
    return this.#checked.size;
  }

  /** Whether this member may only check tokens (it was given a public key alone). */
  get verifyOnly(): boolean {
    return this.#keys.sign === undefined;
  }

  /** A signed token for `user` at auth revision `revision`, expiring the TTL after `nowMs` (wall clock). */
  async sign(user: string, revision: number, nowMs: number): Promise<string | EtcdError> {
    if (!this.#keys.sign) return verifyOnlyError;
    return await new SignJWT({ username: user, revision })
      .setProtectedHeader({ alg: this.#method, typ: "JWT" })
      .setExpirationTime(Math.floor((nowMs + this.#ttlMs) / 1_000))
      .sign(this.#keys.sign);
  }

  /**
   * What a token says, or undefined for one not signed with this cluster's key and method, malformed,
   * or expired at `nowMs` (wall clock). Expired means at or past its exp, as the golang-jwt (v4)
   * Debian's etcd 3.4.23 is built with decides (`now.Before(exp)`).
   */
  async claims(token: string, nowMs: number): Promise<JwtClaims | undefined> {
    const known = this.#checked.get(token);
    if (known) {
      this.#forget(token);
      if (expired(known, nowMs)) return undefined;
      this.#remember(token, known);
      return { user: known.user, revision: known.revision };
    }
    if (token.length > AUTH_TOKEN_BYTES_MAX) return undefined;
    let payload: unknown;
    try {
      const verified = await compactVerify(token, this.#keys.verify, { algorithms: [this.#method] });
      payload = JSON.parse(new TextDecoder().decode(verified.payload));
    } catch {
      return undefined;
    }
    const claims = claimsOf(payload);
    if (!claims || expired(claims, nowMs)) return undefined;
    this.#remember(token, claims);
    return { user: claims.user, revision: claims.revision };
  }

  /** Keeps a checked token as the most recently used, the least recently used forgotten past the count or byte bound. */
  #remember(token: string, claims: CheckedClaims): void {
    this.#checked.set(token, claims);
    this.#checkedBytes += token.length + claims.user.length;
    while (this.#checked.size > AUTH_TOKENS_KEPT_MAX || this.#checkedBytes > AUTH_JWT_CHECKED_BYTES_MAX) {
      this.#forget(this.#checked.keys().next().value!);
    }
  }

  #forget(token: string): void {
    const claims = this.#checked.get(token);
    if (!claims) return;
    this.#checked.delete(token);
    this.#checkedBytes -= token.length + claims.user.length;
  }
}

/** What a checked token says, with its expiry in ms (none: it never expires, as golang-jwt allows). */
type CheckedClaims = JwtClaims & { expMs?: number };

const expired = (claims: CheckedClaims, nowMs: number) => claims.expMs !== undefined && nowMs >= claims.expMs;

/** etcd's claims: a user name, an auth revision and (optionally) an expiry in Unix seconds. */
function claimsOf(payload: unknown): CheckedClaims | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const { username, revision, exp } = payload as Record<string, unknown>;
  if (typeof username !== "string" || !Number.isSafeInteger(revision) || (revision as number) < 0) return undefined;
  if (exp !== undefined && typeof exp !== "number") return undefined;
  return { user: username, revision: revision as number, ...(exp !== undefined ? { expMs: exp * 1_000 } : {}) };
}

const KEY_KIND: Record<"RS" | "PS" | "ES", { type: string; name: string }> = {
  RS: { type: "rsa", name: "RSA" },
  PS: { type: "rsa", name: "RSA" },
  ES: { type: "ec", name: "ECDSA" },
};

/** The keys for a method from the files' bytes, checked as etcd checks them. */
async function keysFor(method: JwtSignMethod, files: { privateKey?: Buffer; publicKey?: Buffer }): Promise<Keys | { error: string }> {
  if (method.startsWith("HS")) {
    if (!files.privateKey?.length) return { error: "auth: missing key data" };
    const secret = new Uint8Array(files.privateKey);
    return { sign: secret, verify: secret };
  }
  const kind = KEY_KIND[method.slice(0, 2) as keyof typeof KEY_KIND];
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject | undefined;
  try {
    if (files.privateKey?.length) privateKey = createPrivateKey(files.privateKey);
  } catch {
    return { error: "invalid key: Key must be PEM encoded PKCS1 or PKCS8 private key" };
  }
  try {
    if (files.publicKey?.length) publicKey = createPublicKey(files.publicKey);
  } catch {
    return { error: "invalid key: Key must be PEM encoded PKCS1 or PKCS8 public key" };
  }
  if (privateKey && privateKey.asymmetricKeyType !== kind.type) return { error: `key is not a valid ${kind.name} private key` };
  if (publicKey && publicKey.asymmetricKeyType !== kind.type) return { error: `key is not a valid ${kind.name} public key` };
  if (!privateKey && !publicKey) return { error: "auth: missing key data" };
  const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }) as string;
  const derived = privateKey && createPublicKey(privateKey);
  if (derived && publicKey && spki(derived) !== spki(publicKey)) return { error: "auth: public and private keys don't match" };
  try {
    const verify = await importSPKI(spki(publicKey ?? derived!), method);
    if (!privateKey) return { verify };
    return { sign: await importPKCS8(privateKey.export({ type: "pkcs8", format: "pem" }) as string, method), verify };
  } catch (e) {
    return { error: `the key does not fit ${method}: ${(e as Error).message}` };
  }
}
