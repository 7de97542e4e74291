/**
 * etcd's LeaseKeepAlive over gRPC: a stream of LeaseKeepAliveRequests, each answered with the
 * lease's TTL from now (0: no such lease, as etcd answers one it does not know), in order.
 *
 * Owns: reading the requests, answering them one at a time, and ending the call with etcd's status
 * when a renewal fails (no leader, leader changed, timed out), as etcd's keep-alive server does.
 * Never: keeps time (the leader's lessor does) — every renewal is the member's.
 */
import { isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import { type Method, unexpected } from "./calls.ts";
import { int64 } from "./requests.ts";
import { fields, header } from "./responses.ts";
import { bidiStream } from "./unary.ts";

export function keepAliveCall(member: ApiMember): Method {
  return bidiStream(member, (call) => {
    // Requests are answered in order, one renewal at a time: the call is paused while a renewal
    // runs and while the client has no room for answers, so one that sends and never reads is
    // read no further than its window.
    let renewing = false;
    call.onDrain = () => {
      if (!renewing) call.resume();
    };
    call.onMessage = (request) => {
      call.pause();
      renewing = true;
      const id = int64(request, "ID");
      member.leases.renew(id).then((ttl) => {
        renewing = false;
        if (call.ended) return;
        if (isEtcdError(ttl)) return call.end(ttl);
        if (call.send(fields().message("header", header(member.header, member.revision)).int("ID", id).int("TTL", ttl).done())) call.resume();
      }, (e) => call.end(unexpected(e)));
    };
    call.onHalfClose = () => call.end();
  });
}
