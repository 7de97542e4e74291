/**
 * Concord's own calls for browsing keys, which etcd does not have (the console uses them; both
 * read this member's state, as a serializable range does):
 * - POST /concord/v1/search: a span in etcd's form (`key`, `range_end`, base64) and `contains`
 *   (text); the live keys whose key or value holds that text, in key order, at most `limit`
 *   (default 100, at most 1,000), in the shape of a range response. It looks for at most a
 *   quarter of a second (SEARCH_TIME_MS_MAX): when it stopped before the span's end, `more` is
 *   true and `next` (base64) is the key to go on after — sent back as `after`.
 * - POST /concord/v1/folders: `key` (a prefix, base64), `separator` (text, default "/"), `start`
 *   (base64, where a page starts) and `limit` (default 200, at most 1,000); the prefix's
 *   subfolders with their key counts and its keys with no separator left, and `next` when there is
 *   more.
 *
 * Owns: the calls' fields and limits. Never: anything of etcd's API.
 */
import { CONSOLE_FOLDER_ROWS_DEFAULT, CONSOLE_SEARCH_ROWS_DEFAULT } from "../config/defaults.ts";
import { CONSOLE_ROWS_MAX } from "../config/limits.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { prefixEnd } from "../etcd/keys.ts";
import { EMPTY_BYTES } from "../etcd/types.ts";
import { encode, header, jsonObject } from "../gateway/etcd_json.ts";
import type { GatewayHandler } from "../gateway/handler.ts";
import { bytes, decodeWith, int64Number, message, spec, string } from "../gateway/compat/proto_json.ts";

const searchSchema = message<Record<string, unknown>>([
  spec("key", bytes), spec("range_end", bytes), spec("contains", string), spec("limit", int64Number), spec("after", bytes),
]);

const foldersSchema = message<Record<string, unknown>>([
  spec("key", bytes), spec("separator", string), spec("start", bytes), spec("limit", int64Number),
]);


export const browseHandlers: Record<string, GatewayHandler> = {
  "/concord/v1/search": async (member, body, caller) => {
    if (isEtcdError(caller)) return caller;
    const decoded = decodeWith(searchSchema, body);
    if (!decoded.ok) return new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
    const w = decoded.value;
    const contains = (w.contains as string | undefined) ?? "";
    if (contains === "") return new EtcdError(GrpcCode.INVALID_ARGUMENT, "concord: search needs a non-empty contains");
    const limit = (w.limit as number | undefined) ?? CONSOLE_SEARCH_ROWS_DEFAULT;
    if (limit < 1 || limit > CONSOLE_ROWS_MAX) return new EtcdError(GrpcCode.INVALID_ARGUMENT, `concord: limit must be 1 to ${CONSOLE_ROWS_MAX}`);
    let key = (w.key as Uint8Array | undefined) ?? EMPTY_BYTES;
    let rangeEnd = (w.range_end as Uint8Array | undefined) ?? EMPTY_BYTES;
    // No key at all: every key.
    if (key.length === 0 && rangeEnd.length === 0) [key, rangeEnd] = [new Uint8Array([0]), new Uint8Array([0])];
    // With auth on, a search reads the whole span it looks in.
    const denied = member.auth.check(caller, [{ kind: "read", key, rangeEnd }]);
    if (denied) return denied;
    const after = w.after as Uint8Array | undefined;
    const found = await member.search({ key, rangeEnd, needle: new TextEncoder().encode(contains), limit, ...(after?.length ? { after } : {}) });
    if (isEtcdError(found)) return found;
    const answer = encode.range(member.header, { header: { revision: found.revision }, kvs: found.kvs, more: found.next !== undefined, count: found.kvs.length });
    return found.next === undefined ? answer : `${answer.slice(0, -1)},"next":"${found.next.toBase64()}"}`;
  },

  "/concord/v1/folders": (member, body, caller) => {
    if (isEtcdError(caller)) return caller;
    const decoded = decodeWith(foldersSchema, body);
    if (!decoded.ok) return new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
    const w = decoded.value;
    const limit = (w.limit as number | undefined) ?? CONSOLE_FOLDER_ROWS_DEFAULT;
    if (limit < 1 || limit > CONSOLE_ROWS_MAX) return new EtcdError(GrpcCode.INVALID_ARGUMENT, `concord: limit must be 1 to ${CONSOLE_ROWS_MAX}`);
    const separator = new TextEncoder().encode((w.separator as string | undefined) ?? "/");
    const prefix = (w.key as Uint8Array | undefined) ?? EMPTY_BYTES;
    // With auth on, a listing reads every key under its prefix (their names and counts).
    const denied = member.auth.check(caller, [{ kind: "read", key: prefix.length ? prefix : new Uint8Array([0]), rangeEnd: prefix.length ? prefixEnd(prefix) : new Uint8Array([0]) }]);
    if (denied) return denied;
    const listing = member.folders(prefix, separator, w.start as Uint8Array | undefined, limit);
    if (isEtcdError(listing)) return listing;
    return jsonObject().raw("header", header(member.header, listing.revision))
      .list("folders", listing.folders, (f) => jsonObject().bytes("prefix", f.prefix).int("count", f.count).bool("more", f.more).toString())
      .list("keys", listing.keys, (k) => `"${k.toBase64()}"`)
      .raw("next", listing.next && `"${listing.next.toBase64()}"`)
      .toString();
  },
};
