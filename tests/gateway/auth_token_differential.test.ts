/**
 * Differential: etcd's auth tokens beyond a fresh simple one, sent to Debian's etcd 3.4.23 and to
 * Concord over the JSON gateway, each side fresh and given the same flags —
 * - JWTs (`--auth-token jwt,…,sign-method=RS256`, keys made by openssl): what a token says; a
 *   tampered signature, a token signed with another key, an unsigned one (alg "none") and one
 *   HMAC-signed with the public key; a token too old once roles change, and a new login; a valid
 *   JWT while auth is off and after it is on again; etcdctl --user against it;
 * - a JWT past its expiry (ttl=1s), and a simple token left unused past --auth-token-ttl;
 * - a member given only the public key, which cannot sign.
 * Every answer must match — status and body — once ids and terms are normalised.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { type JwtKeyFiles, makeJwtKeys } from "../../testkit/certs.ts";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { normaliseVarying } from "../../testkit/etcdctl_normalise.ts";
import { eventually } from "../../testkit/eventually.ts";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";
import { maskFields } from "../../testkit/json.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const range = (key: string, end = "") => ({ key: b64(key), ...(end ? { range_end: b64(end) } : {}) });

const VARYING = new Set(["cluster_id", "member_id", "raft_term"]);
const normalise = (value: unknown) => maskFields(value, VARYING);

interface Answer {
  status: number;
  body: unknown;
}

async function ask(server: ServerProcess, path: string, body: unknown, token?: string): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, {
    method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {}, signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  try {
    return { status: r.status, body: normalise(JSON.parse(text)) };
  } catch {
    return { status: r.status, body: text };
  }
}

async function login(server: ServerProcess, name: string, password: string): Promise<string> {
  const answer = await ask(server, "/v3/auth/authenticate", { name, password });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as { token: string }).token;
}

/** Root with the root role, a role reading [a, c), alice holding it, two keys — then auth on. */
async function setUp(server: ServerProcess): Promise<void> {
  const steps: [string, unknown][] = [
    ["/v3/auth/user/add", { name: "root", password: "rootpw" }],
    ["/v3/auth/user/grant", { user: "root", role: "root" }],
    ["/v3/auth/role/add", { name: "r" }],
    ["/v3/auth/role/grant", { name: "r", perm: { permType: "READ", ...range("a", "c") } }],
    ["/v3/auth/user/add", { name: "alice", password: "alicepw" }],
    ["/v3/auth/user/grant", { user: "alice", role: "r" }],
    ["/v3/kv/put", { key: b64("a"), value: b64("1") }],
    ["/v3/auth/enable", {}],
  ];
  for (const [path, body] of steps) {
    const answer = await ask(server, path, body);
    assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
  }
}

