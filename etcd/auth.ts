/**
 * etcd's auth vocabulary: users, roles, permissions on a key or a range, the auth commands a
 * member replicates, and the errors of etcd's auth store in its words and codes.
 *
 * Owns: those types and errors. Never: rules (store/auth.ts applies them) or tokens.
 */
import { EtcdError, GrpcCode } from "./errors.ts";

export type PermType = "READ" | "WRITE" | "READWRITE";
export const PERM_TYPES: readonly PermType[] = ["READ", "WRITE", "READWRITE"];

/** A permission on `key` alone (empty rangeEnd), or on [key, rangeEnd); rangeEnd [0] is "to the end". */
export interface Permission {
  permType: PermType;
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

export interface AuthUser {
  name: string;
  /** The password's hash (passwords.ts); empty for a user added with no password. */
  password: string;
  /** Sorted, as etcd keeps them. */
  roles: string[];
  noPassword: boolean;
}

export interface AuthRole {
  name: string;
  /** Sorted by key, as etcd keeps them. */
  perms: Permission[];
}

/** The user and role etcd treats specially. */
export const ROOT = "root";

/** Auth changes, replicated like any write; a password arrives hashed by the member that proposed it. */
export type AuthCommand =
  | { op: "authEnable" }
  | { op: "authDisable" }
  | { op: "authenticate"; name: string; tokenPrefix: string }
  | { op: "userAdd"; name: string; password: string; noPassword: boolean }
  | { op: "userDelete"; name: string }
  | { op: "userChangePassword"; name: string; password: string }
  | { op: "userGrantRole"; user: string; role: string }
  | { op: "userRevokeRole"; name: string; role: string }
  | { op: "roleAdd"; name: string }
  | { op: "roleDelete"; role: string }
  | { op: "roleGrantPermission"; name: string; perm: Permission }
  | { op: "roleRevokePermission"; role: string; key: Uint8Array; rangeEnd: Uint8Array };

const AUTH_OPS: ReadonlySet<string> = new Set<AuthCommand["op"]>([
  "authEnable", "authDisable", "authenticate", "userAdd", "userDelete", "userChangePassword", "userGrantRole", "userRevokeRole",
  "roleAdd", "roleDelete", "roleGrantPermission", "roleRevokePermission",
]);

export const isAuthCommand = (c: { op: string }): c is AuthCommand => AUTH_OPS.has(c.op);

const failed = (message: string) => new EtcdError(GrpcCode.FAILED_PRECONDITION, message);
const invalid = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message);

export const AuthErrors = {
  rootUserNotExist: failed("etcdserver: root user does not exist"),
  rootRoleNotExist: failed("etcdserver: root user does not have root role"),
  userAlreadyExist: failed("etcdserver: user name already exists"),
  userEmpty: invalid("etcdserver: user name is empty"),
  userNotFound: failed("etcdserver: user name not found"),
  roleAlreadyExist: failed("etcdserver: role name already exists"),
  roleNotFound: failed("etcdserver: role name not found"),
  roleEmpty: invalid("etcdserver: role name is empty"),
  authFailed: invalid("etcdserver: authentication failed, invalid user ID or password"),
  permissionDenied: new EtcdError(GrpcCode.PERMISSION_DENIED, "etcdserver: permission denied"),
  roleNotGranted: failed("etcdserver: role is not granted to the user"),
  permissionNotGranted: failed("etcdserver: permission is not granted to the role"),
  authNotEnabled: failed("etcdserver: authentication is not enabled"),
  invalidAuthToken: new EtcdError(GrpcCode.UNAUTHENTICATED, "etcdserver: invalid auth token"),
  invalidAuthMgmt: invalid("etcdserver: invalid auth management"),
  authOldRevision: invalid("etcdserver: revision of auth store is old"),
} as const;

/** etcd's maintenance server refuses non-root callers (defragment, hash, snapshot, move leader) with its auth package's words, code 2. */
export const maintenanceDenied = new EtcdError(GrpcCode.UNKNOWN, "auth: permission denied");
