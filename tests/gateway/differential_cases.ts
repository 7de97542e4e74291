/**
 * The ordered request sequence the differential test sends to a fresh etcd 3.4 and a fresh
 * Concord. Stateful: each case runs against the state the earlier ones left (revision 1 at the
 * start), so revisions, versions and create revisions in every answer are compared too.
 * Bodies are raw strings, so malformed JSON and odd spellings can be said exactly.
 */

export type DifferentialCase = { name: string; method: "GET" | "POST"; path: string; body?: string };

const enc = new TextEncoder();
/** base64 of a string's UTF-8 bytes, or of raw bytes. */
const b = (s: string | number[]) => Buffer.from(typeof s === "string" ? enc.encode(s) : Uint8Array.from(s)).toString("base64");
const json = (v: unknown) => JSON.stringify(v);

const cases: DifferentialCase[] = [];
const post = (name: string, path: string, body?: unknown) =>
  cases.push({ name, method: "POST", path, body: body === undefined || typeof body === "string" ? body : json(body) });
const get = (name: string, path: string) => cases.push({ name, method: "GET", path });
const put = (name: string, body: unknown) => post(name, "/v3/kv/put", body);
const range = (name: string, body: unknown) => post(name, "/v3/kv/range", body);
const del = (name: string, body: unknown) => post(name, "/v3/kv/deleterange", body);
const txn = (name: string, body: unknown) => post(name, "/v3/kv/txn", body);
const compact = (name: string, body: unknown) => post(name, "/v3/kv/compaction", body);
const rput = (key: string, value = "", extra: object = {}) => ({ request_put: { key: b(key), value: b(value), ...extra } });
const rrange = (key: string, extra: object = {}) => ({ request_range: { key: b(key), ...extra } });
const rdel = (key: string, extra: object = {}) => ({ request_delete_range: { key: b(key), ...extra } });
const cmp = (key: string, target: string | number, result: string | number, operand: object) => ({ key: b(key), target, result, ...operand });
const ALL = { key: "AA==", range_end: "AA==" };

// ---- the member itself, and paths that are not calls ----
get("version", "/version");
get("health", "/health");
post("status on a fresh member", "/v3/maintenance/status", {});
post("member list", "/v3/cluster/member/list", {});
post("member list with an empty body", "/v3/cluster/member/list");
post("unknown path is 404", "/v3/kv/nope", {});
get("GET on a POST path is 405", "/v3/kv/range");
post("range on an empty store", "/v3/kv/range", { key: b("a") });

// ---- put ----
put("put a first key", { key: b("a"), value: b("1") });
put("put overwrites, prev_kv returns the old pair", { key: b("a"), value: b("2"), prev_kv: true });
put("put with lowerCamelCase prevKv", { key: b("a"), value: b("3"), prevKv: true });
put("put with an empty value", { key: b("e"), value: "" });
put("put with no value field", { key: b("novalue") });
put("put of binary key and value", { key: b([0xff, 0xfe, 0x00, 0x01]), value: b([0x00, 0x80, 0xff]) });
put("put of a key with a slash", { key: b("a/1"), value: b("one") });
put("put a/2", { key: b("a/2"), value: b("two") });
put("put a/3", { key: b("a/3"), value: b("three") });
put("put ab (shares the prefix a, not a/)", { key: b("ab"), value: b("ab") });
put("put b/1", { key: b("b/1"), value: b("b-one") });
put("put a key holding a NUL byte", { key: b("n\u0000ul"), value: b("nul") });
put("put with lease 0 as a string", { key: b("c"), value: b("c"), lease: "0" });
put("put with lease 0 as a number", { key: b("c"), value: b("c2"), lease: 0 });
put("put with ignore_value keeps the value", { key: b("c"), ignore_value: true, prev_kv: true });
put("put with ignore_lease keeps the lease", { key: b("c"), value: b("c3"), ignore_lease: true });
put("put with ignoreValue in camelCase", { key: b("c"), ignoreValue: true });
put("put with an unknown field is accepted", { key: b("u"), value: b("u"), surprise: { deep: [1, 2] } });
put("put with both prev_kv spellings: camel wins", { key: b("u"), value: b("u2"), prev_kv: false, prevKv: true });
put("put with null fields", { key: b("u"), value: null, prev_kv: null, lease: null });
put("put with the key as a JSON string escape", `{"key":"\\u0059\\u0051\\u003d\\u003d","value":"MQ=="}`);
put("put with base64 broken by an escaped newline (Go skips it)", `{"key":"YW\\nJj","value":"MQ=="}`);
put("ignore_value on a missing key", { key: b("missing"), ignore_value: true });
put("ignore_lease on a missing key", { key: b("missing"), ignore_lease: true });
put("ignore_value with a value", { key: b("c"), value: b("x"), ignore_value: true });
put("ignore_lease with a lease", { key: b("c"), ignore_lease: true, lease: "5" });
put("put with a lease that does not exist", { key: b("leased"), value: b("x"), lease: "123" });
put("put with a negative lease", { key: b("leased"), value: b("x"), lease: -5 });
put("put with an empty key", { key: "", value: b("x") });
put("put with no key", { value: b("x") });
put("put with an empty body", undefined);
put("put with a body of white space", "   \n ");
put("put with JSON null", "null");

