/**
 * Waiting for keys to go, as clientv3/concurrency's waitDelete and waitDeletes do: a watch on the
 * member's hub from a revision, until a delete of the key comes, the watch is cancelled (its
 * revision compacted away), the member stops or the caller goes away.
 *
 * Owns: those watches, opened and closed here (never left behind). Never: decides what to wait for.
 */
import { EtcdError, Errors, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import { type Bytes, EMPTY_BYTES, EventType, type RangeResponse } from "../etcd/types.ts";
import type { WatchEvent } from "../watch/hub.ts";
import { type WatchCreate, type WatchOutput, WatchSession } from "../watch/session.ts";
import { byCreation, type CoordinationCall, get } from "./client.ts";

/** What the caller's going away ends a wait with: gRPC's Canceled, as grpc-go reports a cancelled context. */
export const CANCELLED = new EtcdError(GrpcCode.CANCELLED, "context canceled");

/** A watch's start, every filter off. */
export const watchFrom = (key: Bytes, rangeEnd: Bytes, startRevision: number): WatchCreate => ({
  key, rangeEnd, startRevision, progressNotify: false, noPut: false, noDelete: false, prevKv: false, watchId: 0,
});

/**
 * Opens a watch for `call` and hands each batch of its events (with the revision of their response)
 * to `onEvents`; resolves with what ended it once `onEvents` answers true (done: undefined), or with
 * why it ended otherwise.
 */
export function watchUntil(
  call: CoordinationCall,
  create: WatchCreate,
  onEvents: (events: readonly WatchEvent[], revision: number) => boolean,
  ready: () => boolean = () => true,
): Promise<EtcdError | undefined> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (result: EtcdError | undefined) => {
      if (finished) return;
      finished = true;
      call.signal.removeEventListener("abort", aborted);
      session.close();
      resolve(result);
    };
    const aborted = () => finish(CANCELLED);
    const output: WatchOutput = {
      get ready() {
        return ready();
      },
      control(_revision, result) {
        if (!result.canceled) return;
        finish(result.compactRevision ? Errors.compacted : new EtcdError(GrpcCode.UNKNOWN, result.cancelReason ?? "watch canceled"));
      },
      events(_watcher, events, revision) {
        if (onEvents(events, revision)) finish(undefined);
      },
      close: () => finish(MemberErrors.stopped),
    };
    const { member, caller } = call;
    const permitted = caller && ((key: Uint8Array, rangeEnd: Uint8Array) => member.auth.check(caller, [{ kind: "read", key, rangeEnd }]));
    const session = new WatchSession(member, output, permitted);
    if (call.signal.aborted) return finish(CANCELLED);
    call.signal.addEventListener("abort", aborted);
    session.create(create);
  });
}

/** etcd's waitDelete: until `key` is deleted at or after `revision`. */
export function waitDelete(call: CoordinationCall, key: Bytes, revision: number): Promise<EtcdError | undefined> {
  return watchUntil(call, watchFrom(key, EMPTY_BYTES, revision), (events) => events.some((e) => e.change.type === EventType.DELETE));
}

/**
 * etcd's waitDeletes: until no key under `prefix` created at or below `maxCreateRevision` is left,
 * waiting for the newest of them each time; the answer is the last get's (its header is the lock's).
 */
export async function waitDeletes(call: CoordinationCall, prefix: Bytes, maxCreateRevision: number): Promise<RangeResponse | EtcdError> {
  for (;;) {
    const found = await get(call, byCreation(prefix, "last", maxCreateRevision));
    if (isEtcdError(found) || found.kvs.length === 0) return found;
    const gone = await waitDelete(call, found.kvs[0].key, found.header.revision);
    if (gone) return gone;
  }
}
