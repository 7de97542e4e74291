/**
 * etcd's KV gateway: /v3/kv/range, put, deleterange, txn and compaction.
 *
 * Owns: each call's path from a decoded body to an answer — schema, etcd's checks and limits in
 * etcd's order, the member, the response JSON. Never: semantics of the key space (the store's
 * applier has them).
 */
import type { Command } from "../../etcd/commands.ts";
import { type EtcdError, isEtcdError } from "../../etcd/errors.ts";
import type { RangeRequest, RangeResponse } from "../../etcd/types.ts";
import type { CallerAuth } from "../../etcd/commands.ts";
import type { ApiMember } from "../../member/client_api.ts";
import type { HeaderContext } from "../../etcd/types.ts";
import { encode } from "../etcd_json.ts";
import { RANGE_PAGE_KEYS } from "../../config/limits.ts";
import { freeTheEventLoop } from "../../member/paged_range.ts";
import type { JsonValue } from "../compat/go_json.ts";
import {
  compactionSchema, deleteRangeSchema, putSchema, rangeSchema, toCompaction, toDeleteRange, toPut, toRange, toTxn,
  txnSchema,
} from "../schemas/kv.ts";
import type { FieldSchema, WireMessage } from "../compat/proto_json.ts";
import { type Answer, decodeBody, type GatewayHandler, notForLearner, votersOnly } from "../handler.ts";
import { deleteRangeSize, proposalSize, ProposalField, putSize, rangeSize, txnSize } from "../../etcd/proto_size.ts";
import { checkDeleteRange, checkMessageSize, checkProposalSize, checkPut, checkRange, checkTxn } from "../../etcd/request_checks.ts";

/** Decodes a body with a schema and converts it, or answers etcd's decoding error. */
function decode<R>(schema: FieldSchema<WireMessage>, convert: (w: WireMessage) => R, body: JsonValue): R | EtcdError {
  const decoded = decodeBody(schema, body);
  return isEtcdError(decoded) ? decoded : convert(decoded);
}

/**
 * A write: decoded, sized and checked as etcd's gRPC layer does (message size, the request's own
 * checks, then the proposal's size), proposed, and answered with what applying it gave.
 */
function proposal<R, T>(spec: {
  schema: FieldSchema<WireMessage>;
  convert: (w: WireMessage) => R;
  size?: (r: R) => number;
  check?: (r: R) => EtcdError | undefined;
  field?: number;
  command: (r: R) => Command;
  encode: (header: HeaderContext, response: T) => string;
}): GatewayHandler {
  return votersOnly(async (member, body, caller) => {
    if (isEtcdError(caller)) return caller;
    const request = decode(spec.schema, spec.convert, body);
    if (isEtcdError(request)) return request;
    if (spec.size && spec.field) {
      const size = spec.size(request);
      const err = checkMessageSize(size) ?? spec.check?.(request) ?? checkProposalSize(proposalSize(spec.field, size));
      if (err) return err;
    }
    const result = await member.propose(spec.command(request), caller);
    if (result === undefined) throw new Error("kv: a proposal applied without a result");
    return isEtcdError(result) ? result : spec.encode(member.header, result as T);
  });
}

function answerRange(member: ApiMember, request: RangeRequest, caller: CallerAuth | undefined): Answer | Promise<Answer> {
  const answer = (result: RangeResponse | EtcdError) => (isEtcdError(result) ? result : encode.range(member.header, result));
  const result = member.range(request, caller);
  if (!(result instanceof Promise)) return answer(result);
  return result.then((r) =>
    isEtcdError(r) || r.kvs.length <= RANGE_PAGE_KEYS ? answer(r) : encode.rangeInSlices(member.header, r, RANGE_PAGE_KEYS, freeTheEventLoop)
  );
}

export const kvHandlers: Record<string, GatewayHandler> = {
  "/v3/kv/range": (member, body, caller) => {
    if (isEtcdError(caller)) return caller;
    const request = decode(rangeSchema, toRange, body);
    if (isEtcdError(request)) return request;
    const err = checkMessageSize(rangeSize(request)) ?? checkRange(request);
    if (err) return err;
    if (request.serializable) return answerRange(member, request, caller);
    if (member.isLearner) return notForLearner;
    // A linearizable read first waits until this member has applied all that was acknowledged.
    const barrier = member.readBarrier();
    if (barrier === undefined) return answerRange(member, request, caller);
    return barrier.then((failed) => failed ?? answerRange(member, request, caller));
  },

  "/v3/kv/put": proposal({
    schema: putSchema,
    convert: toPut,
    size: putSize,
    check: checkPut,
    field: ProposalField.put,
    command: (put) => ({ op: "put", put }),
    encode: encode.put,
  }),

  "/v3/kv/deleterange": proposal({
    schema: deleteRangeSchema,
    convert: toDeleteRange,
    size: deleteRangeSize,
    check: checkDeleteRange,
    field: ProposalField.deleteRange,
    command: (deleteRange) => ({ op: "deleteRange", deleteRange }),
    encode: encode.deleteRange,
  }),

  "/v3/kv/txn": proposal({
    schema: txnSchema,
    convert: toTxn,
    size: txnSize,
    check: checkTxn,
    field: ProposalField.txn,
    command: (txn) => ({ op: "txn", txn }),
    encode: encode.txn,
  }),

  "/v3/kv/compaction": proposal({
    schema: compactionSchema,
    convert: toCompaction,
    command: (compact) => ({ op: "compact", compact }),
    encode: encode.compaction,
  }),
};
