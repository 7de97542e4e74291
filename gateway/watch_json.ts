/**
 * etcd's JSON for watch responses (etcdserverpb.WatchResponse and mvccpb.Event), as its gateway
 * writes them: header, watch_id, created, canceled, compact_revision, cancel_reason, events — zero
 * fields left out, an event's type only when it is DELETE.
 *
 * Owns: those shapes, and keeping an event's JSON once rendered (a thousand watchers of one prefix
 * get the same event). Never: decides what a response holds.
 */
import { EventType } from "../etcd/types.ts";
import type { WatchEvent } from "../watch/hub.ts";
import type { WatchResult } from "../watch/session.ts";
import type { HeaderContext } from "../etcd/types.ts";
import { header, jsonObject, keyValue } from "./etcd_json.ts";


function eventJson(event: WatchEvent, withPrev: boolean): string {
  const slot = withPrev ? 1 : 0;
  let json = event.encoded[slot];
  if (json === undefined) {
    const { change } = event;
    const prev = withPrev ? event.prevKv() : undefined;
    json = jsonObject().raw("type", change.type === EventType.DELETE ? `"DELETE"` : undefined).raw("kv", keyValue(change.kv))
      .raw("prev_kv", prev && keyValue(prev)).toString();
    event.encoded[slot] = json;
  }
  return json;
}

/** The events part of a response, `"events":[…]`, or "" for none. */
export function eventsJson(events: readonly WatchEvent[], withPrev: boolean): string {
  if (events.length === 0) return "";
  let out = `"events":[`;
  for (let i = 0; i < events.length; i++) out += (i === 0 ? "" : ",") + eventJson(events[i], withPrev);
  return out + "]";
}

/** A whole WatchResponse; `events` is what eventsJson gave. */
export function watchResponse(ctx: HeaderContext, revision: number, r: WatchResult, events = ""): string {
  const fields = jsonObject().raw("header", header(ctx, revision)).int("watch_id", r.watchId).bool("created", r.created ?? false)
    .bool("canceled", r.canceled ?? false).int("compact_revision", r.compactRevision ?? 0).str("cancel_reason", r.cancelReason ?? "")
    .toString();
  return events === "" ? fields : `${fields.slice(0, -1)},${events}}`;
}
