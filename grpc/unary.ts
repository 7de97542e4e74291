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

/**
 * A unary call's handler; `caller` is who its `token` metadata names (member.auth.caller);
 * `signal` aborts when the client cancels the call or its connection goes.
 */
export type UnaryHandler = (member: ApiMember, request: ProtoMessage, caller: Caller, signal: AbortSignal) => Answer | Promise<Answer>;

export interface UnaryRules {
  /** Whether a learner serves this request (etcd: status, and ranges that are serializable). */
  servesLearner?: (request: ProtoMessage) => boolean;
  /** Its answer may be long in coming (calls.ts's Method.waits). */
  waits?: boolean;
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
    waits: rules.waits,
    handle: async (request, metadata, signal) =>
      refusedBeforeHandler(member, metadata, rules.servesLearner?.(request) === true) ??
        handler(member, request, await member.auth.caller(metadata.get("token")), signal),
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

/** A server-streaming call, refused before it starts as etcd refuses it (a learner serves none); `waits` as a unary call's rule. */
export function serverStream(member: ApiMember, start: (call: ServerCall, request: ProtoMessage) => void, waits = false): Method {
  return {
    kind: "serverStream",
    waits,
    start: (call, request) => {
      const refused = refusedBeforeHandler(member, call.metadata, false);
      if (refused) return call.end(refused);
      start(call, request);
    },
  };
}
