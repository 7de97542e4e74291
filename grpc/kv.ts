/**
 * etcd's KV service over gRPC: Range, Put, DeleteRange, Txn and Compact.
 *
 * Owns: each call's path from a decoded request to its response — etcd's checks in etcd's order
 * (the request's own, then the proposal's size; gRPC's limit on the message is calls.ts's, set in
 * server.ts), the member, the response message. Never: semantics of the key space (the store's
 * applier has them) or a rule of its own that the JSON gateway does not share (etcd/ has those).
 */
import type { CallerAuth, Command, CommandResult } from "../etcd/commands.ts";
import { type EtcdError, isEtcdError } from "../etcd/errors.ts";
import { deleteRangeSize, proposalSize, ProposalField, putSize, txnSize } from "../etcd/proto_size.ts";
import { checkDeleteRange, checkProposalSize, checkPut, checkRange, checkTxn } from "../etcd/request_checks.ts";
import type { HeaderContext, RangeRequest, RangeResponse } from "../etcd/types.ts";
import type { ApiMember } from "../member/client_api.ts";
import { type Answer, EncodedMessage, type ServiceImplementation } from "./calls.ts";
import { RANGE_PAGE_KEYS } from "../config/limits.ts";
import { freeTheEventLoop } from "../member/paged_range.ts";
import { etcdServices, type ProtoMessage } from "./protos.ts";
import { toCompaction, toDeleteRange, toPut, toRange, toTxn } from "./requests.ts";
import { kvResponse, type ProtoObject } from "./responses.ts";
import { unary, type UnaryHandler } from "./unary.ts";

/**
 * A write: converted, checked as etcd's gRPC layer and server do (the request's own checks, then
 * the size of the proposal it makes), proposed, and answered with what applying it gave.
 */
function proposal<R, T>(spec: {
  convert: (m: ProtoMessage) => R;
  check?: (r: R) => EtcdError | undefined;
  size?: { field: number; of: (r: R) => number };
  command: (r: R) => Command;
  respond: (header: HeaderContext, response: T) => ProtoObject;
}): UnaryHandler {
  return async (member, message, caller) => {
    if (isEtcdError(caller)) return caller;
    const request = spec.convert(message);
    const err = spec.check?.(request) ?? (spec.size && checkProposalSize(proposalSize(spec.size.field, spec.size.of(request))));
    if (err) return err;
    const result: CommandResult = await member.propose(spec.command(request), caller);
    if (result === undefined) throw new Error("kv: a proposal applied without a result");
    return isEtcdError(result) ? result : spec.respond(member.header, result as T);
  };
}

function answerRange(member: ApiMember, request: RangeRequest, caller: CallerAuth | undefined): Answer | Promise<Answer> {
  const answer = (result: RangeResponse | EtcdError) => (isEtcdError(result) ? result : kvResponse.range(member.header, result));
  const result = member.range(request, caller);
  if (!(result instanceof Promise)) return answer(result);
  return result.then((r): Answer | Promise<Answer> => (isEtcdError(r) || r.kvs.length <= RANGE_PAGE_KEYS ? answer(r) : encodeInSlices(member.header, r)));
}

/** A long range response, encoded a slice of key-values at a time with the event loop free between slices. */
async function encodeInSlices(ctx: HeaderContext, r: RangeResponse): Promise<EncodedMessage> {
  const serialize = etcdServices().KV.Range.responseSerialize;
  const parts = kvResponse.rangeParts(ctx, r);
  const encoded: Buffer[] = [serialize(parts.head)];
  for (let i = 0; i < r.kvs.length; i += RANGE_PAGE_KEYS) {
    encoded.push(serialize(parts.kvs(r.kvs.slice(i, i + RANGE_PAGE_KEYS))));
    await freeTheEventLoop();
  }
  encoded.push(serialize(parts.tail));
  return new EncodedMessage(Buffer.concat(encoded));
}

const range: UnaryHandler = (member, message, caller) => {
  if (isEtcdError(caller)) return caller;
  const request = toRange(message);
  const err = checkRange(request);
  if (err) return err;
  if (request.serializable) return answerRange(member, request, caller);
  // A linearizable read first waits until this member has applied all that was acknowledged.
  const barrier = member.readBarrier();
  if (barrier === undefined) return answerRange(member, request, caller);
  return barrier.then((failed) => failed ?? answerRange(member, request, caller));
};

export function kvService(member: ApiMember): ServiceImplementation {
  return {
    Range: unary(member, range, { servesLearner: (m) => m.serializable === true }),
    Put: unary(member, proposal({
      convert: toPut,
      check: checkPut,
      size: { field: ProposalField.put, of: putSize },
      command: (put) => ({ op: "put", put }),
      respond: kvResponse.put,
    })),
    DeleteRange: unary(member, proposal({
      convert: toDeleteRange,
      check: checkDeleteRange,
      size: { field: ProposalField.deleteRange, of: deleteRangeSize },
      command: (deleteRange) => ({ op: "deleteRange", deleteRange }),
      respond: kvResponse.deleteRange,
    })),
    Txn: unary(member, proposal({
      convert: toTxn,
      check: checkTxn,
      size: { field: ProposalField.txn, of: txnSize },
      command: (txn) => ({ op: "txn", txn }),
      respond: kvResponse.txn,
    })),
    Compact: unary(member, proposal({
      convert: toCompaction,
      command: (compact) => ({ op: "compact", compact }),
      respond: kvResponse.compaction,
    })),
  };
}
