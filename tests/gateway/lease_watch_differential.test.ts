/**
 * Differential for leases and watches: the same ordered requests go to Debian's etcd 3.4 and to
 * Concord, each fresh, and every answer must match — status, content type and body, and for
 * streams (watch, keep-alive) every line — once ids, terms and TTL remainders are normalised.
 * Stream cases read the lines etcd gives, then wait a moment for any line too many. (A watch
 * stream that has nothing to say yet — an empty body, `{}` — is left out: etcd's gateway sends no
 * headers until its first line, Concord answers at once. Nor an object holding two requests:
 * which one etcd keeps varies from run to run.)
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";

const b = (s: string) => Buffer.from(s).toString("base64");
const json = (v: unknown) => JSON.stringify(v);

type Case =
  | { name: string; kind: "call"; path: string; body: string; method?: "GET" }
  | { name: string; kind: "stream"; path: string; body: string; lines: number };

const cases: Case[] = [];
const call = (name: string, path: string, body: unknown) => cases.push({ name, kind: "call", path, body: typeof body === "string" ? body : json(body) });
const stream = (name: string, path: string, body: unknown, lines: number) =>
  cases.push({ name, kind: "stream", path, body: typeof body === "string" ? body : json(body), lines });
const watch = (name: string, body: unknown, lines: number) => stream(name, "/v3/watch", body, lines);

// ---- leases ----
call("grant with an id", "/v3/lease/grant", { TTL: 60, ID: 1001 });
call("grant an id that exists", "/v3/lease/grant", { TTL: 60, ID: 1001 });
call("grant below the minimum TTL", "/v3/lease/grant", { TTL: 1, ID: 1002 });
call("grant a negative TTL", "/v3/lease/grant", { TTL: -5, ID: 1003 });
call("grant TTL 0", "/v3/lease/grant", { ID: 1005 });
call("grant has no old path", "/v3/kv/lease/grant", { ID: 1008 });
call("grant a TTL over the maximum", "/v3/lease/grant", { TTL: 9000000001, ID: 1006 });
call("grant the maximum TTL", "/v3/lease/grant", { TTL: 9000000000, ID: 1007 });
call("grant with a TTL that is not a number", "/v3/lease/grant", `{"TTL":"abc"}`);
call("grant with numbers as strings", "/v3/lease/grant", `{"TTL":"600","ID":"1004"}`);
call("grant a negative id", "/v3/lease/grant", { TTL: 60, ID: -7 });
call("grant with a bad body", "/v3/lease/grant", `{"TTL":`);
call("GET on grant is 405", "/v3/lease/grant", "");
cases[cases.length - 1] = { name: "GET on grant is 405", kind: "call", path: "/v3/lease/grant", body: "", method: "GET" };
call("put with a lease", "/v3/kv/put", { key: b("l/a"), value: b("1"), lease: 1001 });
call("put with a lease given as a string", "/v3/kv/put", { key: b("l/b"), value: b("2"), lease: "1001" });
call("put with the other lease", "/v3/kv/put", { key: b("l/c"), value: b("3"), lease: 1004 });
call("put with an unknown lease", "/v3/kv/put", { key: b("l/d"), value: b("4"), lease: 888 });
call("txn put with an unknown lease", "/v3/kv/txn", { success: [{ request_put: { key: b("l/d"), lease: 888 } }] });
call("put ignore_lease keeps the lease", "/v3/kv/put", { key: b("l/b"), value: b("2b"), ignore_lease: true });
call("put without a lease detaches", "/v3/kv/put", { key: b("l/c"), value: b("3b") });
call("range shows leases", "/v3/kv/range", { key: b("l/"), range_end: b("l0") });
call("time to live with keys", "/v3/lease/timetolive", { ID: 1001, keys: true });
call("time to live without keys", "/v3/kv/lease/timetolive", { ID: 1001 });
call("time to live of a lease without keys", "/v3/lease/timetolive", { ID: 1004, keys: true });
call("time to live of an unknown lease", "/v3/lease/timetolive", { ID: 999 });
call("time to live of lease 0", "/v3/lease/timetolive", {});
call("leases", "/v3/lease/leases", {});
call("leases on the old path", "/v3/kv/lease/leases", {});
stream("keep-alive stream: known, unknown, none", "/v3/lease/keepalive", `{"ID":1001}{"ID":"999"} {}`, 3);
stream("keep-alive whose first request does not decode", "/v3/lease/keepalive", `{"ID":"x"}`, 0);
stream("keep-alive whose second request does not decode", "/v3/lease/keepalive", `{"ID":1001}{"ID":"x"}`, 1);
stream("keep-alive with an empty body", "/v3/lease/keepalive", "", 0);
call("keep-alive has no old path", "/v3/kv/lease/keepalive", { ID: 1001 });
watch("watch from revision 1 with prev_kv", { create_request: { key: b("l/"), range_end: b("l0"), start_revision: 1, prev_kv: true } }, 2);
call("revoke deletes the attached keys", "/v3/lease/revoke", { ID: 1001 });
call("revoke again", "/v3/lease/revoke", { ID: 1001 });
call("revoke lease 0", "/v3/kv/lease/revoke", {});
call("revoke on the old path", "/v3/kv/lease/revoke", { ID: "1004" });
call("range after the revokes", "/v3/kv/range", { key: b("l/"), range_end: b("l0") });
watch("the revoke's deletes are one revision", { create_request: { key: b("l/"), range_end: b("l0"), start_revision: 1, prev_kv: true } }, 2);

// ---- watches ----
call("a put to watch", "/v3/kv/put", { key: b("w/a"), value: b("1") });
call("another", "/v3/kv/put", { key: b("w/b"), value: b("2") });
call("a delete to watch", "/v3/kv/deleterange", { key: b("w/a") });
call("a txn of two puts", "/v3/kv/txn", { success: [{ request_put: { key: b("w/c"), value: b("3") } }, { request_put: { key: b("w/d"), value: b("4") } }] });
watch("from revision 1, one key", { create_request: { key: b("w/a"), start_revision: 1 } }, 2);
watch("a prefix with prev_kv", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 1, prev_kv: true } }, 2);
watch("from key on", { create_request: { key: b("w/c"), range_end: "AA==", start_revision: 1 } }, 2);
watch("NOPUT by name", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 1, filters: ["NOPUT"] } }, 2);
watch("NODELETE by number", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 1, filters: [1] } }, 2);
watch("a filter that leaves nothing", { create_request: { key: b("w/b"), start_revision: 1, filters: ["NOPUT"] } }, 1);
watch("a future start revision", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 1000 } }, 1);
watch("no start revision: from now on", { create_request: { key: b("w/"), range_end: b("w0") } }, 1);
watch("a negative start revision", { create_request: { key: b("w/a"), start_revision: -5 } }, 2);
watch("a negative watch id", { create_request: { key: b("w/a"), watch_id: -3 } }, 1);
watch("an empty range", { create_request: { key: b("w/b"), range_end: b("w/a") } }, 1);
watch("no key at all", { create_request: {} }, 1);
watch("several requests on one stream", `{"create_request":{"key":"${b("w/a")}"}}{"create_request":{"key":"${b("w/b")}","watch_id":7}}` +
  `{"create_request":{"key":"${b("w/b")}","watch_id":7}}{"create_request":{"key":"${b("w/c")}"}}{"cancel_request":{"watch_id":"0"}}` +
  `{"cancel_request":{"watch_id":"99"}}{"progress_request":{}}`, 6);
watch("a first request that does not decode", `{"create_request":`, 0);
watch("a first request with bad base64", `{"create_request":{"key":"!!"}}`, 0);
watch("a later request that does not decode", `{"create_request":{"key":"${b("w/a")}"}} nonsense`, 1);
// gRPC's limit (max-request-bytes + 512 KiB) on one request of the stream, measured as protobuf.
const overLimit = "k".repeat(2 * 1024 * 1024);
const underLimit = "k".repeat(2 * 1024 * 1024 - 16);
watch("a request over gRPC's size limit", { create_request: { key: b(overLimit) } }, 0);
watch("a range end just over the limit", { create_request: { key: b("w/"), range_end: b(underLimit + "0123456789") } }, 0);
watch("a key just under the limit", { create_request: { key: b(underLimit) } }, 1);
watch("a later request over the limit ends the stream", `{"create_request":{"key":"${b("w/a")}"}}{"create_request":{"key":"${b(overLimit)}"}}` +
  `{"create_request":{"key":"${b("w/b")}"}}`, 2);
call("compact at the delete's revision", "/v3/kv/compaction", { revision: 10 });
watch("a start revision compacted away", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 5 } }, 2);
watch("a start revision at the compaction", { create_request: { key: b("w/"), range_end: b("w0"), start_revision: 10 } }, 2);

/** Fields that differ by nature between two clusters, and TTLs that count down. */
const VARYING = new Set(["cluster_id", "member_id", "raft_term", "ID"]);

