/**
 * What every gRPC call passes before its handler — the rules etcd's interceptors apply (a learner
 * serves only status and serializable reads; a client that requires a leader is refused without
 * one) — and the methods built on them: a unary handler from a decoded request to a response
 * message or an EtcdError, which calls.ts sends as etcd does (the error's code as the status,
 * etcd's message as its details, so etcd's clients recognise their own errors), and streams that
 * start only once those rules let them.
 *
 * Owns: the method shapes and those two rules. Never: a call's own checks or etcd semantics.
 */
import type { EtcdError } from "../etcd/errors.ts";
import { Errors as ServerErrors } from "../etcd/server_errors.ts";
import type { Caller } from "../member/auth_service.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { Answer, Metadata, Method, ServerCall } from "./calls.ts";
import type { ProtoMessage } from "./protos.ts";

/** A unary call's handler; `caller` is who its `token` metadata names (member.auth.caller). */
export type UnaryHandler = (member: ApiMember, request: ProtoMessage, caller: Caller) => Answer | Promise<Answer>;

export interface UnaryRules {
  /** Whether a learner serves this request (etcd: status, and ranges that are serializable). */
  servesLearner?: (request: ProtoMessage) => boolean;
}

/**
 * What etcd's interceptors refuse before any handler, in their order: a call a learner does not
 * serve (streams never), then a call that requires a leader when there is none — clientv3's
 * WithRequireLeader sends metadata `hasleader: true`.
 */
function refusedBeforeHandler(member: ApiMember, metadata: Metadata, learnerServes: boolean): EtcdError | undefined {
  if (member.isLearner && !learnerServes) return ServerErrors.notForLearner;
  if (metadata.get("hasleader") === "true" && member.status().leader === 0n) return ServerErrors.noLeader;
  return undefined;
}

export function unary(member: ApiMember, handler: UnaryHandler, rules: UnaryRules = {}): Method {
  return {
    kind: "unary",
    handle: async (request, metadata) =>
      refusedBeforeHandler(member, metadata, rules.servesLearner?.(request) === true) ??
        handler(member, request, await member.auth.caller(metadata.get("token"))),
  };
}

/** A bidirectional stream, refused before it starts as etcd refuses it (a learner serves none). */
export function bidiStream(member: ApiMember, start: (call: ServerCall) => void): Method {
  return {
    kind: "bidiStream",
    start: (call) => {
      const refused = refusedBeforeHandler(member, call.metadata, false);
      if (refused) return call.end(refused);
      start(call);
    },
  };
}

/** A server-streaming call, refused before it starts as etcd refuses it (a learner serves none). */
export function serverStream(member: ApiMember, start: (call: ServerCall, request: ProtoMessage) => void): Method {
  return {
    kind: "serverStream",
    start: (call, request) => {
      const refused = refusedBeforeHandler(member, call.metadata, false);
      if (refused) return call.end(refused);
      start(call, request);
    },
  };
}
