/**
 * valibot schemas for proto3 JSON as etcd's gateway reads it (golang/protobuf jsonpb on top of
 * encoding/json), failing with the same words.
 *
 * Owns: field kinds — bytes (padded standard base64), int64 and uint64 (a number or a string
 * holding one), string, bool, enums (by name or number), nested and repeated messages, oneofs —
 * and the message rules: snake_case and lowerCamelCase both accepted (camel wins when both are
 * given), null means "not set", unknown fields ignored, fields read in proto order so the first bad one is
 * the one reported. Never: knows a particular etcd message (kv_schemas.ts does).
 */
import * as v from "valibot";
import { decodeGoBase64 } from "./go_base64.ts";
import { GoNumber, goKind, type JsonValue, unmarshal } from "./go_json.ts";

/** A schema from a JSON value (already syntax-checked) to T, whose only issue is etcd's message. */
export type FieldSchema<T> = v.GenericSchema<JsonValue, T>;
/** A decoded message: its fields by proto name. */
export type WireMessage = Record<string, unknown>;

const cannot = (what: string, goType: string) => `json: cannot unmarshal ${what} into Go value of type ${goType}`;

/** A field decoder written as Go would fail: returns the value, or a message. */
function field<T>(decode: (input: JsonValue) => { value: T } | { error: string }): FieldSchema<T> {
  return v.pipe(
    v.custom<JsonValue>(() => true),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const r = decode(dataset.value);
      if ("error" in r) {
        addIssue({ message: r.error });
        return NEVER;
      }
      return r.value;
    }),
  );
}

export const bytes: FieldSchema<Uint8Array> = field<Uint8Array>((input) => {
  if (typeof input !== "string") return { error: cannot(goKind(input), "[]uint8") };
  const r = decodeGoBase64(input);
  return r.ok ? { value: r.bytes } : { error: r.error };
});

export const bool: FieldSchema<boolean> = field<boolean>((input) =>
  typeof input === "boolean" ? { value: input } : { error: cannot(goKind(input), "bool") }
);

const INT_LIMITS = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
} as const;

/** An integer of a Go type; `goType` names it in errors (an enum's type, for enums by number). */
function integer(input: JsonValue, kind: keyof typeof INT_LIMITS, goType: string): { value: bigint } | { error: string } {
  let value = input;
  if (typeof value === "string") {
    // jsonpb drops the quotes of the raw JSON text and parses what is inside as JSON.
    const inner = unmarshal(JSON.stringify(value).slice(1, -1));
    if (!inner.ok) return { error: inner.error };
    value = inner.value;
  }
  if (!(value instanceof GoNumber)) return { error: cannot(goKind(value), goType) };
  const [min, max] = INT_LIMITS[kind];
  if (!/^-?\d+$/.test(value.raw)) return { error: cannot(`number ${value.raw}`, goType) };
  const n = BigInt(value.raw);
  if (n < min || n > max) return { error: cannot(`number ${value.raw}`, goType) };
  return { value: n };
}

export const int64: FieldSchema<bigint> = field((input) => integer(input, "int64", "int64"));
/** Member ids: unsigned 64-bit. */
export const uint64: FieldSchema<bigint> = field((input) => integer(input, "uint64", "uint64"));

export const string: FieldSchema<string> = field<string>((input) =>
  typeof input === "string" ? { value: input } : { error: cannot(goKind(input), "string") }
);

/** An int64 that etcd uses as a revision, count or limit: held as a number (they stay < 2^53). */
export const int64Number: FieldSchema<number> = field((input) => {
  const r = integer(input, "int64", "int64");
  return "error" in r ? r : { value: Number(r.value) };
});

/** A proto enum: by name (must be one) or by any int32 number, as jsonpb accepts. */
export function enumeration(protoName: string, names: readonly string[]): FieldSchema<number> {
  return field((input) => {
    if (typeof input === "string") {
      const n = names.indexOf(input);
      return n >= 0 ? { value: n } : { error: `unknown value ${JSON.stringify(input)} for enum ${protoName}` };
    }
    const r = integer(input, "int32", protoName);
    return "error" in r ? r : { value: Number(r.value) };
  });
}

export function repeated<T>(item: FieldSchema<T>): FieldSchema<T[]> {
  return v.pipe(
    v.custom<JsonValue>((input) => Array.isArray(input), (issue) => cannot(goKind(issue.input as JsonValue), "[]json.RawMessage")),
    v.array(item),
  ) as unknown as FieldSchema<T[]>;
}

/** One field of a message: its proto name, its JSON (lowerCamelCase) name, its kind. */
export type FieldSpec = { name: string; json: string; schema: FieldSchema<unknown> };

export function spec(name: string, schema: FieldSchema<unknown>): FieldSpec {
  return { name, json: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), schema };
}

/**
 * A message: its plain fields in proto order, then its oneof members. The output holds the fields
 * that were set, under their proto names.
 */
export function message<T>(fields: readonly FieldSpec[], oneof: readonly FieldSpec[] = []): FieldSchema<T> {
  const all = [...fields, ...oneof];
  const entries: Record<string, v.GenericSchema> = {};
  for (const f of all) entries[f.name] = v.optional(f.schema as v.GenericSchema);
  return v.pipe(
    v.custom<JsonValue>(
      (input) => input === null || (typeof input === "object" && !Array.isArray(input) && !(input instanceof GoNumber)),
      (issue) => cannot(goKind(issue.input as JsonValue), "map[string]json.RawMessage"),
    ),
    v.transform((input) => {
      // `null` unmarshals into a message as nothing at all, as in Go.
      const given = (input ?? {}) as Record<string, JsonValue>;
      const picked: Record<string, JsonValue> = {};
      for (const f of all) {
        const value = given[f.json] !== undefined ? given[f.json] : given[f.name];
        if (value !== undefined && value !== null) picked[f.name] = value;
      }
      return picked;
    }),
    v.object(entries) as unknown as v.GenericSchema<Record<string, JsonValue>, T>,
  ) as unknown as FieldSchema<T>;
}

/** Parses with etcd's first-error-wins behaviour; the message is the one etcd would give. */
export function decodeWith<T>(schema: FieldSchema<T>, input: JsonValue): { ok: true; value: T } | { ok: false; error: string } {
  try {
    const r = v.safeParse(schema, input, { abortEarly: true });
    return r.success ? { ok: true, value: r.output } : { ok: false, error: r.issues[0].message };
  } catch (e) {
    // Nested txns deep enough to exhaust the stack: far past etcd's own limit (each level takes
    // one of the 128 ops a txn may hold), so refuse them in the words of that limit.
    if (e instanceof RangeError) return { ok: false, error: "etcdserver: too many operations in txn request" };
    throw e;
  }
}
