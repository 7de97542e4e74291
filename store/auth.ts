/**
 * The cluster's auth state as replicated state, with etcd 3.4's rules for changing it (its
 * authStore): whether auth is on, the auth revision (raised by every change of users, roles or
 * permissions, so a request checked against an older one is refused at apply), users with their
 * password hashes and roles, roles with their permissions — and the questions asked of it: may
 * this user read or write this key or range, is it root.
 *
 * Owns: the `auth_users` and `auth_roles` tables and the auth rows of `meta` in state.db, an
 * in-memory copy of them, and per user the key ranges it may read and write (rebuilt when a
 * change touches it). Writes land in the caller's transaction (the state's open batch).
 * Never: hashes or checks passwords, or knows about tokens (the member's), or reads a clock.
 */
import { AuthErrors, type AuthRole, type AuthUser, type Permission, type PermType, ROOT } from "../etcd/auth.ts";
import type { Need } from "../etcd/auth_needs.ts";
import type { CallerAuth } from "../etcd/commands.ts";
import type { EtcdError } from "../etcd/errors.ts";
import type { Meta } from "./meta.ts";
import type { Database, Statement } from "./sqlite.ts";

type UserRow = { name: string; password: string; roles: string; no_password: number };
type RoleRow = { name: string; perms: string };
type PermJson = { t: PermType; k: string; e: string };

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
const sameBytes = (a: Uint8Array, b: Uint8Array) => compareBytes(a, b) === 0;

/** A half-open key interval [start, end); end empty means "to the end of the key space". */
export interface Interval {
  start: Uint8Array;
  end: Uint8Array;
}

/** etcd's rangeEnd [0] ("every key from key on") as an interval end: none. */
const TO_END = new Uint8Array(0);

/** The interval a permission or a request covers: a single key is [key, key + \0). */
function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  if (rangeEnd.length === 0) {
    const next = new Uint8Array(key.length + 1);
    next.set(key);
    return { start: key, end: next };
  }
  return { start: key, end: rangeEnd.length === 1 && rangeEnd[0] === 0 ? TO_END : rangeEnd };
}

/** end(a) vs end(b), where an empty end is past every key. */
function compareEnds(a: Uint8Array, b: Uint8Array): number {
  if (a.length === 0 || b.length === 0) return (a.length === 0 ? 1 : 0) - (b.length === 0 ? 1 : 0);
  return compareBytes(a, b);
}

/** Sorted, merged intervals: one lookup per check. */
function merge(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((x, y) => compareBytes(x.start, y.start));
  const out: Interval[] = [];
  for (const next of sorted) {
    const last = out.at(-1);
    if (last && (last.end.length === 0 || compareBytes(next.start, last.end) <= 0)) {
      if (compareEnds(next.end, last.end) > 0) last.end = next.end;
    } else out.push({ ...next });
  }
  return out;
}

function covers(merged: readonly Interval[], wanted: Interval): boolean {
  for (const iv of merged) {
    if (compareBytes(iv.start, wanted.start) > 0) return false;
    if (compareEnds(iv.end, wanted.end) >= 0) return true;
  }
  return false;
}

export class AuthTable {
  readonly #meta: Meta;
  readonly #users = new Map<string, AuthUser>();
  readonly #roles = new Map<string, AuthRole>();
  #enabled: boolean;
  #revision: number;
  /** Per user, what it may read and write, merged; dropped when anything it depends on changes. */
  readonly #ranges = new Map<string, { read: Interval[]; write: Interval[] }>();
  readonly #putUser: Statement;
  readonly #deleteUser: Statement;
  readonly #putRole: Statement;
  readonly #deleteRole: Statement;

