/**
 * etcd's Auth service over gRPC: AuthEnable, AuthDisable, Authenticate, User* and Role*.
 *
 * Owns: each call's request and response messages (etcd's field names; a permission's type as
 * authpb's enum number). Never: the rules (the member's auth service and the store).
 */
import { type AuthCommand, PERM_TYPES } from "../etcd/auth.ts";
import type { CommandResult } from "../etcd/commands.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { Answer, ServiceImplementation } from "./calls.ts";
import type { ProtoMessage } from "./protos.ts";
import { bool, bytes, int } from "./requests.ts";
import { fields, header } from "./responses.ts";
import { unary, type UnaryHandler } from "./unary.ts";

const text = (m: ProtoMessage, field: string) => (m[field] as string | undefined) ?? "";
const sub = (m: ProtoMessage, field: string) => (m[field] as ProtoMessage | undefined) ?? {};

/** etcd's answer to a role grant without a permission (etcd 3.4.23 crashes applying one). */
const permissionNotGiven = new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: permission not given");

async function changed(api: ApiMember, result: Promise<CommandResult>): Promise<Answer> {
  const outcome = await result;
  return isEtcdError(outcome) ? outcome : fields().message("header", header(api.header, api.revision)).done();
}

/** A call that is nothing but a change, root's while auth is on. */
function change(command: (m: ProtoMessage) => Exclude<AuthCommand, { op: "authenticate" | "userAdd" | "userChangePassword" }>): UnaryHandler {
  return (api, m, caller) => (isEtcdError(caller) ? caller : changed(api, api.auth.change(caller, command(m))));
}

const authenticate: UnaryHandler = async (api, m) => {
  const outcome = await api.auth.authenticate(text(m, "name"), text(m, "password"));
  return isEtcdError(outcome) ? outcome : fields().message("header", header(api.header, api.revision)).str("token", outcome.token).done();
};

const userAdd: UnaryHandler = (api, m, caller) => {
  if (isEtcdError(caller)) return caller;
  return changed(api, api.auth.userAdd(caller, text(m, "name"), text(m, "password"), bool(sub(m, "options"), "no_password")));
};

const userChangePassword: UnaryHandler = (api, m, caller) =>
  isEtcdError(caller) ? caller : changed(api, api.auth.userChangePassword(caller, text(m, "name"), text(m, "password")));

const userGet: UnaryHandler = (api, m, caller) => {
  if (isEtcdError(caller)) return caller;
  const user = api.auth.userGet(caller, text(m, "name"));
  return isEtcdError(user) ? user : fields().message("header", header(api.header, api.revision)).list("roles", user.roles).done();
};

const userList: UnaryHandler = (api, _m, caller) => {
  if (isEtcdError(caller)) return caller;
  const users = api.auth.userList(caller);
  return isEtcdError(users) ? users : fields().message("header", header(api.header, api.revision)).list("users", users).done();
};

const roleGet: UnaryHandler = (api, m, caller) => {
  if (isEtcdError(caller)) return caller;
  const role = api.auth.roleGet(caller, text(m, "role"));
  if (isEtcdError(role)) return role;
  const perms = role.perms.map((p) =>
    fields().int("permType", PERM_TYPES.indexOf(p.permType)).bytes("key", p.key).bytes("range_end", p.rangeEnd).done()
  );
  return fields().message("header", header(api.header, api.revision)).list("perm", perms).done();
};

const roleList: UnaryHandler = (api, _m, caller) => {
  if (isEtcdError(caller)) return caller;
  const roles = api.auth.roleList(caller);
  return isEtcdError(roles) ? roles : fields().message("header", header(api.header, api.revision)).list("roles", roles).done();
};

const roleGrantPermission: UnaryHandler = (api, m, caller) => {
  if (isEtcdError(caller)) return caller;
  const perm = m.perm as ProtoMessage | undefined;
  if (!perm) return permissionNotGiven;
  const permType = PERM_TYPES[int(perm, "permType")] ?? "READ";
  return changed(api, api.auth.change(caller, { op: "roleGrantPermission", name: text(m, "name"), perm: { permType, key: bytes(perm, "key"), rangeEnd: bytes(perm, "range_end") } }));
};

export function authService(api: ApiMember): ServiceImplementation {
  return {
    AuthEnable: unary(api, change(() => ({ op: "authEnable" }))),
    AuthDisable: unary(api, change(() => ({ op: "authDisable" }))),
    Authenticate: unary(api, authenticate),
    UserAdd: unary(api, userAdd),
    UserGet: unary(api, userGet),
    UserList: unary(api, userList),
    UserDelete: unary(api, change((m) => ({ op: "userDelete", name: text(m, "name") }))),
    UserChangePassword: unary(api, userChangePassword),
    UserGrantRole: unary(api, change((m) => ({ op: "userGrantRole", user: text(m, "user"), role: text(m, "role") }))),
    UserRevokeRole: unary(api, change((m) => ({ op: "userRevokeRole", name: text(m, "name"), role: text(m, "role") }))),
    RoleAdd: unary(api, change((m) => ({ op: "roleAdd", name: text(m, "name") }))),
    RoleGet: unary(api, roleGet),
    RoleList: unary(api, roleList),
    RoleDelete: unary(api, change((m) => ({ op: "roleDelete", role: text(m, "role") }))),
    RoleGrantPermission: unary(api, roleGrantPermission),
    RoleRevokePermission: unary(api, change((m) => ({ op: "roleRevokePermission", role: text(m, "role"), key: bytes(m, "key"), rangeEnd: bytes(m, "range_end") }))),
  };
}