// ---- malformed JSON ----
put("truncated object", `{"key":"YQ==",`);
put("truncated string", `{"key":"YQ`);
put("missing value after colon", `{"key":}`);
put("single quotes", `{'key':'YQ=='}`);
put("trailing comma in object", `{"key":"YQ==",}`);
put("missing comma between fields", `{"key":"YQ==" "value":"MQ=="}`);
put("bad escape in a string", `{"key":"Y\\qQ=="}`);
put("bare word", `hello`);
put("a JSON array", `[1,2]`);
put("a JSON string", `"YQ=="`);
put("a JSON number", `42`);
put("text after a complete object is ignored", `{"key":"dA==","value":"MQ=="} trailing words`);
put("literal misspelled", `{"key":"YQ==","prev_kv":tru}`);
put("number with a dangling decimal point", `{"key":"YQ==","lease":1.}`);
put("raw control character in a string", `{"key":"Y\u0001Q=="}`);

// ---- bad base64 and wrong types ----
put("base64 without padding", { key: "YQ", value: b("x") });
put("base64 with one pad missing", { key: "YQ=", value: b("x") });
put("base64 url alphabet", { key: "YQ-_", value: b("x") });
put("base64 with too much padding", { key: "a===", value: b("x") });
put("base64 of punctuation", { key: "!!!!", value: b("x") });
put("base64 with data after padding", { key: "YQ==YQ==", value: b("x") });
put("base64 with a space inside", { key: "Y Q==", value: b("x") });
put("bad base64 in the value", { key: b("k"), value: "MQ" });
put("key as a number", { key: 5 });
put("key as an object", { key: { a: 1 } });
put("value as true", { key: b("k"), value: true });
put("prev_kv as a string", { key: b("k"), prev_kv: "true" });
put("prev_kv as a number", { key: b("k"), prev_kv: 1 });
put("lease as a word", { key: b("k"), lease: "abc" });
put("lease as a fraction", { key: b("k"), lease: 1.5 });
put("lease in exponent form", { key: b("k"), lease: "1e3" });
put("lease beyond int64", { key: b("k"), lease: "99999999999999999999" });
put("lease as a bool", { key: b("k"), lease: true });
put("lease as an empty string", { key: b("k"), lease: "" });
put("lease as a quoted quoted number", { key: b("k"), lease: '"5"' });

// ---- size limits ----
put("value just under 1.5 MiB is accepted", { key: b("big"), value: b("x".repeat(1_572_000)) });
put("value over 1.5 MiB is too large", { key: b("big"), value: b("x".repeat(1_600_000)) });
put("value over 2 MiB is refused by gRPC", { key: b("big"), value: b("x".repeat(2_200_000)) });
del("delete the big key again", { key: b("big") });