  constructor(db: Database, meta: Meta) {
    this.#meta = meta;
    for (const row of db.prepare("SELECT name, password, roles, no_password FROM auth_users").all<UserRow>()) {
      this.#users.set(row.name, { name: row.name, password: row.password, roles: JSON.parse(row.roles), noPassword: row.no_password === 1 });
    }
    for (const row of db.prepare("SELECT name, perms FROM auth_roles").all<RoleRow>()) {
      const perms = (JSON.parse(row.perms) as PermJson[]).map((p) => ({ permType: p.t, key: unb64(p.k), rangeEnd: unb64(p.e) }));
      this.#roles.set(row.name, { name: row.name, perms });
    }
    this.#enabled = meta.number("auth_enabled", 0) === 1;
    // etcd's auth store starts at revision 1 (0 stands for a request from no user).
    this.#revision = meta.number("auth_revision", 1);
    this.#putUser = db.prepare("INSERT OR REPLACE INTO auth_users (name, password, roles, no_password) VALUES (?, ?, ?, ?)");
    this.#deleteUser = db.prepare("DELETE FROM auth_users WHERE name = ?");
    this.#putRole = db.prepare("INSERT OR REPLACE INTO auth_roles (name, perms) VALUES (?, ?)");
    this.#deleteRole = db.prepare("DELETE FROM auth_roles WHERE name = ?");
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get revision(): number {
    return this.#revision;
  }

  user(name: string): AuthUser | undefined {
    return this.#users.get(name);
  }

  role(name: string): AuthRole | undefined {
    return this.#roles.get(name);
  }

  /** Names in byte order, as etcd lists its bucket. */
  userNames(): string[] {
    return [...this.#users.keys()].sort(byBytes);
  }

  roleNames(): string[] {
    return [...this.#roles.keys()].sort(byBytes);
  }

  // ---- questions ----

  isRoot(name: string): boolean {
    return this.#users.get(name)?.roles.includes(ROOT) ?? false;
  }

  /** May `name` read (or write) every key of [key, rangeEnd) — or `key` alone when rangeEnd is empty? Root may do anything. */
  permitted(name: string, kind: "read" | "write", key: Uint8Array, rangeEnd: Uint8Array): boolean {
    const user = this.#users.get(name);
    if (!user) return false;
    if (user.roles.includes(ROOT)) return true;
    const ranges = this.grants(name);
    return covers(kind === "read" ? ranges.read : ranges.write, intervalOf(key, rangeEnd));
  }

  /** The key intervals `name` may read and write through its roles, sorted and merged (none for an unknown user; root's role grants no intervals). */
  grants(name: string): { read: readonly Interval[]; write: readonly Interval[] } {
    const user = this.#users.get(name);
    if (!user) return { read: [], write: [] };
    let ranges = this.#ranges.get(name);
    if (!ranges) {
      const read: Interval[] = [];
      const write: Interval[] = [];
      for (const roleName of user.roles) {
        for (const perm of this.#roles.get(roleName)?.perms ?? []) {
          const iv = intervalOf(perm.key, perm.rangeEnd);
          if (perm.permType !== "WRITE") read.push(iv);
          if (perm.permType !== "READ") write.push(iv);
        }
      }
      ranges = { read: merge(read), write: merge(write) };
      this.#ranges.set(name, ranges);
    }
    return ranges;
  }

  /**
   * Whether `caller` may do what `needs` lists, as etcd's authApplierV3 asks at apply (and the
   * member before proposing): nothing is asked while auth is off; a request checked against no user
   * or an older auth revision is refused; root may do anything.
   */
  check(caller: CallerAuth, needs: readonly Need[]): EtcdError | undefined {
    if (!this.#enabled) return undefined;
    if (caller.revision === 0) return AuthErrors.userEmpty;
    if (caller.revision < this.#revision) return AuthErrors.authOldRevision;
    const user = this.#users.get(caller.user);
    if (!user) return AuthErrors.permissionDenied;
    if (user.roles.includes(ROOT)) return undefined;
    for (const need of needs) {
      if (need.kind === "admin" || !this.permitted(caller.user, need.kind, need.key, need.rangeEnd)) return AuthErrors.permissionDenied;
    }
    return undefined;
  }

  // ---- changes (etcd's authStore rules) ----

  enable(): EtcdError | undefined {
    if (this.#enabled) return undefined;
    const root = this.#users.get(ROOT);
    if (!root) return AuthErrors.rootUserNotExist;
    if (!root.roles.includes(ROOT)) return AuthErrors.rootRoleNotExist;
    this.#enabled = true;
    this.#meta.set("auth_enabled", 1);
    return undefined;
  }

  /** Auth off: a change of the auth revision, as in etcd (enabling is not one). */
  disable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#meta.set("auth_enabled", 0);
    this.#bump();
  }

  userAdd(name: string, password: string, noPassword: boolean): EtcdError | undefined {
    if (name.length === 0) return AuthErrors.userEmpty;
    if (this.#users.has(name)) return AuthErrors.userAlreadyExist;
    this.#saveUser({ name, password: noPassword ? "" : password, roles: [], noPassword });
    this.#bump();
    return undefined;
  }

  userDelete(name: string): EtcdError | undefined {
    if (this.#enabled && name === ROOT) return AuthErrors.invalidAuthMgmt;
    if (!this.#users.has(name)) return AuthErrors.userNotFound;
    this.#deleteUser.run(name);
    this.#users.delete(name);
    this.#ranges.delete(name);
    this.#bump();
    return undefined;
  }

  userChangePassword(name: string, password: string): EtcdError | undefined {
    const user = this.#users.get(name);
    if (!user) return AuthErrors.userNotFound;
    this.#saveUser({ ...user, password });
    this.#bump();
    return undefined;
  }

  userGrantRole(name: string, role: string): EtcdError | undefined {
    const user = this.#users.get(name);
    if (!user) return AuthErrors.userNotFound;
    if (role !== ROOT && !this.#roles.has(role)) return AuthErrors.roleNotFound;
    // Granted already: etcd answers success and changes nothing.
    if (user.roles.includes(role)) return undefined;
    this.#saveUser({ ...user, roles: [...user.roles, role].sort(byBytes) });
    this.#ranges.delete(name);
    this.#bump();
    return undefined;
  }

  userRevokeRole(name: string, role: string): EtcdError | undefined {
    if (this.#enabled && name === ROOT && role === ROOT) return AuthErrors.invalidAuthMgmt;
    const user = this.#users.get(name);
    if (!user) return AuthErrors.userNotFound;
    if (!user.roles.includes(role)) return AuthErrors.roleNotGranted;
    this.#saveUser({ ...user, roles: user.roles.filter((r) => r !== role) });
    this.#ranges.delete(name);
    this.#bump();
    return undefined;
  }

  roleAdd(name: string): EtcdError | undefined {
    if (name.length === 0) return AuthErrors.roleEmpty;
    if (this.#roles.has(name)) return AuthErrors.roleAlreadyExist;
    this.#saveRole({ name, perms: [] });
    this.#bump();
    return undefined;
  }

  roleDelete(name: string): EtcdError | undefined {
    if (this.#enabled && name === ROOT) return AuthErrors.invalidAuthMgmt;
    if (!this.#roles.has(name)) return AuthErrors.roleNotFound;
    this.#deleteRole.run(name);
    this.#roles.delete(name);
    for (const user of this.#users.values()) {
      if (user.roles.includes(name)) this.#saveUser({ ...user, roles: user.roles.filter((r) => r !== name) });
    }
    this.#ranges.clear();
    this.#bump();
    return undefined;
  }

  /** A permission on the same key and range end as one the role has replaces its type; otherwise it is added, in key order. */
  roleGrantPermission(name: string, perm: Permission): EtcdError | undefined {
    const role = this.#roles.get(name);
    if (!role) return AuthErrors.roleNotFound;
    const same = role.perms.findIndex((p) => sameBytes(p.key, perm.key) && sameBytes(p.rangeEnd, perm.rangeEnd));
    const perms = same >= 0
      ? role.perms.map((p, i) => (i === same ? { ...p, permType: perm.permType } : p))
      : [...role.perms, perm].sort((a, b) => compareBytes(a.key, b.key));
    this.#saveRole({ name, perms });
    this.#ranges.clear();
    this.#bump();
    return undefined;
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): EtcdError | undefined {
    const role = this.#roles.get(name);
    if (!role) return AuthErrors.roleNotFound;
    const perms = role.perms.filter((p) => !(sameBytes(p.key, key) && sameBytes(p.rangeEnd, rangeEnd)));
    if (perms.length === role.perms.length) return AuthErrors.permissionNotGranted;
    this.#saveRole({ name, perms });
    this.#ranges.clear();
    this.#bump();
    return undefined;
  }

  #saveUser(user: AuthUser): void {
    this.#putUser.run(user.name, user.password, JSON.stringify(user.roles), user.noPassword ? 1 : 0);
    this.#users.set(user.name, user);
  }

  #saveRole(role: AuthRole): void {
    const perms: PermJson[] = role.perms.map((p) => ({ t: p.permType, k: b64(p.key), e: b64(p.rangeEnd) }));
    this.#putRole.run(role.name, JSON.stringify(perms));
    this.#roles.set(role.name, role);
  }

  #bump(): void {
    this.#revision++;
    this.#meta.set("auth_revision", this.#revision);
  }
}

/** Byte order of UTF-8 names, as etcd's bolt buckets sort them. */
function byBytes(a: string, b: string): number {
  return compareBytes(Buffer.from(a), Buffer.from(b));
}
