/**
 * What every gateway call is made of: a handler from a decoded JSON body to an answer, decoding a
 * body against its proto schema in etcd's words, and the learner rule (a learner serves only
 * serializable reads and status) applied in one place.
 *
 * Owns: those shapes and the two rules. Never: a call's own checks or etcd semantics.
 */
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import { Errors as ServerErrors } from "../etcd/server_errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { Caller } from "../member/auth_service.ts";
import type { JsonValue } from "./compat/go_json.ts";
import { decodeWith, type FieldSchema, type WireMessage } from "./compat/proto_json.ts";

/** A JSON answer (200) or an etcd error. */
/** A JSON answer: whole, or (a long one) streamed as it is encoded; or an etcd error. */
export type Answer = string | ReadableStream<Uint8Array> | EtcdError;
export type { Caller };
/** A call's handler; `signal` aborts once the client has gone away (a lock or a campaign waiting then gives up). */
export type GatewayHandler = (member: ApiMember, body: JsonValue, caller: Caller, signal: AbortSignal) => Answer | Promise<Answer>;

/** The token a gateway request carries: etcd's `Authorization` header (the raw token), or grpc-gateway's metadata header. */
export function tokenOf(request: Request): string | undefined {
  return request.headers.get("authorization") ?? request.headers.get("grpc-metadata-token") ?? undefined;
}

/** Decodes a body with a schema, or answers etcd's decoding error. */
export function decodeBody(schema: FieldSchema<WireMessage>, body: JsonValue): WireMessage | EtcdError {
  const decoded = decodeWith(schema, body);
  return decoded.ok ? decoded.value : new EtcdError(GrpcCode.INVALID_ARGUMENT, decoded.error);
}

/** etcd's answer to a learner asked for anything but a serializable read or its status (every surface's). */
export const notForLearner = ServerErrors.notForLearner;

/** A call a learner does not serve: answered notForLearner before anything is decoded, as etcd does. */
export function votersOnly(handler: GatewayHandler): GatewayHandler {
  return (member, body, caller, signal) => (member.isLearner ? notForLearner : handler(member, body, caller, signal));
}
