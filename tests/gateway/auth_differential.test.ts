/**
 * Differential: etcd's auth over the JSON gateway, one ordered session sent to Debian's etcd 3.4.23
 * and to Concord, each fresh — enabling auth (refused without root or its role), users and roles
 * with their errors, grants on a range and a prefix, logging in (wrong passwords, unknown users),
 * requests with no token, a forged one, and each user's own; permission edges (a range one byte
 * past a grant, a single key at its end, a txn whose failure branch reads outside, prev_kv needing
 * read, admin-only calls, what a user may see of itself); a revocation taking effect on a token in
 * use; root untouchable while auth is on; disabling auth. Every answer must match — status and
 * body — once ids, terms and tokens are normalised.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";
import { maskFields } from "../../testkit/json.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

type Who = "none" | "forged" | "root" | "alice";
interface Step {
  name: string;
  path: string;
  body: unknown;
  as?: Who;
  /** Keep the token this step answers as this user's. */
  token?: "root" | "alice";
  /** A stream (watch): compare its first line, then hang up. */
  firstLine?: true;
}

const range = (key: string, end = "") => ({ key: b64(key), ...(end ? { range_end: b64(end) } : {}) });

const STEPS: Step[] = [
  { name: "enable without a root user", path: "/v3/auth/enable", body: {} },
  { name: "add root", path: "/v3/auth/user/add", body: { name: "root", password: "rootpw" } },
  { name: "enable while root lacks the root role", path: "/v3/auth/enable", body: {} },
  { name: "grant root the root role, never created", path: "/v3/auth/user/grant", body: { user: "root", role: "root" } },
  { name: "add a user with no name", path: "/v3/auth/user/add", body: { name: "", password: "x" } },
  { name: "add root again", path: "/v3/auth/user/add", body: { name: "root", password: "x" } },
  { name: "add a role", path: "/v3/auth/role/add", body: { name: "r" } },
  { name: "add a role with no name", path: "/v3/auth/role/add", body: { name: "" } },
  { name: "add the role again", path: "/v3/auth/role/add", body: { name: "r" } },
  { name: "grant READ on [a, c)", path: "/v3/auth/role/grant", body: { name: "r", perm: { permType: "READ", ...range("a", "c") } } },
  { name: "grant WRITE on the prefix w/", path: "/v3/auth/role/grant", body: { name: "r", perm: { permType: "WRITE", ...range("w/", "w0") } } },
  { name: "grant to an unknown role", path: "/v3/auth/role/grant", body: { name: "nope", perm: { permType: "READ", ...range("a") } } },
  { name: "add alice", path: "/v3/auth/user/add", body: { name: "alice", password: "alicepw" } },
  { name: "grant alice the role", path: "/v3/auth/user/grant", body: { user: "alice", role: "r" } },
  { name: "grant it again", path: "/v3/auth/user/grant", body: { user: "alice", role: "r" } },
  { name: "grant an unknown role", path: "/v3/auth/user/grant", body: { user: "alice", role: "nope" } },
  { name: "revoke a role not granted", path: "/v3/auth/user/revoke", body: { name: "alice", role: "nope" } },
  { name: "revoke a permission not granted", path: "/v3/auth/role/revoke", body: { role: "r", ...range("a", "d") } },
  { name: "get the role", path: "/v3/auth/role/get", body: { role: "r" } },
  { name: "get alice", path: "/v3/auth/user/get", body: { name: "alice" } },
  { name: "list users", path: "/v3/auth/user/list", body: {} },
  { name: "list roles", path: "/v3/auth/role/list", body: {} },
  { name: "log in before auth is on", path: "/v3/auth/authenticate", body: { name: "root", password: "rootpw" } },
  { name: "put keys before auth is on", path: "/v3/kv/txn", body: { success: ["a", "b", "c", "d", "w/x"].map((k) => ({ request_put: { key: b64(k), value: b64("v") } })) } },
  { name: "enable", path: "/v3/auth/enable", body: {} },
  { name: "log in with a wrong password", path: "/v3/auth/authenticate", body: { name: "root", password: "nope" } },
  { name: "log in as nobody", path: "/v3/auth/authenticate", body: { name: "ghost", password: "x" } },
  { name: "log in with no name", path: "/v3/auth/authenticate", body: { name: "", password: "x" } },
  { name: "log in as root", path: "/v3/auth/authenticate", body: { name: "root", password: "rootpw" }, token: "root" },
  { name: "log in as alice", path: "/v3/auth/authenticate", body: { name: "alice", password: "alicepw" }, token: "alice" },
  { name: "a range with no token", path: "/v3/kv/range", body: range("a") },
  { name: "a range with a forged token", path: "/v3/kv/range", body: range("a"), as: "forged" },
  { name: "alice reads her range", path: "/v3/kv/range", body: range("a", "c"), as: "alice" },
  { name: "alice reads a byte past it", path: "/v3/kv/range", body: range("a", "c\0"), as: "alice" },
  { name: "alice reads the key at its end", path: "/v3/kv/range", body: range("c"), as: "alice" },
  { name: "alice reads from a to the end", path: "/v3/kv/range", body: { key: b64("a"), range_end: b64("\0") }, as: "alice" },
  { name: "alice writes under w/", path: "/v3/kv/put", body: { key: b64("w/y"), value: b64("1") }, as: "alice" },
  { name: "alice writes a key she may only read", path: "/v3/kv/put", body: { key: b64("a"), value: b64("1") }, as: "alice" },
  { name: "alice reads under w/", path: "/v3/kv/range", body: range("w/x"), as: "alice" },
  { name: "alice puts with prev_kv under w/", path: "/v3/kv/put", body: { key: b64("w/x"), value: b64("2"), prev_kv: true }, as: "alice" },
  {
    name: "alice's txn whose failure branch reads outside", path: "/v3/kv/txn", as: "alice",
    body: { compare: [{ key: b64("a"), target: "VERSION", result: "EQUAL", version: "1" }], success: [{ request_range: range("b") }], failure: [{ request_range: range("d") }] },
  },
  {
    name: "alice's txn within her grants", path: "/v3/kv/txn", as: "alice",
    body: { compare: [{ key: b64("a"), target: "VERSION", result: "EQUAL", version: "1" }], success: [{ request_range: range("b") }], failure: [{ request_put: { key: b64("w/z"), value: b64("v") } }] },
  },
  { name: "alice deletes the prefix w/", path: "/v3/kv/deleterange", body: range("w/", "w0"), as: "alice" },
  { name: "alice watches her range", path: "/v3/watch", body: { create_request: range("a", "c") }, as: "alice", firstLine: true },
  { name: "alice watches a range she may partly read", path: "/v3/watch", body: { create_request: range("a", "d") }, as: "alice", firstLine: true },
  { name: "a watch with no token", path: "/v3/watch", body: { create_request: range("a") }, firstLine: true },
  { name: "alice lists users", path: "/v3/auth/user/list", body: {}, as: "alice" },
  { name: "alice gets herself", path: "/v3/auth/user/get", body: { name: "alice" }, as: "alice" },
  { name: "alice gets root", path: "/v3/auth/user/get", body: { name: "root" }, as: "alice" },
  { name: "alice gets her role", path: "/v3/auth/role/get", body: { role: "r" }, as: "alice" },
  { name: "alice adds a role", path: "/v3/auth/role/add", body: { name: "mine" }, as: "alice" },
  { name: "alice removes a member", path: "/v3/cluster/member/remove", body: { ID: "1" }, as: "alice" },
  { name: "status with no token", path: "/v3/maintenance/status", body: {} },
  { name: "root lists users", path: "/v3/auth/user/list", body: {}, as: "root" },
  { name: "root revokes alice's read", path: "/v3/auth/role/revoke", body: { role: "r", ...range("a", "c") }, as: "root" },
  { name: "alice's token, her read revoked", path: "/v3/kv/range", body: range("a", "c"), as: "alice" },
  { name: "root deletes root", path: "/v3/auth/user/delete", body: { name: "root" }, as: "root" },
  { name: "root takes the root role from root", path: "/v3/auth/user/revoke", body: { name: "root", role: "root" }, as: "root" },
  { name: "root deletes the role", path: "/v3/auth/role/delete", body: { role: "r" }, as: "root" },
  { name: "alice has no role now", path: "/v3/auth/user/get", body: { name: "alice" }, as: "root" },
  { name: "alice's password changed", path: "/v3/auth/user/changepw", body: { name: "alice", password: "new" }, as: "root" },
  { name: "alice's old token after the change", path: "/v3/kv/range", body: range("a"), as: "alice" },
  { name: "disable", path: "/v3/auth/disable", body: {}, as: "root" },
  { name: "log in after disabling", path: "/v3/auth/authenticate", body: { name: "root", password: "rootpw" } },
  { name: "a range with root's old token", path: "/v3/kv/range", body: range("a"), as: "root" },
  { name: "a range with no token again", path: "/v3/kv/range", body: range("a") },
];

