/**
 * etcd's LeaseKeepAlive over gRPC: a stream of LeaseKeepAliveRequests, each answered with the
 * lease's TTL from now (0: no such lease, as etcd answers one it does not know), in order.
 *
 * Owns: reading the requests, answering them one at a time, and ending the call with etcd's status
 * when a renewal fails (no leader, leader changed, timed out), as etcd's keep-alive server does.
 * Never: keeps time (the leader's lessor does) — every renewal is the member's.
 */
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ProtoMessage } from "./protos.ts";
import { int64 } from "./requests.ts";
import { fields, header, type ProtoObject } from "./responses.ts";
import { refusedBeforeHandler, statusOf, unexpected } from "./unary.ts";

type KeepAliveCall = ServerDuplexStream<ProtoMessage, ProtoObject>;

export function keepAliveCall(member: ApiMember) {
  return (call: KeepAliveCall) => {
    const refused = refusedBeforeHandler(member, call.metadata, false);
    if (refused) return void call.emit("error", statusOf(refused));
    // Requests are answered in order, one renewal at a time: a client that sends and never reads
    // is read no further than grpc-js's buffers (the stream is paused while a renewal runs).
    let ended = false;
    const fail = (status: ReturnType<typeof statusOf>) => {
      if (ended) return;
      ended = true;
      call.emit("error", status);
    };
    call.on("data", (request: ProtoMessage) => {
      call.pause();
      const id = int64(request, "ID");
      member.leases.renew(id).then((ttl) => {
        if (ended || call.destroyed || call.writableEnded) return;
        if (isEtcdError(ttl)) return fail(statusOf(ttl));
        const ok = call.write(fields().message("header", header(member.header, member.revision)).int("ID", id).int("TTL", ttl).done());
        if (ok) call.resume();
        else call.once("drain", () => call.resume());
      }, (e) => fail(statusOf(unexpected(e))));
    });
    call.on("end", () => {
      ended = true;
      if (!call.writableEnded) call.end();
    });
  };
}
