/**
 * Keys and values: get (a key, a prefix, a range), put, delete, and transactions built as
 * compare / then / else — bytes or text in, bytes out (with text beside them), base64 hidden.
 *
 * Owns: the KV calls' requests and answers. Never: which member answers (transport.ts).
 */
import { type BytesLike, fromBase64, prefixEnd, toBase64, toText } from "./bytes.ts";
import type { CallOptions, Json, Transport } from "./transport.ts";

export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  /** The key and the value as UTF-8 text. */
  keyText: string;
  valueText: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease it is attached to ("0": none). */
  lease: string;
}

export function keyValue(kv: Json): KeyValue {
  const key = fromBase64(kv.key);
  const value = fromBase64(kv.value);
  return {
    key, value, keyText: toText(key), valueText: toText(value),
    createRevision: Number(kv.create_revision ?? 0), modRevision: Number(kv.mod_revision ?? 0), version: Number(kv.version ?? 0),
    lease: String(kv.lease ?? "0"),
  };
}

export interface GetOptions extends CallOptions {
  /** Every key starting with the key given. */
  prefix?: boolean;
  /** Keys up to (not including) this one. */
  end?: BytesLike;
  limit?: number;
  /** As of this revision (0: now). */
  revision?: number;
  /** Answered by the member asked, without a round through the leader. */
  serializable?: boolean;
  keysOnly?: boolean;
}

export interface GetResult {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutOptions extends CallOptions {
  lease?: string;
  prevKv?: boolean;
}

/** A compare of a txn: a key's value, version, create or mod revision, or lease, against an operand. */
export interface Compare {
  key: BytesLike;
  target: "VALUE" | "VERSION" | "CREATE" | "MOD" | "LEASE";
  result: "=" | "!=" | ">" | "<";
  operand: BytesLike | number | string;
}

/** Compares, for a txn's `if`. */
export const compare = {
  value: (key: BytesLike, result: Compare["result"], value: BytesLike): Compare => ({ key, target: "VALUE", result, operand: value }),
  version: (key: BytesLike, result: Compare["result"], n: number): Compare => ({ key, target: "VERSION", result, operand: n }),
  createRevision: (key: BytesLike, result: Compare["result"], n: number): Compare => ({ key, target: "CREATE", result, operand: n }),
  modRevision: (key: BytesLike, result: Compare["result"], n: number): Compare => ({ key, target: "MOD", result, operand: n }),
  lease: (key: BytesLike, result: Compare["result"], lease: string): Compare => ({ key, target: "LEASE", result, operand: lease }),
};

/** An operation of a txn's branch. */
export type Op = { request: Json };

/** Operations, for a txn's `then` and `else`. */
export const op = {
  get: (key: BytesLike, options: Omit<GetOptions, keyof CallOptions> = {}): Op => ({ request: { request_range: rangeRequest(key, options) } }),
  put: (key: BytesLike, value: BytesLike, options: Omit<PutOptions, keyof CallOptions> = {}): Op => ({ request: { request_put: putRequest(key, value, options) } }),
  delete: (key: BytesLike, options: { prefix?: boolean; end?: BytesLike } = {}): Op => ({ request: { request_delete_range: deleteRequest(key, options) } }),
};

const RESULTS = { "=": "EQUAL", "!=": "NOT_EQUAL", ">": "GREATER", "<": "LESS" } as const;
const OPERAND_FIELDS = { VALUE: "value", VERSION: "version", CREATE: "create_revision", MOD: "mod_revision", LEASE: "lease" } as const;

function rangeRequest(key: BytesLike, o: Omit<GetOptions, keyof CallOptions>): Json {
  const end = o.prefix ? prefixEnd(key) : o.end;
  return {
    key: toBase64(key), ...(end !== undefined ? { range_end: toBase64(end) } : {}), ...(o.limit ? { limit: o.limit } : {}),
    ...(o.revision ? { revision: o.revision } : {}), ...(o.serializable ? { serializable: true } : {}), ...(o.keysOnly ? { keys_only: true } : {}),
  };
}

function putRequest(key: BytesLike, value: BytesLike, o: Omit<PutOptions, keyof CallOptions>): Json {
  return { key: toBase64(key), value: toBase64(value), ...(o.lease ? { lease: o.lease } : {}), ...(o.prevKv ? { prev_kv: true } : {}) };
}

function deleteRequest(key: BytesLike, o: { prefix?: boolean; end?: BytesLike }): Json {
  const end = o.prefix ? prefixEnd(key) : o.end;
  return { key: toBase64(key), ...(end !== undefined ? { range_end: toBase64(end) } : {}) };
}

function compareRequest(c: Compare): Json {
  const operand = c.target === "VALUE" ? toBase64(c.operand as BytesLike) : String(c.operand);
  return { key: toBase64(c.key), target: c.target, result: RESULTS[c.result], [OPERAND_FIELDS[c.target]]: operand };
}

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** Each operation's answer: a get's key-values, a put's or delete's revision. */
  responses: ({ kvs: KeyValue[] } | { deleted: number } | Record<string, never>)[];
}

