/**
 * etcd's --auth-token: `simple` (its default) or `jwt,sign-method=…,priv-key=…,pub-key=…,ttl=…`,
 * read as etcd 3.4 reads it, refused in its words.
 *
 * Owns: the option string's syntax and which signing methods exist. Never: reads the key files
 * (member/jwt_tokens.ts does, at start-up) or makes a token.
 */
import { goDurationMs } from "./go_duration.ts";

/** golang-jwt's signing methods, which etcd accepts by name. */
export const JWT_SIGN_METHODS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] as const;
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number];

export type AuthTokenSpec =
  | { kind: "simple" }
  | { kind: "jwt"; signMethod: JwtSignMethod; privateKeyFile?: string; publicKeyFile?: string; ttlMs: number; unknownOptions: string[] };

/** etcd's default lifetime of a JWT (its jwt DefaultTTL). */
export const JWT_DEFAULT_TTL_MS = 5 * 60_000;

/** etcd's words for an --auth-token it will not start with. */
export const INVALID_AUTH_OPTIONS = "auth: invalid auth options";

const KNOWN_JWT_OPTIONS = new Set(["sign-method", "pub-key", "priv-key", "ttl"]);

/** The spec, or why etcd would not start with it (what etcd logs, then its fatal words). */
export function authTokenSpec(text: string): AuthTokenSpec | { error: string } {
  const [kind, ...pairs] = text.split(",");
  const options = new Map<string, string>();
  for (const pair of pairs) {
    const parts = pair.split("=");
    if (parts.length !== 2) return { error: `invalid token specific option: ${text}: ${INVALID_AUTH_OPTIONS}` };
    if (options.has(parts[0])) return { error: `invalid token specific option, duplicated parameters (${parts[0]}): ${text}: ${INVALID_AUTH_OPTIONS}` };
    options.set(parts[0], parts[1]);
  }
  if (kind === "simple") return { kind: "simple" };
  if (kind !== "jwt") return { error: `unknown token type: ${kind}: ${INVALID_AUTH_OPTIONS}` };
  const ttlText = options.get("ttl");
  const ttlMs = ttlText ? goDurationMs(ttlText) : JWT_DEFAULT_TTL_MS;
  if (ttlMs === undefined) return { error: `problem loading JWT options: time: invalid duration ${JSON.stringify(ttlText)}: ${INVALID_AUTH_OPTIONS}` };
  const signMethod = JWT_SIGN_METHODS.find((m) => m === options.get("sign-method"));
  if (!signMethod) return { error: `problem loading JWT options: auth: invalid auth signature method: ${INVALID_AUTH_OPTIONS}` };
  // etcd starts with options it does not know, and warns.
  const unknown = [...options.keys()].filter((k) => !KNOWN_JWT_OPTIONS.has(k));
  return {
    kind: "jwt", signMethod, ttlMs, unknownOptions: unknown,
    ...(options.get("priv-key") ? { privateKeyFile: options.get("priv-key") } : {}),
    ...(options.get("pub-key") ? { publicKeyFile: options.get("pub-key") } : {}),
  };
}
