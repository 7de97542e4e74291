/**
 * etcd's Auth service on the gateway: /v3/auth/enable, disable, authenticate, user/* and role/*,
 * with etcd 3.4's field names (which differ from call to call: user/grant takes `user`,
 * user/revoke `name`, role/get and role/delete `role`, role/grant `name` and `perm`).
 *
 * Owns: each call's JSON in and out. Never: the rules (the member's auth service and the store).
 */
import { type AuthCommand, PERM_TYPES, type PermType } from "../../etcd/auth.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../../etcd/errors.ts";
import { EMPTY_BYTES } from "../../etcd/types.ts";
import type { CommandResult } from "../../etcd/commands.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { bool, bytes, enumeration, message, spec, string, type WireMessage } from "../compat/proto_json.ts";
import { header, jsonObject } from "../etcd_json.ts";
import { type Answer, type Caller, decodeBody, type GatewayHandler, votersOnly } from "../handler.ts";

const permType = enumeration("authpb.Permission_Type", PERM_TYPES);
const nameSchema = message<WireMessage>([spec("name", string)]);
const userAddSchema = message<WireMessage>([spec("name", string), spec("password", string), spec("options", message<WireMessage>([spec("no_password", bool)]))]);
const passwordSchema = message<WireMessage>([spec("name", string), spec("password", string)]);
const userGrantSchema = message<WireMessage>([spec("user", string), spec("role", string)]);
const userRevokeSchema = message<WireMessage>([spec("name", string), spec("role", string)]);
const roleSchema = message<WireMessage>([spec("role", string)]);
const roleGrantSchema = message<WireMessage>([
  spec("name", string),
  spec("perm", message<WireMessage>([spec("permType", permType), spec("key", bytes), spec("range_end", bytes)])),
]);
const roleRevokeSchema = message<WireMessage>([spec("role", string), spec("key", bytes), spec("range_end", bytes)]);

/** etcd's answer to a role grant without a permission (etcd 3.4.23 crashes applying one). */
const permissionNotGiven = new EtcdError(GrpcCode.INVALID_ARGUMENT, "etcdserver: permission not given");

const text = (w: WireMessage, name: string) => (w[name] as string | undefined) ?? "";
const bytesOf = (w: WireMessage, name: string) => (w[name] as Uint8Array | undefined) ?? EMPTY_BYTES;

/** A call whose body decodes with `schema`; the caller's token must name someone (or be absent). */
function call(schema: Parameters<typeof decodeBody>[0], run: (member: ApiMember, w: WireMessage, caller: Exclude<Caller, EtcdError>) => Answer | Promise<Answer>): GatewayHandler {
  return votersOnly((member, body, caller) => {
    if (isEtcdError(caller)) return caller;
    const w = decodeBody(schema, body);
    return isEtcdError(w) ? w : run(member, w, caller);
  });
}

/** The header alone, or the error, once a change is applied. */
async function changed(member: ApiMember, result: Promise<CommandResult>): Promise<Answer> {
  const outcome = await result;
  return isEtcdError(outcome) ? outcome : jsonObject().raw("header", header(member.header, member.revision)).toString();
}

const names = (list: string[]) => `[${list.map((n) => JSON.stringify(n)).join(",")}]`;

/** The change command of a body, for the calls that are nothing but a change. */
function change(schema: Parameters<typeof decodeBody>[0], command: (w: WireMessage) => Exclude<AuthCommand, { op: "authenticate" | "userAdd" | "userChangePassword" }>): GatewayHandler {
  return call(schema, (member, w, caller) => changed(member, member.auth.change(caller, command(w))));
}

export const authHandlers: Record<string, GatewayHandler> = {
  "/v3/auth/enable": change(message<WireMessage>([]), () => ({ op: "authEnable" })),
  "/v3/auth/disable": change(message<WireMessage>([]), () => ({ op: "authDisable" })),
  "/v3/auth/authenticate": call(passwordSchema, async (member, w) => {
    const outcome = await member.auth.authenticate(text(w, "name"), text(w, "password"));
    return isEtcdError(outcome) ? outcome : jsonObject().raw("header", header(member.header, member.revision)).str("token", outcome.token).toString();
  }),
  "/v3/auth/user/add": call(userAddSchema, (member, w, caller) => {
    const noPassword = ((w.options as WireMessage | undefined)?.no_password as boolean | undefined) ?? false;
    return changed(member, member.auth.userAdd(caller, text(w, "name"), text(w, "password"), noPassword));
  }),
  "/v3/auth/user/get": call(nameSchema, (member, w, caller) => {
    const user = member.auth.userGet(caller, text(w, "name"));
    if (isEtcdError(user)) return user;
    return jsonObject().raw("header", header(member.header, member.revision)).raw("roles", user.roles.length ? names(user.roles) : undefined).toString();
  }),
  "/v3/auth/user/list": call(message<WireMessage>([]), (member, _w, caller) => {
    const users = member.auth.userList(caller);
    if (isEtcdError(users)) return users;
    return jsonObject().raw("header", header(member.header, member.revision)).raw("users", users.length ? names(users) : undefined).toString();
  }),
  "/v3/auth/user/delete": change(nameSchema, (w) => ({ op: "userDelete", name: text(w, "name") })),
  "/v3/auth/user/changepw": call(passwordSchema, (member, w, caller) => changed(member, member.auth.userChangePassword(caller, text(w, "name"), text(w, "password")))),
  "/v3/auth/user/grant": change(userGrantSchema, (w) => ({ op: "userGrantRole", user: text(w, "user"), role: text(w, "role") })),
  "/v3/auth/user/revoke": change(userRevokeSchema, (w) => ({ op: "userRevokeRole", name: text(w, "name"), role: text(w, "role") })),
  "/v3/auth/role/add": change(nameSchema, (w) => ({ op: "roleAdd", name: text(w, "name") })),
  "/v3/auth/role/get": call(roleSchema, (member, w, caller) => {
    const role = member.auth.roleGet(caller, text(w, "role"));
    if (isEtcdError(role)) return role;
    const perms = role.perms.map((p) =>
      jsonObject().raw("permType", p.permType === "READ" ? undefined : JSON.stringify(p.permType)).bytes("key", p.key).bytes("range_end", p.rangeEnd).toString()
    );
    return jsonObject().raw("header", header(member.header, member.revision)).raw("perm", perms.length ? `[${perms.join(",")}]` : undefined).toString();
  }),
  "/v3/auth/role/list": call(message<WireMessage>([]), (member, _w, caller) => {
    const roles = member.auth.roleList(caller);
    if (isEtcdError(roles)) return roles;
    return jsonObject().raw("header", header(member.header, member.revision)).raw("roles", roles.length ? names(roles) : undefined).toString();
  }),
  "/v3/auth/role/delete": change(roleSchema, (w) => ({ op: "roleDelete", role: text(w, "role") })),
  "/v3/auth/role/grant": call(roleGrantSchema, (member, w, caller) => {
    const perm = w.perm as WireMessage | undefined;
    if (!perm) return permissionNotGiven;
    const permType = PERM_TYPES[(perm.permType as number | undefined) ?? 0] as PermType;
    const command: AuthCommand = { op: "roleGrantPermission", name: text(w, "name"), perm: { permType, key: bytesOf(perm, "key"), rangeEnd: bytesOf(perm, "range_end") } };
    return changed(member, member.auth.change(caller, command));
  }),
  "/v3/auth/role/revoke": change(roleRevokeSchema, (w) => ({ op: "roleRevokePermission", role: text(w, "role"), key: bytesOf(w, "key"), rangeEnd: bytesOf(w, "range_end") })),
};