// ---- range ----
range("range one key", { key: b("a") });
range("range a missing key", { key: b("zzz") });
range("range a prefix a/", { key: b("a/"), range_end: b("a0") });
range("range from a key to the end", { key: b("b"), range_end: "AA==" });
range("range every key", ALL);
range("range with key after range_end is empty", { key: b("c"), range_end: b("a") });
range("range with limit 2 reports more", { ...ALL, limit: 2 });
range("range with limit as a string", { ...ALL, limit: "3" });
range("range with a limit larger than the result", { ...ALL, limit: 100 });
range("range with a negative limit", { ...ALL, limit: -1 });
range("count_only", { ...ALL, count_only: true });
range("count_only with a limit", { ...ALL, count_only: true, limit: 1 });
range("keys_only", { key: b("a/"), range_end: b("a0"), keys_only: true });
range("keysOnly and rangeEnd in camelCase", { key: b("a/"), rangeEnd: b("a0"), keysOnly: true });
range("sort by key descending", { ...ALL, sort_order: "DESCEND", sort_target: "KEY" });
range("sort by key ascending", { ...ALL, sort_order: "ASCEND" });
range("sort by version descending", { key: b("a"), range_end: b("d"), sort_order: "DESCEND", sort_target: "VERSION" });
range("sort by create revision descending", { key: b("a"), range_end: b("d"), sort_order: "DESCEND", sort_target: "CREATE" });
range("sort by mod revision ascending", { key: b("a"), range_end: b("d"), sort_order: "ASCEND", sort_target: "MOD" });
range("sort by value descending", { key: b("a"), range_end: b("d"), sort_order: "DESCEND", sort_target: "VALUE" });
range("sort target alone sorts ascending", { key: b("a"), range_end: b("d"), sort_target: "VALUE" });
range("sort order and target by number", { key: b("a"), range_end: b("d"), sort_order: 2, sort_target: 3 });
range("sortOrder and sortTarget in camelCase", { key: b("a"), range_end: b("d"), sortOrder: "DESCEND", sortTarget: "MOD" });
range("sort descending with limit", { ...ALL, sort_order: "DESCEND", limit: 2 });
range("unknown sort order name", { key: b("a"), sort_order: "SIDEWAYS" });
range("unknown sort target name", { key: b("a"), sort_target: "SIZE" });
range("sort order out of range leaves key order", { ...ALL, sort_order: 9 });
range("sort order as a fraction", { key: b("a"), sort_order: 1.5 });
range("at a past revision", { key: b("a"), revision: 2 });
range("at a past revision as a string", { ...ALL, revision: "5" });
range("at a future revision", { key: b("a"), revision: 100000 });
range("at a negative revision (current)", { key: b("a"), revision: -3 });
range("min_mod_revision filter", { ...ALL, min_mod_revision: 10 });
range("max_mod_revision filter", { ...ALL, max_mod_revision: 6 });
range("min_create_revision filter with limit", { ...ALL, min_create_revision: 8, limit: 2 });
range("max_create_revision filter", { ...ALL, max_create_revision: 4 });
range("minModRevision in camelCase", { ...ALL, minModRevision: 12 });
range("serializable", { key: b("a"), serializable: true });
range("range with an empty key", { key: "" });
range("range with only range_end", { range_end: b("z") });
range("range with an empty body", undefined);
range("range with a bad range_end", { key: b("a"), range_end: "a" });

// ---- delete ----
del("delete one key with prev_kv", { key: b("ab"), prev_kv: true });
del("delete a missing key", { key: b("ab") });
del("delete a prefix", { key: b("b/"), range_end: b("b0"), prev_kv: true });
del("delete with an empty key", { key: "" });
del("delete with prevKv in camelCase", { key: b("e"), prevKv: true });
range("deleted keys are gone at the current revision", ALL);

