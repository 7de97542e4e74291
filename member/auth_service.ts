/**
 * etcd's Auth service on a member: who a request's token names, what it may do before it is
 * proposed or read, logging in, and the user and role calls — each change proposed through the
 * log (the store applies it, and checks the caller again), each read answered from the applied
 * auth store.
 *
 * Owns: turning tokens into callers (SimpleTokens, fed by applied authenticate entries, or signed
 * JwtTokens), hashing
 * passwords before they are proposed and checking them before a login is, and the Auth calls'
 * answers in etcd's words. Never: the rules of the auth store (store/auth.ts) or what a request
 * needs (etcd/auth_needs.ts).
 */
import { randomBytes } from "node:crypto";
import { type AuthCommand, AuthErrors, type AuthRole, type AuthUser, maintenanceDenied, ROOT } from "../etcd/auth.ts";
import type { Need } from "../etcd/auth_needs.ts";
import type { CallerAuth, CommandResult } from "../etcd/commands.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { Errors as ServerErrors } from "../etcd/server_errors.ts";
import { AUTH_LOGIN_ATTEMPTS_MAX } from "../config/limits.ts";
import type { AuthTable, Interval } from "../store/auth.ts";
import { SimpleTokens } from "./auth_tokens.ts";
import { type JwtTokens, verifyOnlyError } from "./jwt_tokens.ts";
import { hashPassword, passwordMatches } from "./passwords.ts";

export interface AuthServiceHooks {
  /** The auth store as applied so far. */
  store(): AuthTable;
  /** Proposes an auth change on behalf of `caller`; resolves once applied. */
  propose(command: AuthCommand, caller: CallerAuth | undefined): Promise<CommandResult>;
  /** A monotonic clock, ms (simple tokens' idle time). */
  now(): number;
  /** The wall clock, ms (a JWT's expiry, which every member reads). */
  wallClockMs(): number;
}

/** What an applied authenticate entry answers the member that proposed it. */
export interface LoginApplied {
  /** The simple token every member now knows. */
  token: string;
  /** The auth revision the login was applied at (a JWT carries it; a login checked at another is tried again). */
  authRevision: number;
}

/** What a caller may do, as the console shows it: with auth off, or as root, anything. */
export interface CallerAccess {
  authEnabled: boolean;
  /** Empty with auth off. */
  user: string;
  /** Root's calls: membership, maintenance, users and roles. */
  admin: boolean;
  /** Key intervals it may read and write, sorted and merged; an empty end runs to the end of the key space. */
  read: readonly Interval[];
  write: readonly Interval[];
}

const EVERY_KEY: readonly Interval[] = [{ start: new Uint8Array([0]), end: new Uint8Array(0) }];

/** etcd's answer to a password given for a user added with no password (code 2, from its auth package). */
const noPasswordUser = new EtcdError(GrpcCode.UNKNOWN, "auth: authentication failed, password was given for no password user");

/**
 * Who a request is from, as its token says: undefined with auth off and no token, or why the token
 * names no one — answered only by calls that ask who is calling, as in etcd (status and member
 * list never do).
 */
export type Caller = CallerAuth | undefined | EtcdError;

const TOKEN_PREFIX_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** 16 random letters, as etcd's simple token prefix. */
function tokenPrefix(): string {
  return [...randomBytes(16)].map((b) => TOKEN_PREFIX_LETTERS[b % TOKEN_PREFIX_LETTERS.length]).join("");
}

export class AuthService {
  readonly #hooks: AuthServiceHooks;
  readonly #tokens: SimpleTokens | JwtTokens;

  constructor(hooks: AuthServiceHooks, tokens: SimpleTokens | JwtTokens) {
    this.#hooks = hooks;
    this.#tokens = tokens;
  }

