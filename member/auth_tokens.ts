/**
 * etcd's simple auth tokens on one member: every member learns each token when it applies the
 * authenticate entry that made it (so any member takes it), forgets it once unused for
 * --auth-token-ttl (each use counts), and forgets a user's tokens when the user is deleted or its password
 * changes, and all of them when auth is turned off.
 *
 * Owns: the token → user map and its idle clock (the member hands it `now`). Never: makes tokens
 * (an applied entry does) or checks passwords.
 */
import { AUTH_TOKENS_KEPT_MAX } from "../config/limits.ts";

export class SimpleTokens {
  /** In order of last use, oldest first (a Map keeps insertion order; a use moves a token to the end). */
  readonly #tokens = new Map<string, { user: string; usedMs: number }>();
  readonly #idleMs: number;

  /** `idleMs`: a token unused this long is forgotten (--auth-token-ttl). */
  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  assign(token: string, user: string, nowMs: number): void {
    this.#tokens.set(token, { user, usedMs: nowMs });
    this.#expire(nowMs);
    if (this.#tokens.size > AUTH_TOKENS_KEPT_MAX) this.#tokens.delete(this.#tokens.keys().next().value!);
  }

  /** The user a token names, its idle clock restarted; undefined for a token unknown or idle too long. */
  user(token: string, nowMs: number): string | undefined {
    const entry = this.#tokens.get(token);
    if (!entry) return undefined;
    this.#tokens.delete(token);
    if (nowMs - entry.usedMs >= this.#idleMs) return undefined;
    entry.usedMs = nowMs;
    this.#tokens.set(token, entry);
    return entry.user;
  }

  forgetUser(user: string): void {
    for (const [token, entry] of this.#tokens) if (entry.user === user) this.#tokens.delete(token);
  }

  clear(): void {
    this.#tokens.clear();
  }

  get size(): number {
    return this.#tokens.size;
  }

  /** Drops tokens idle too long, oldest first, stopping at the first still fresh. */
  #expire(nowMs: number): void {
    for (const [token, entry] of this.#tokens) {
      if (nowMs - entry.usedMs < this.#idleMs) return;
      this.#tokens.delete(token);
    }
  }
}