// ---- txn ----
txn("empty txn", {});
txn("txn with an empty body", undefined);
txn("value compare succeeds; put, range, delete, nested txn", {
  compare: [cmp("a", "VALUE", "EQUAL", { value: b("3") })],
  success: [rput("t1", "x"), rrange("t1"), rdel("c", { prev_kv: true }), { request_txn: { success: [rput("t2", "y")] } }],
  failure: [rrange("a")],
});
txn("value compare on a missing key fails", {
  compare: [cmp("absent", "VALUE", "NOT_EQUAL", { value: b("z") })],
  success: [rput("never")],
  failure: [rrange("a"), rput("t3", "from failure")],
});
txn("version greater, create equal, mod less", {
  compare: [
    cmp("a", "VERSION", "GREATER", { version: 2 }),
    cmp("a", "CREATE", "EQUAL", { create_revision: "2" }),
    cmp("a", "MOD", "LESS", { mod_revision: 1000 }),
  ],
  success: [rrange("a", { keys_only: true })],
});
txn("compare enums by number", {
  compare: [cmp("a", 0, 3, { version: 1 })],
  success: [rrange("a")],
});
txn("lease compare equal to 0", { compare: [cmp("a", "LEASE", "EQUAL", { lease: "0" })], success: [rrange("a")] });
txn("create revision 0 on a missing key (create-if-absent)", {
  compare: [cmp("fresh", "CREATE", "EQUAL", { create_revision: 0 })],
  success: [rput("fresh", "new")],
  failure: [rrange("fresh")],
});
txn("the same create-if-absent again takes failure", {
  compare: [cmp("fresh", "CREATE", "EQUAL", { create_revision: 0 })],
  success: [rput("fresh", "newer")],
  failure: [rrange("fresh")],
});
txn("compare over a range: every key must match", {
  compare: [{ ...cmp("a/", "VERSION", "EQUAL", { version: 1 }), range_end: b("a0") }],
  success: [rrange("a/", { range_end: b("a0") })],
  failure: [rput("a/1", "bumped")],
});
txn("compare over a range again, now failing", {
  compare: [{ ...cmp("a/", "VERSION", "EQUAL", { version: 1 }), range_end: b("a0") }],
  success: [rrange("a/", { range_end: b("a0") })],
  failure: [rrange("a/1")],
});
txn("target VERSION with a mod_revision operand compares with 0", {
  compare: [cmp("a", "VERSION", "GREATER", { mod_revision: 999999 })],
  success: [rrange("a")],
});
txn("nested compares see the state before the txn", {
  compare: [],
  success: [rput("t4", "v"), { request_txn: { compare: [cmp("t4", "VALUE", "EQUAL", { value: b("v") })], success: [rput("t5")], failure: [rput("t6")] } }],
});
txn("a range in a txn sees an earlier put of the same txn", { success: [rput("t7", "seen"), rrange("t7"), rrange("t7", { revision: 1 })] });
txn("read-only txn does not move the revision", { success: [rrange("a"), { request_txn: { success: [rrange("t7")] } }] });
txn("txn whose only write deletes nothing", { success: [rdel("nothing-here")] });
txn("put with prev_kv and ignore_value inside a txn", { success: [rput("t7", "", { ignore_value: true, prev_kv: true })] });
txn("ignore_value on a missing key fails the whole txn", { success: [rput("t8", "x"), rput("missing", "", { ignore_value: true })] });
txn("a lease that does not exist fails the whole txn", { success: [rput("t8", "x", { lease: "77" })] });
txn("a range at a future revision fails the whole txn", { success: [rput("t8", "x"), rrange("t8", { revision: 100000 })] });
txn("the failed txns above wrote nothing", { success: [rrange("t8")] });
txn("129 puts are too many", { success: Array.from({ length: 129 }, (_, i) => rput(`many/${i}`)) });
txn("128 puts are fine", { success: Array.from({ length: 128 }, (_, i) => rput(`many/${i}`)) });
txn("129 compares are too many", { compare: Array.from({ length: 129 }, () => cmp("a", "VERSION", "GREATER", { version: 0 })) });
txn("the same key put twice", { success: [rput("d1"), rput("d1")] });
txn("put and delete of the same key", { success: [rput("d1"), rdel("d1")] });
txn("a delete range covering a put", { success: [rput("d2"), rdel("d", { range_end: b("e") })] });
txn("two overlapping deletes are allowed", { success: [rdel("a/", { range_end: b("a0") }), rdel("a/2")] });
txn("the same key in success and failure is allowed", { compare: [cmp("a", "VERSION", "EQUAL", { version: 0 })], success: [rput("d3")], failure: [rput("d3")] });
txn("a nested put duplicating an outer put", { success: [rput("d4"), { request_txn: { success: [rput("d4")] } }] });
txn("one key in both branches of a nested txn", { success: [{ request_txn: { success: [rput("d5", "s")], failure: [rput("d5", "f")] } }] });
txn("an op with no request", { success: [{}] });
txn("a put with an empty key inside", { success: [{ request_put: { key: "" } }] });
txn("a compare with an empty key", { compare: [{ key: "", target: "VERSION", result: "EQUAL" }] });
txn("unknown compare result name", { compare: [cmp("a", "VERSION", "ALMOST", { version: 1 })] });
txn("unknown compare target name", { compare: [cmp("a", "COLOR", "EQUAL", { version: 1 })] });
txn("compare as a string", { compare: "x" });
txn("success holding a number", { success: [1] });
txn("request_put as an array", { success: [{ request_put: [] }] });
txn("lowerCamelCase request names", { success: [{ requestPut: { key: b("camel"), value: b("c") } }, { requestRange: { key: b("camel") } }] });

// ---- many keys: a range over more than one page (member/paged_range.ts) ----
const manyKeys = (from: number, to: number, value: (i: number) => string) =>
  ({ success: Array.from({ length: to - from }, (_, i) => rput(`many/${String(from + i).padStart(5, "0")}`, value(from + i))) });