  /**
   * Who a request is from: undefined while auth is off and no token is given (nothing is checked);
   * no user (revision 0) while auth is on and none is given; the token's user — or etcd's "invalid
   * auth token" for a simple token no member made, one idle too long, or any while auth is off;
   * for a JWT not signed with the cluster's key, or expired. A JWT carries the auth revision it was
   * signed at, so any change of users or roles since makes it too old (etcd's rule).
   */
  async caller(token: string | undefined): Promise<Caller> {
    const store = this.#hooks.store();
    if (!token) return store.enabled ? { user: "", revision: 0 } : undefined;
    if (!(this.#tokens instanceof SimpleTokens)) return (await this.#tokens.claims(token, this.#hooks.wallClockMs())) ?? AuthErrors.invalidAuthToken;
    const user = this.#tokens.user(token, this.#hooks.now());
    return user === undefined ? AuthErrors.invalidAuthToken : { user, revision: store.revision };
  }

  /** Whether `caller` may do what `needs` lists now (checked again at apply). */
  check(caller: CallerAuth | undefined, needs: readonly Need[]): EtcdError | undefined {
    return caller === undefined ? undefined : this.#hooks.store().check(caller, needs);
  }

  /**
   * etcd's rule for a read (a range, a read-only txn), after the permission check: a caller whose
   * token carries another auth revision than the store's — a JWT signed before users or roles last
   * changed — is told the store is newer, even with auth off (etcd's doSerialize).
   */
  staleRead(caller: CallerAuth): EtcdError | undefined {
    return caller.revision !== 0 && caller.revision !== this.#hooks.store().revision ? AuthErrors.authOldRevision : undefined;
  }

  /** An applied entry: simple tokens learnt, or forgotten with their user or with auth (a JWT needs neither). */
  applied(command: AuthCommand, result: CommandResult): void {
    if (isEtcdError(result) || !(this.#tokens instanceof SimpleTokens)) return;
    switch (command.op) {
      case "authenticate": {
        const token = (result as LoginApplied | undefined)?.token;
        if (token) this.#tokens.assign(token, command.name, this.#hooks.now());
        return;
      }
      case "userDelete":
      case "userChangePassword":
        return this.#tokens.forgetUser(command.name);
      case "authDisable":
        return this.#tokens.clear();
    }
  }

  /**
   * Logs in: the password is checked here, then the login is proposed; its entry makes the simple
   * token every member knows, or this member signs a JWT. A login applied at another auth revision
   * than the password was checked at (the password changed, the user went) is checked again, as
   * etcd does.
   */
  async authenticate(name: string, password: string): Promise<{ token: string } | EtcdError> {
    const jwt = this.#tokens instanceof SimpleTokens ? undefined : this.#tokens;
    for (let attempt = 0; attempt < AUTH_LOGIN_ATTEMPTS_MAX; attempt++) {
      const store = this.#hooks.store();
      if (!store.enabled) return AuthErrors.authNotEnabled;
      const checkedAt = store.revision;
      const user = store.user(name);
      if (!user) return AuthErrors.authFailed;
      if (user.noPassword) return noPasswordUser;
      if (!(await passwordMatches(password, user.password))) return AuthErrors.authFailed;
      if (jwt?.verifyOnly) return verifyOnlyError;
      const result = await this.#hooks.propose({ op: "authenticate", name, tokenPrefix: jwt ? "" : tokenPrefix() }, undefined);
      if (isEtcdError(result)) return result;
      const applied = result as LoginApplied;
      if (applied.authRevision !== checkedAt) continue;
      if (!jwt) return { token: applied.token };
      const token = await jwt.sign(name, applied.authRevision, this.#hooks.wallClockMs());
      return isEtcdError(token) ? token : { token };
    }
    return ServerErrors.timeout;
  }

  async userAdd(caller: CallerAuth | undefined, name: string, password: string, noPassword: boolean): Promise<CommandResult> {
    const denied = this.admin(caller);
    if (denied) return denied;
    if (name.length === 0) return AuthErrors.userEmpty;
    return this.#hooks.propose({ op: "userAdd", name, password: noPassword ? "" : await hashPassword(password), noPassword }, caller);
  }

  async userChangePassword(caller: CallerAuth | undefined, name: string, password: string): Promise<CommandResult> {
    const denied = this.admin(caller);
    if (denied) return denied;
    return this.#hooks.propose({ op: "userChangePassword", name, password: await hashPassword(password) }, caller);
  }

  /** Every other change: root's alone while auth is on. */
  change(caller: CallerAuth | undefined, command: Exclude<AuthCommand, { op: "authenticate" | "userAdd" | "userChangePassword" }>): Promise<CommandResult> {
    const denied = this.admin(caller);
    return denied ? Promise.resolve(denied) : this.#hooks.propose(command, caller);
  }

  /** A user: root may see anyone, a user itself. */
  userGet(caller: CallerAuth | undefined, name: string): AuthUser | EtcdError {
    const store = this.#hooks.store();
    if (caller?.user !== name || caller.revision === 0) {
      const denied = this.admin(caller);
      if (denied) return denied;
    }
    return store.user(name) ?? AuthErrors.userNotFound;
  }

  /** A role: root may see any, a user the roles it holds. */
  roleGet(caller: CallerAuth | undefined, name: string): AuthRole | EtcdError {
    const store = this.#hooks.store();
    const holds = caller !== undefined && caller.revision !== 0 && (store.user(caller.user)?.roles.includes(name) ?? false);
    if (!holds) {
      const denied = this.admin(caller);
      if (denied) return denied;
    }
    if (name === ROOT && !store.role(ROOT)) return AuthErrors.roleNotFound;
    return store.role(name) ?? AuthErrors.roleNotFound;
  }

  userList(caller: CallerAuth | undefined): string[] | EtcdError {
    return this.admin(caller) ?? this.#hooks.store().userNames();
  }

  roleList(caller: CallerAuth | undefined): string[] | EtcdError {
    return this.admin(caller) ?? this.#hooks.store().roleNames();
  }

  /** What `caller` may do now; etcd's error for a caller that may do nothing (no user, a token too old). */
  access(caller: CallerAuth | undefined): CallerAccess | EtcdError {
    const store = this.#hooks.store();
    if (!store.enabled || caller === undefined) return { authEnabled: false, user: "", admin: true, read: EVERY_KEY, write: EVERY_KEY };
    const refused = store.check(caller, []);
    if (refused) return refused;
    if (store.isRoot(caller.user)) return { authEnabled: true, user: caller.user, admin: true, read: EVERY_KEY, write: EVERY_KEY };
    return { authEnabled: true, user: caller.user, admin: false, ...store.grants(caller.user) };
  }

  /** Root's alone while auth is on (membership calls ask this too: permission denied). */
  admin(caller: CallerAuth | undefined): EtcdError | undefined {
    return this.check(caller, [{ kind: "admin" }]);
  }

  /** Defragment, hash, snapshot and move leader: root's while auth is on, refused in etcd's maintenance server's words. */
  maintenance(caller: Caller): EtcdError | undefined {
    if (isEtcdError(caller)) return caller;
    return this.admin(caller) && maintenanceDenied;
  }
}
