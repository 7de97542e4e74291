/**
 * What every unary gRPC call is made of: a handler from a decoded request to a response message or
 * an EtcdError, wrapped in the rules etcd's unary interceptor applies before any handler (a learner
 * serves only status and serializable reads; a client that requires a leader is refused without
 * one), and the answer sent as etcd sends it — an EtcdError as the gRPC status code with etcd's
 * message as its details, so etcd's clients recognise their own errors.
 *
 * Owns: the handler shape, those two rules, and turning answers and exceptions into statuses.
 * Never: a call's own checks or etcd semantics. An exception in a handler is a Concord bug: it is
 * logged and answered as an error status; it never reaches grpc-js or the process.
 */
import type { handleUnaryCall, Metadata, sendUnaryData, ServerUnaryCall, StatusObject } from "@grpc/grpc-js";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import { Errors as ServerErrors } from "../etcd/server_errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ProtoMessage } from "./protos.ts";
import type { ProtoObject } from "./responses.ts";

export type Answer = ProtoObject | EtcdError;
export type UnaryHandler = (member: ApiMember, request: ProtoMessage) => Answer | Promise<Answer>;

export interface UnaryRules {
  /** Whether a learner serves this request (etcd: status, and ranges that are serializable). */
  servesLearner?: (request: ProtoMessage) => boolean;
}

/** An EtcdError as the status etcd's gRPC server sends for it. */
export function statusOf(e: EtcdError): Partial<StatusObject> {
  return { code: e.code as number, details: e.message };
}

/** A Concord bug or a failed disk, said in etcd's shape (code UNKNOWN) rather than dropping the call. */
export function unexpected(e: unknown): EtcdError {
  console.error("concord: gRPC call failed:", e);
  return new EtcdError(GrpcCode.UNKNOWN, `concord: internal error: ${e instanceof Error ? e.message : String(e)}`);
}

/** clientv3's WithRequireLeader: metadata `hasleader: true` asks to be refused when there is no leader. */
function requiresLeader(metadata: Metadata): boolean {
  return metadata.get("hasleader").some((v) => v === "true");
}

/**
 * What etcd's interceptors refuse before any handler, in their order: a call a learner does not
 * serve (streams never), then a call that requires a leader when there is none.
 */
export function refusedBeforeHandler(member: ApiMember, metadata: Metadata, learnerServes: boolean): EtcdError | undefined {
  if (member.isLearner && !learnerServes) return ServerErrors.notForLearner;
  if (requiresLeader(metadata) && member.status().leader === 0n) return ServerErrors.noLeader;
  return undefined;
}

export function unary(member: ApiMember, handler: UnaryHandler, rules: UnaryRules = {}): handleUnaryCall<ProtoMessage, ProtoObject> {
  return (call: ServerUnaryCall<ProtoMessage, ProtoObject>, callback: sendUnaryData<ProtoObject>) => {
    const send = (answer: Answer) => {
      try {
        if (isEtcdError(answer)) callback(statusOf(answer));
        else callback(null, answer);
      } catch (e) {
        // grpc-js failed to send (a response it could not serialize): the call is lost, the member is not.
        console.error("concord: gRPC answer not sent:", e);
      }
    };
    try {
      const refused = refusedBeforeHandler(member, call.metadata, rules.servesLearner?.(call.request) === true);
      if (refused) return send(refused);
      const answer = handler(member, call.request);
      if (answer instanceof Promise) answer.then(send, (e) => send(unexpected(e)));
      else send(answer);
    } catch (e) {
      send(unexpected(e));
    }
  };
}
