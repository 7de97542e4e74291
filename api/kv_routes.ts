/**
 * etcd's KV gateway: /v3/kv/range, put, deleterange, txn and compaction.
 *
 * Owns: each call's path from a decoded body to an answer — schema, etcd's checks and limits, the
 * member, the response JSON. Never: semantics of the key space (the store's applier has them).
 */
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { CompactionResponse, DeleteRangeResponse, PutResponse, TxnResponse } from "../etcd/types.ts";
import type { ApiMember } from "./api_member.ts";
import { encode } from "./etcd_json.ts";
import type { JsonValue } from "./go_json.ts";
import {
  compactionSchema, deleteRangeSchema, putSchema, rangeSchema, toCompaction, toDeleteRange, toPut, toRange, toTxn,
  txnSchema,
} from "./kv_schemas.ts";
import { decodeWith } from "./proto_json.ts";
import { deleteRangeSize, proposalSize, ProposalField, putSize, rangeSize, txnSize } from "./proto_size.ts";
import { checkDeleteRange, checkMessageSize, checkProposalSize, checkPut, checkRange, checkTxn } from "./request_checks.ts";

/** A JSON answer (200) or an etcd error. */
export type Answer = string | EtcdError;
export type KvHandler = (member: ApiMember, body: JsonValue) => Answer | Promise<Answer>;

const invalid = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message);

/** Runs a proposal and narrows its result to the response kind the caller proposed. */
async function proposed<T>(member: ApiMember, command: Parameters<ApiMember["propose"]>[0]): Promise<T | EtcdError> {
  const result = await member.propose(command);
  if (result === undefined) throw new Error("kv: a proposal applied without a result");
  return result as T | EtcdError;
}

export const kvHandlers: Record<string, KvHandler> = {
  "/v3/kv/range": (member, body) => {
    const decoded = decodeWith(rangeSchema, body);
    if (!decoded.ok) return invalid(decoded.error);
    const request = toRange(decoded.value);
    const err = checkMessageSize(rangeSize(request)) ?? checkRange(request);
    if (err) return err;
    const result = member.range(request);
    return isEtcdError(result) ? result : encode.range(member.header, result);
  },

  "/v3/kv/put": async (member, body) => {
    const decoded = decodeWith(putSchema, body);
    if (!decoded.ok) return invalid(decoded.error);
    const put = toPut(decoded.value);
    const size = putSize(put);
    const err = checkMessageSize(size) ?? checkPut(put) ?? checkProposalSize(proposalSize(ProposalField.put, size));
    if (err) return err;
    const result = await proposed<PutResponse>(member, { op: "put", put });
    return isEtcdError(result) ? result : encode.put(member.header, result);
  },

  "/v3/kv/deleterange": async (member, body) => {
    const decoded = decodeWith(deleteRangeSchema, body);
    if (!decoded.ok) return invalid(decoded.error);
    const deleteRange = toDeleteRange(decoded.value);
    const size = deleteRangeSize(deleteRange);
    const err = checkMessageSize(size) ?? checkDeleteRange(deleteRange) ??
      checkProposalSize(proposalSize(ProposalField.deleteRange, size));
    if (err) return err;
    const result = await proposed<DeleteRangeResponse>(member, { op: "deleteRange", deleteRange });
    return isEtcdError(result) ? result : encode.deleteRange(member.header, result);
  },

  "/v3/kv/txn": async (member, body) => {
    const decoded = decodeWith(txnSchema, body);
    if (!decoded.ok) return invalid(decoded.error);
    const txn = toTxn(decoded.value);
    const size = txnSize(txn);
    const err = checkMessageSize(size) ?? checkTxn(txn) ?? checkProposalSize(proposalSize(ProposalField.txn, size));
    if (err) return err;
    const result = await proposed<TxnResponse>(member, { op: "txn", txn });
    return isEtcdError(result) ? result : encode.txn(member.header, result);
  },

  "/v3/kv/compaction": async (member, body) => {
    const decoded = decodeWith(compactionSchema, body);
    if (!decoded.ok) return invalid(decoded.error);
    const compact = toCompaction(decoded.value);
    const result = await proposed<CompactionResponse>(member, { op: "compact", compact });
    return isEtcdError(result) ? result : encode.compaction(member.header, result);
  },
};