/** A token whose signature was changed in the middle (the last character's low bits may not count). */
function tampered(token: string): string {
  const at = token.lastIndexOf(".") + 10;
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

type Pair = { etcd: ServerProcess; concord: ServerProcess };
async function startPair(name: string, flags: string[]): Promise<Pair> {
  const [etcd, concord] = await Promise.all([startEtcd(name, flags), startConcord({ name, flags })]);
  return { etcd, concord };
}
const stopPair = (pair: Pair | undefined) => Promise.all([pair?.etcd.stop(), pair?.concord.stop()]);

let keys: JwtKeyFiles;
before(() => {
  keys = makeJwtKeys();
});

describe("JWT tokens (RS256)", () => {
  let pair: Pair;
  const tokens: Record<"etcd" | "concord", Record<string, string>> = { etcd: {}, concord: {} };
  /** Asks both sides, each with its own token `as` names (or a token made from it by `forge`). */
  const both = (path: string, body: unknown, as?: string, forge: (token: string) => string = (t) => t) =>
    Promise.all((["etcd", "concord"] as const).map((side) => ask(pair[side], path, body, as && forge(tokens[side][as]))));
  const loginBoth = async (name: string, password: string) => {
    for (const side of ["etcd", "concord"] as const) tokens[side][name] = await login(pair[side], name, password);
  };

  before(async () => {
    pair = await startPair("jwt", ["--auth-token", `jwt,pub-key=${keys.rsaPublic},priv-key=${keys.rsaPrivate},sign-method=RS256`]);
    await Promise.all([setUp(pair.etcd), setUp(pair.concord)]);
    await loginBoth("root", "rootpw");
    await loginBoth("alice", "alicepw");
  });
  after(() => stopPair(pair));

  test("a token says what etcd's says: its method, the user, the auth revision, an expiry five minutes on", () => {
    const said = (token: string) => {
      const claims = decodeJwt(token);
      return {
        header: decodeProtectedHeader(token),
        claims: Object.keys(claims).sort(),
        username: claims.username,
        revision: claims.revision,
        minutesLeft: Math.round((claims.exp! - Date.now() / 1_000) / 60),
      };
    };
    assert.deepEqual(said(tokens.concord.alice), said(tokens.etcd.alice));
    assert.equal(said(tokens.concord.alice).minutesLeft, 5);
  });

  const cases: [string, string, unknown, string?, ((t: string) => string)?][] = [
    ["alice reads her range", "/v3/kv/range", range("a", "c"), "alice"],
    ["alice reads past it", "/v3/kv/range", range("a", "d"), "alice"],
    ["a tampered signature", "/v3/kv/range", range("a"), "root", tampered],
    ["an unsigned token (alg none)", "/v3/kv/range", range("a"), "root", (t) => `${base64url({ alg: "none", typ: "JWT" })}.${t.split(".")[1]}.`],
    ["a token with no signature part", "/v3/kv/range", range("a"), "root", (t) => t.split(".").slice(0, 2).join(".")],
    ["not a JWT at all", "/v3/kv/range", range("a"), "root", () => "abc.1"],
  ];
  for (const [name, path, body, as, forge] of cases) {
    test(`${name}: the same answer`, async () => {
      const [expected, actual] = await both(path, body, as, forge);
      assert.deepEqual(actual, expected);
    });
  }

  test("a token signed with another key, or HMAC-signed with the public key: refused alike", async () => {
    const other = await generateKeyPair("RS256");
    const publicPem = readFileSync(keys.rsaPublic);
    for (const side of ["etcd", "concord"] as const) {
      const claims = decodeJwt(tokens[side].root);
      tokens[side].otherKey = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT" }).sign(other.privateKey);
      tokens[side].confused = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new Uint8Array(publicPem));
    }
    for (const as of ["otherKey", "confused"]) {
      const [expected, actual] = await both("/v3/kv/range", range("a"), as);
      assert.deepEqual(actual, expected, as);
      assert.equal(actual.status, 401, as);
    }
  });

  test("once roles change, tokens are too old — root's and alice's — until they log in again", async () => {
    const grant = await both("/v3/auth/role/grant", { name: "r", perm: { permType: "WRITE", ...range("w/", "w0") } }, "root");
    assert.deepEqual(grant[1], grant[0]);
    for (const as of ["alice", "root"]) {
      const [expected, actual] = await both("/v3/kv/range", range("a"), as);
      assert.deepEqual(actual, expected, as);
    }
    await loginBoth("alice", "alicepw");
    const [expected, actual] = await both("/v3/kv/put", { key: b64("w/x"), value: b64("1") }, "alice");
    assert.deepEqual(actual, expected);
    assert.equal(actual.status, 200);
  });

  test("etcdctl --user logs in and reads; a wrong password is refused alike", async () => {
    for (const user of ["alice:alicepw", "alice:nope"]) {
      const [expected, actual] = await Promise.all([pair.etcd, pair.concord].map(async (s) => {
        const result = await etcdctl([s.url], ["--user", user, "get", "a", "--print-value-only"]);
        return { ...result, stderr: normaliseVarying(result.stderr).replaceAll(/127\.0\.0\.1:\d+/g, "<endpoint>") };
      }));
      assert.deepEqual(actual, expected, user);
    }
  });

  test("a valid token while auth is off, and after it is on again", async () => {
    await loginBoth("root", "rootpw");
    const off = await both("/v3/auth/disable", {}, "root");
    assert.deepEqual(off[1], off[0]);
    for (const step of ["off", "on again"]) {
      if (step === "on again") {
        const on = await both("/v3/auth/enable", {});
        assert.deepEqual(on[1], on[0]);
      }
      const [expected, actual] = await both("/v3/kv/range", range("a"), "alice");
      assert.deepEqual(actual, expected, step);
    }
  });
});

describe("expiry", () => {
  let jwt: Pair;
  let simple: Pair;
  before(async () => {
    [jwt, simple] = await Promise.all([
      startPair("jwt-ttl", ["--auth-token", `jwt,priv-key=${keys.secret},sign-method=HS256,ttl=1s`]),
      startPair("simple-ttl", ["--auth-token-ttl", "1"]),
    ]);
    await Promise.all([jwt.etcd, jwt.concord, simple.etcd, simple.concord].map(setUp));
  });
  after(() => Promise.all([stopPair(jwt), stopPair(simple)]));

  test("a JWT past its expiry is refused as etcd refuses it", async () => {
    const answers = await Promise.all([jwt.etcd, jwt.concord].map(async (server) => {
      const token = await login(server, "alice", "alicepw");
      return await eventually("the token expires", 10_000, async () => {
        const answer = await ask(server, "/v3/kv/range", range("a"), token);
        return answer.status === 200 ? undefined : answer;
      });
    }));
    assert.deepEqual(answers[1], answers[0]);
    assert.equal(answers[1].status, 401);
  });

  test("a simple token used within --auth-token-ttl lives; one left unused past it is refused alike", async () => {
    const tokens = await Promise.all([simple.etcd, simple.concord].map((s) => login(s, "alice", "alicepw")));
    const fresh = await Promise.all([simple.etcd, simple.concord].map((s, i) => ask(s, "/v3/kv/range", range("a"), tokens[i])));
    assert.deepEqual(fresh[1], fresh[0]);
    // Nothing happens when a token falls idle, so there is no event to wait for: leave it unused
    // past the TTL and etcd's one-second sweep.
    await sleep(2_500);
    const stale = await Promise.all([simple.etcd, simple.concord].map((s, i) => ask(s, "/v3/kv/range", range("a"), tokens[i])));
    assert.deepEqual(stale[1], stale[0]);
    assert.equal(stale[1].status, 401);
  });
});

describe("a member with only the public key", () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair("verify-only", ["--auth-token", `jwt,pub-key=${keys.ecPublic},sign-method=ES256`]);
    await Promise.all([setUp(pair.etcd), setUp(pair.concord)]);
  });
  after(() => stopPair(pair));

  test("cannot sign a login: the same error", async () => {
    const [expected, actual] = await Promise.all([pair.etcd, pair.concord].map((s) => ask(s, "/v3/auth/authenticate", { name: "alice", password: "alicepw" })));
    assert.deepEqual(actual, expected);
  });
});