for (let i = 0; i < 2_600; i += 128) txn(`many keys ${i}…`, manyKeys(i, Math.min(2_600, i + 128), (k) => `first ${(k * 7919) % 2_600}`));
for (let i = 1_000; i < 1_640; i += 128) txn(`many keys rewritten ${i}…`, manyKeys(i, Math.min(1_640, i + 128), (k) => `second ${(k * 31) % 2_600}`));
del("many keys: a span deleted", { key: b("many/02000"), range_end: b("many/02100") });
const MANY = { key: b("many/"), range_end: b("many0") };
range("many keys, no limit", MANY);
range("many keys, limit over a page", { ...MANY, limit: 1_700 });
range("many keys, count only", { ...MANY, count_only: true });
range("many keys, keys only", { ...MANY, keys_only: true });
range("many keys, sorted by value descending with a limit", { ...MANY, sort_order: "DESCEND", sort_target: "VALUE", limit: 1_200 });
// The writes above made revisions 40–60 (first), 61–65 (rewritten) and 66 (the span deleted).
range("many keys, by mod revision from the rewrite on", { ...MANY, min_mod_revision: 61, keys_only: true });
// Sorts on values, which are all different here: etcd's sort is not stable, so equal ones (many
// keys share a revision or a version) may come in another order than Concord's (key order).
range("many keys, the first by value (sorted, limit 1)", { ...MANY, sort_target: "VALUE", limit: 1 });
range("many keys, keys only, sorted by value", { ...MANY, sort_target: "VALUE", keys_only: true, limit: 1_100 });
range("many keys, by create revision with a max, sorted by value descending, limit over a page", { ...MANY, max_create_revision: 55, sort_order: "DESCEND", sort_target: "VALUE", limit: 1_300 });
range("many keys, at the revision before the rewrite", { ...MANY, revision: 60 });
range("many keys, at a revision in the middle of the rewrite, limited", { ...MANY, revision: 63, limit: 1_100, keys_only: true });
range("many keys, before the span was deleted, counted", { ...MANY, revision: 65, count_only: true });
txn("many keys, read by a read-only txn, nested", {
  compare: [cmp("many/00005", "VERSION", "GREATER", { version: 0 })],
  success: [
    { request_range: { ...MANY, limit: 1_500 } },
    { request_txn: { success: [{ request_range: { ...MANY, keys_only: true, revision: 62 } }, rrange("many/01001")] } },
  ],
  failure: [rrange("nothing")],
});
txn("many keys, a read-only txn whose second range is in the future fails whole", {
  success: [{ request_range: { ...MANY, count_only: true } }, { request_range: { ...MANY, revision: 100_000 } }],
});
del("many keys deleted", { ...MANY });

// ---- compaction ----
compact("compaction at revision 0 on a never-compacted store", { revision: 0 });
compact("compaction at a past revision", { revision: 20 });
range("a read below the compaction revision fails", { key: b("a"), revision: 19 });
range("a read at the compaction revision works", { ...ALL, revision: 20, keys_only: true });
compact("compacting to the same revision again", { revision: "20" });
compact("compacting below the compaction revision", { revision: 10 });
compact("compaction at a future revision", { revision: 100000 });
compact("physical compaction", { revision: 30, physical: true });
txn("a txn range below the compaction revision fails", { success: [rput("t9"), rrange("a", { revision: 25 })] });
compact("compaction with a bad revision", { revision: "abc" });
compact("compaction with an empty body", undefined);
range("history still answers at the compaction revision", { key: b("a"), revision: 30 });

// ---- alarms, defragment, hash ----
post("no alarm raised", "/v3/maintenance/alarm", { action: "GET" });
post("an alarm action of no such name", "/v3/maintenance/alarm", { action: "FOO" });
post("an alarm type of no such name", "/v3/maintenance/alarm", { action: "GET", alarm: "BOGUS" });
post("raise NOSPACE for member 1 by hand", "/v3/maintenance/alarm", { action: "ACTIVATE", memberID: "1", alarm: "NOSPACE" });
post("list the alarms, by number", "/v3/maintenance/alarm", { action: 0 });
post("list NOSPACE alarms", "/v3/maintenance/alarm", { action: "GET", alarm: "NOSPACE" });
post("list CORRUPT alarms: none", "/v3/maintenance/alarm", { action: "GET", alarm: "CORRUPT" });
put("a put under NOSPACE", { key: b("nospace"), value: b("x") });
post("status lists the alarm", "/v3/maintenance/status", {});
post("disarm it", "/v3/maintenance/alarm", { action: "DEACTIVATE", memberID: "1", alarm: "NOSPACE" });
post("disarm it again: nothing", "/v3/maintenance/alarm", { action: "DEACTIVATE", memberID: "1", alarm: "NOSPACE" });
put("a put once disarmed", { key: b("nospace"), value: b("x") });
post("defragment", "/v3/maintenance/defragment", {});
post("hash of everything (the number is each server's own)", "/v3/maintenance/hash", {});

// ---- where it all ended ----
range("every key at the end", { ...ALL, keys_only: true });
del("delete everything", { ...ALL, prev_kv: false });
range("nothing left", { ...ALL, count_only: true });
post("status at the end", "/v3/maintenance/status", {});

export const differentialCases: DifferentialCase[] = cases;