function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    // A time-to-live's remainder counts down; etcd answers an unknown lease with exactly -1.
    const counting = "grantedTTL" in o;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, VARYING.has(k) || (counting && k === "TTL") ? `<${k}>` : normalise(v)]));
  }
  return value;
}

/** Lists of leases and a lease's keys come in Go map order on etcd: compare them sorted. */
function sortMapOrder(body: unknown): unknown {
  const o = body as { leases?: { ID: string }[]; keys?: string[] };
  if (Array.isArray(o?.leases)) o.leases.sort((x, y) => (BigInt(x.ID) < BigInt(y.ID) ? -1 : 1));
  if (Array.isArray(o?.keys)) o.keys.sort();
  return body;
}

function parse(text: string): unknown {
  try {
    return normalise(sortMapOrder(JSON.parse(text)));
  } catch {
    return text;
  }
}

type Answer = { status: number; contentType: string; body: unknown };

async function ask(server: ServerProcess, c: Case): Promise<Answer> {
  const abort = new AbortController();
  const r = await fetch(`${server.url}${c.path}`, {
    method: c.kind === "call" && c.method === "GET" ? "GET" : "POST",
    body: c.kind === "call" && c.method === "GET" ? undefined : c.body,
    signal: abort.signal,
  });
  const contentType = r.headers.get("content-type") ?? "";
  if (c.kind === "call" || r.status !== 200) return { status: r.status, contentType, body: parse(await r.text()) };
  // A stream: the lines expected, then a moment for any more.
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  const read = async (ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
    const chunk = await Promise.race([reader.read(), timeout]);
    clearTimeout(timer);
    if (chunk === undefined) return false;
    if (chunk.done) ended = true;
    else buffer += decoder.decode(chunk.value, { stream: true });
    return true;
  };
  const lines = () => buffer.split("\n").filter((l) => l.trim() !== "");
  const deadline = Date.now() + 5_000;
  while (!ended && lines().length < c.lines && Date.now() < deadline) await read(deadline - Date.now());
  while (!ended && await read(300));
  abort.abort();
  return { status: r.status, contentType, body: lines().map(parse) };
}

let etcd: ServerProcess;
let concord: ServerProcess;

before(async () => {
  [etcd, concord] = await Promise.all([startEtcd(), startConcord({ name: "lease-watch-differential" })]);
});

after(async () => {
  await Promise.all([etcd?.stop(), concord?.stop()]);
});

for (const c of cases) {
  test(`lease and watch differential > ${c.name}`, async () => {
    const [expected, actual] = await Promise.all([ask(etcd, c), ask(concord, c)]);
    if (c.kind === "stream" && expected.status === 200) {
      assert.equal((expected.body as unknown[]).length, c.lines, `etcd gave ${JSON.stringify(expected.body)}`);
    }
    // Bodies can be megabytes: the message shows their beginnings.
    const show = (v: unknown) => JSON.stringify(v).slice(0, 1_500);
    assert.deepEqual(actual, expected, `${c.path} ${c.body.slice(0, 300)}\nConcord: ${show(actual)}\netcd:    ${show(expected)}`);
  });
}
