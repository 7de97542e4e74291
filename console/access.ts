/**
 * Concord's own call telling the console what its caller may do, so a page shows what the user
 * may not do as disabled rather than failing on click:
 * - POST /concord/v1/access: `auth_enabled`, `user`, `admin` (root's calls: membership,
 *   maintenance, users and roles) and the key ranges the user may `read` and `write`, each as
 *   etcd writes a range (`key`, `range_end`, base64; a range_end of "AA==" runs to the end) —
 *   false and empty fields left out, as the gateway leaves them out.
 *
 * Owns: the call's shape. Never: decides a permission (the auth store does) — a page's view is a
 * courtesy, every call is checked again by the member.
 */
import { isEtcdError } from "../etcd/errors.ts";
import { jsonObject } from "../gateway/etcd_json.ts";
import type { GatewayHandler } from "../gateway/handler.ts";
import type { Interval } from "../store/auth.ts";

const TO_END = new Uint8Array([0]);

const ranges = (intervals: readonly Interval[]) => intervals.map((iv) => jsonObject().bytes("key", iv.start).bytes("range_end", iv.end.length ? iv.end : TO_END).toString());

export const accessHandlers: Record<string, GatewayHandler> = {
  "/concord/v1/access": (member, _body, caller) => {
    if (isEtcdError(caller)) return caller;
    const access = member.auth.access(caller);
    if (isEtcdError(access)) return access;
    return jsonObject().bool("auth_enabled", access.authEnabled).str("user", access.user).bool("admin", access.admin)
      .list("read", ranges(access.read), (r) => r).list("write", ranges(access.write), (r) => r).toString();
  },
};
