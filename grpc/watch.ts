/**
 * etcd's Watch service over gRPC: the bidirectional stream of WatchRequests (create, cancel,
 * progress) and WatchResponses, several watches per stream. The rules are the watch session's
 * (watch/session.ts), the same the JSON gateway's streams follow; this module renders its responses
 * as etcd's WatchResponse messages.
 *
 * Owns: reading requests off the call, the messages going out (events with prev_kv when asked,
 * fragments as etcd's sendFragments cuts them), and the call's flow control — the session sees no
 * room while the client is owed more than it has taken, and the hub is woken when it has room.
 * Never: buffers events itself (the hub re-reads them from history) or keeps a rule of its own.
 */
import { REQUEST_BYTES_MAX } from "../config/limits.ts";
import { isEtcdError } from "../etcd/errors.ts";
import { EventType, type KeyValue } from "../etcd/types.ts";
import { fieldSize } from "../etcd/proto_size.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { WatchEvent } from "../watch/hub.ts";
import { type WatchCreate, type WatchOutput, type WatchResult, WatchSession } from "../watch/session.ts";
import type { ProtoMessage } from "./protos.ts";
import { bool, bytes, int } from "./requests.ts";
import { fields, header, keyValue, type ProtoObject } from "./responses.ts";
import { unexpected, type Method, type ServerCall } from "./calls.ts";
import { bidiStream } from "./unary.ts";

/** WatchCreateRequest.FilterType: NOPUT = 0, NODELETE = 1. */
const NOPUT = 0;
const NODELETE = 1;

function toCreate(m: ProtoMessage): WatchCreate {
  const filters = ((m.filters as number[] | undefined) ?? []).map(Number);
  return {
    key: bytes(m, "key"),
    rangeEnd: bytes(m, "range_end"),
    startRevision: int(m, "start_revision"),
    progressNotify: bool(m, "progress_notify"),
    noPut: filters.includes(NOPUT),
    noDelete: filters.includes(NODELETE),
    prevKv: bool(m, "prev_kv"),
    watchId: int(m, "watch_id"),
    fragment: bool(m, "fragment"),
  };
}

/** One request off the stream, as etcd's recvLoop takes it: the first member of the oneof that is set. */
function handle(session: WatchSession, request: ProtoMessage): void {
  const create = request.create_request as ProtoMessage | undefined;
  if (create) return void session.create(toCreate(create));
  const cancel = request.cancel_request as ProtoMessage | undefined;
  if (cancel) return session.cancel(int(cancel, "watch_id"));
  if (request.progress_request) session.requestProgress();
}

function event(e: WatchEvent, withPrev: boolean): ProtoObject {
  const prev = withPrev ? e.prevKv() : undefined;
  const out = fields().message("kv", keyValue(e.change.kv)).message("prev_kv", prev && keyValue(prev)).done();
  // An enum goes as its number (proto-loader's enums: Number); PUT, the zero value, is left out.
  if (e.change.type === EventType.DELETE) out.type = EventType.DELETE;
  return out;
}

const kvSize = (kv: KeyValue) =>
  fieldSize.bytes(1, kv.key) + fieldSize.int(2, kv.createRevision) + fieldSize.int(3, kv.modRevision) + fieldSize.int(4, kv.version) +
  fieldSize.bytes(5, kv.value) + fieldSize.int(6, kv.lease);

/** An event's bytes inside a WatchResponse (field 11), as protobuf measures it. */
function eventSize(e: WatchEvent, withPrev: boolean): number {
  const prev = withPrev ? e.prevKv() : undefined;
  const inner = fieldSize.int(1, e.change.type === EventType.DELETE ? 1 : 0) + fieldSize.message(2, kvSize(e.change.kv)) +
    (prev ? fieldSize.message(3, kvSize(prev)) : 0);
  return fieldSize.message(11, inner);
}

/** Room for the header, watch id and flags of a response around its events. */
const RESPONSE_FRAME_BYTES = 64;

/**
 * etcd's sendFragments: a response of at least REQUEST_BYTES_MAX with more than one event is sent
 * in pieces, each as large as fits (but at least one event), all but the last marked fragment.
 */
function fragments(events: readonly WatchEvent[], withPrev: boolean): WatchEvent[][] {
  const sizes = events.map((e) => eventSize(e, withPrev));
  const total = sizes.reduce((a, b) => a + b, RESPONSE_FRAME_BYTES);
  if (total < REQUEST_BYTES_MAX || events.length < 2) return [[...events]];
  const pieces: WatchEvent[][] = [];
  let piece: WatchEvent[] = [];
  let size = RESPONSE_FRAME_BYTES;
  events.forEach((e, i) => {
    if (piece.length > 0 && size + sizes[i] >= REQUEST_BYTES_MAX) {
      pieces.push(piece);
      piece = [];
      size = RESPONSE_FRAME_BYTES;
    }
    piece.push(e);
    size += sizes[i];
  });
  pieces.push(piece);
  return pieces;
}

/** The session's responses as WatchResponse messages on the call, under the call's flow control. */
function output(member: ApiMember, call: ServerCall): WatchOutput {
  let full = false;
  call.onDrain = () => {
    full = false;
    member.watches.wake();
  };
  const send = (message: ProtoObject) => {
    if (!call.send(message)) full = !call.ended;
  };
  const response = (revision: number, r: WatchResult) =>
    fields().message("header", header(member.header, revision)).int("watch_id", r.watchId).bool("created", r.created ?? false)
      .bool("canceled", r.canceled ?? false).int("compact_revision", r.compactRevision ?? 0).str("cancel_reason", r.cancelReason ?? "");
  return {
    get ready() {
      return !full && !call.ended;
    },
    control: (revision, result) => send(response(revision, result).done()),
    events: (watcher, events, revision, fragment) => {
      const withPrev = watcher.spec.prevKv;
      const pieces = fragment ? fragments(events, withPrev) : [events];
      pieces.forEach((piece, i) =>
        send(response(revision, { watchId: watcher.id }).bool("fragment", i < pieces.length - 1).list("events", piece.map((e) => event(e, withPrev))).done())
      );
    },
    close: () => call.end(),
  };
}

export function watchService(member: ApiMember): { Watch: Method } {
  return {
    Watch: bidiStream(member, (call) => {
      // Requests wait unread while the token is checked (their bytes hold the call's window).
      call.pause();
      let gone = false;
      call.onGone = () => void (gone = true);
      void member.auth.caller(call.metadata.get("token")).then((caller) => {
        if (gone) return;
        if (isEtcdError(caller)) return call.end(caller);
        // A watch its caller may not read is refused when created (etcd's isWatchPermitted).
        const permitted = caller && ((key: Uint8Array, rangeEnd: Uint8Array) => member.auth.check(caller, [{ kind: "read", key, rangeEnd }]));
        const session = new WatchSession(member, output(member, call), permitted);
        call.onMessage = (request) => {
          try {
            handle(session, request);
          } catch (e) {
            call.end(unexpected(e));
            session.close();
          }
        };
        // The client closed its side, cancelled, or the connection went: the watchers go.
        call.onHalfClose = call.onGone = () => session.close();
        call.resume();
      }).catch((e) => call.end(unexpected(e)));
    }),
  };
}
