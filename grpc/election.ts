/**
 * etcd's Election service over gRPC (v3electionpb.Election): Campaign, Proclaim, Leader, Observe
 * (streamed) and Resign, answered as etcd 3.4 answers.
 *
 * Owns: the calls' messages, and Observe's stream (held back while the client reads slowly).
 * Never: the recipes (coordination/election.ts has them).
 */
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import { campaign, type LeaderKey, leader, observe, proclaim, resign } from "../coordination/election.ts";
import { unexpected, type ServiceImplementation } from "./calls.ts";
import type { ProtoMessage } from "./protos.ts";
import { bytes, int, lease } from "./requests.ts";
import { fields, header, keyValue, type ProtoObject } from "./responses.ts";
import { serverStream, unary } from "./unary.ts";

/** A LeaderKey field, or undefined when the request left it out. */
function leaderKey(m: ProtoMessage): LeaderKey | undefined {
  const l = m.leader as ProtoMessage | undefined;
  return l === undefined ? undefined : { name: bytes(l, "name"), key: bytes(l, "key"), rev: int(l, "rev"), lease: lease(l, "lease") };
}

const leaderMessage = (l: LeaderKey): ProtoObject =>
  fields().bytes("name", l.name).bytes("key", l.key).int("rev", l.rev).int("lease", l.lease).done();

const headerOnly = (member: ApiMember, revision: number | EtcdError) =>
  isEtcdError(revision) ? revision : fields().message("header", header(member.header, revision)).done();

export function electionService(api: ApiMember): ServiceImplementation {
  return {
    Campaign: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      const won = await campaign({ member, caller, signal }, bytes(m, "name"), lease(m, "lease"), bytes(m, "value"));
      if (isEtcdError(won)) return won;
      return fields().message("header", header(member.header, won.revision)).message("leader", leaderMessage(won.leader)).done();
    }, { waits: true }),
    Proclaim: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      return headerOnly(member, await proclaim({ member, caller, signal }, leaderKey(m), bytes(m, "value")));
    }),
    Leader: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      const found = await leader({ member, caller, signal }, bytes(m, "name"));
      if (isEtcdError(found)) return found;
      return fields().message("header", header(member.header, found.revision)).message("kv", keyValue(found.kv)).done();
    }),
    Resign: unary(api, async (member, m, caller, signal) => {
      if (isEtcdError(caller)) return caller;
      return headerOnly(member, await resign({ member, caller, signal }, leaderKey(m)));
    }),
    Observe: serverStream(api, (call, m) => {
      const cancelled = new AbortController();
      call.onGone = () => cancelled.abort();
      let full = false;
      call.onDrain = () => {
        full = false;
        api.watches.wake();
      };
      void (async () => {
        const caller = await api.auth.caller(call.metadata.get("token"));
        if (isEtcdError(caller)) return call.end(caller);
        const ended = await observe({ member: api, caller, signal: cancelled.signal }, bytes(m, "name"), (revision, kv) => {
          if (call.ended) return;
          full = !call.send(fields().message("header", header(api.header, revision)).message("kv", keyValue(kv)).done());
        }, () => !full && !call.ended);
        if (!call.ended) call.end(ended);
      })().catch((e) => call.end(unexpected(e)));
    }, true),
  };
}