/** A transaction: `if` every compare holds, `then` runs, else `else`; `commit` sends it. */
export class TxnBuilder {
  readonly #transport: Transport;
  #compares: Compare[] = [];
  #success: Op[] = [];
  #failure: Op[] = [];

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  if(...compares: Compare[]): this {
    this.#compares.push(...compares);
    return this;
  }

  then(...ops: Op[]): this {
    this.#success.push(...ops);
    return this;
  }

  else(...ops: Op[]): this {
    this.#failure.push(...ops);
    return this;
  }

  async commit(options: CallOptions = {}): Promise<TxnResult> {
    const body = {
      compare: this.#compares.map(compareRequest),
      success: this.#success.map((o) => o.request),
      failure: this.#failure.map((o) => o.request),
    };
    const readOnly = [...this.#success, ...this.#failure].every((o) => "request_range" in o.request);
    const r = await this.#transport.call("/v3/kv/txn", body, { ...options, retry: readOnly });
    return {
      succeeded: r.succeeded === true,
      revision: Number(r.header?.revision ?? 0),
      responses: (r.responses ?? []).map((x: Json) =>
        x.response_range ? { kvs: (x.response_range.kvs ?? []).map(keyValue) } : x.response_delete_range ? { deleted: Number(x.response_delete_range.deleted ?? 0) } : {}
      ),
    };
  }
}

export class KV {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async get(key: BytesLike, options: GetOptions = {}): Promise<GetResult> {
    const r = await this.#transport.call("/v3/kv/range", rangeRequest(key, options), { ...options, retry: true });
    return { revision: Number(r.header?.revision ?? 0), kvs: (r.kvs ?? []).map(keyValue), more: r.more === true, count: Number(r.count ?? 0) };
  }

  /** The value of `key` as text, or undefined when there is none. */
  async getText(key: BytesLike, options: CallOptions = {}): Promise<string | undefined> {
    return (await this.get(key, options)).kvs[0]?.valueText;
  }

  async put(key: BytesLike, value: BytesLike, options: PutOptions = {}): Promise<{ revision: number; prevKv?: KeyValue }> {
    const r = await this.#transport.call("/v3/kv/put", putRequest(key, value, options), options);
    return { revision: Number(r.header?.revision ?? 0), ...(r.prev_kv ? { prevKv: keyValue(r.prev_kv) } : {}) };
  }

  async delete(key: BytesLike, options: CallOptions & { prefix?: boolean; end?: BytesLike } = {}): Promise<{ revision: number; deleted: number }> {
    const r = await this.#transport.call("/v3/kv/deleterange", deleteRequest(key, options), options);
    return { revision: Number(r.header?.revision ?? 0), deleted: Number(r.deleted ?? 0) };
  }

  txn(): TxnBuilder {
    return new TxnBuilder(this.#transport);
  }
}