/** Fields whose values differ between two clusters by nature. */
const VARYING = new Set(["cluster_id", "member_id", "raft_term", "token", "ID", "name", "peerURLs", "clientURLs", "dbSize", "dbSizeInUse", "leader", "raftIndex", "raftTerm", "raftAppliedIndex"]);

const normalise = (value: unknown) => maskFields(value, VARYING);

class Side {
  readonly tokens: Partial<Record<Who, string>> = { forged: "forged.1" };
  constructor(readonly server: ServerProcess) {}

  async ask(step: Step): Promise<{ status: number; body: unknown }> {
    const token = step.as ? this.tokens[step.as] : undefined;
    const hangUp = new AbortController();
    const r = await fetch(`${this.server.url}${step.path}`, {
      method: "POST", body: JSON.stringify(step.body), headers: token ? { Authorization: token } : {},
      signal: AbortSignal.any([hangUp.signal, AbortSignal.timeout(10_000)]),
    });
    const text = step.firstLine ? await firstLine(r, hangUp) : await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: compared as text
    }
    if (step.token && r.status === 200) this.tokens[step.token] = (body as { token: string }).token;
    return { status: r.status, body: normalise(body) };
  }
}

/** The first line of a streamed answer (etcd's gateway sends a watch's lines as they come); the stream is then dropped. */
async function firstLine(r: Response, hangUp: AbortController): Promise<string> {
  const reader = r.body!.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  hangUp.abort();
  return text.split("\n")[0];
}

let etcd: Side;
let concord: Side;
before(async () => {
  const [e, c] = await Promise.all([startEtcd("auth"), startConcord({ name: "auth" })]);
  [etcd, concord] = [new Side(e), new Side(c)];
});
after(async () => {
  await Promise.all([etcd?.server.stop(), concord?.server.stop()]);
});

for (const step of STEPS) {
  test(`auth differential > ${step.name}`, async () => {
    const [expected, actual] = await Promise.all([etcd.ask(step), concord.ask(step)]);
    assert.deepEqual(actual, expected, `${step.as ?? "no token"}: ${step.path} ${JSON.stringify(step.body)}`);
  });
}
