/**
 * Auth tokens across a 3-member cluster, as etcd's clients use them (a client may log in at one
 * member and be sent to another): a login at a follower gives a token every member takes — a
 * simple token (every member learns it from the log) and a JWT (every member holds the key) —
 * and a role changed through one member makes a JWT too old on every member. Simple tokens on Bun
 * only (their handling is the member's own code); JWTs on Deno too (jose on Deno's WebCrypto).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { makeJwtKeys } from "../../testkit/certs.ts";
import { type ClusterMember, TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function call(m: ClusterMember, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${m.clientUrl}${path}`, {
    method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {}, signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, body: await r.json() };
}

/** Root, a role reading "a", alice holding it; then auth on — all through `m`. */
async function setUp(m: ClusterMember): Promise<void> {
  for (const [path, body] of [
    ["/v3/auth/user/add", { name: "root", password: "rootpw" }],
    ["/v3/auth/user/grant", { user: "root", role: "root" }],
    ["/v3/auth/role/add", { name: "r" }],
    ["/v3/auth/role/grant", { name: "r", perm: { permType: "READ", key: b64("a") } }],
    ["/v3/auth/user/add", { name: "alice", password: "alicepw" }],
    ["/v3/auth/user/grant", { user: "alice", role: "r" }],
    ["/v3/kv/put", { key: b64("a"), value: b64("1") }],
    ["/v3/auth/enable", {}],
  ] as const) {
    const answer = await call(m, path, body);
    assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
  }
}

async function login(m: ClusterMember, name: string, password: string): Promise<string> {
  const answer = await call(m, "/v3/auth/authenticate", { name, password });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.token as string;
}

/** What alice's read of "a" answers on each member: the value, or the error. */
async function readsEverywhere(cluster: TestCluster, token: string): Promise<string[]> {
  return await Promise.all(cluster.members.map(async (m) => {
    const answer = await call(m, "/v3/kv/range", { key: b64("a") }, token);
    return answer.status === 200 ? Buffer.from((answer.body.kvs as { value: string }[])[0].value, "base64").toString() : String(answer.body.error);
  }));
}

for (const kind of ["simple", "jwt"] as const) {
  describe(`${kind} tokens in a cluster`, kind === "simple" ? onBunOnly("simple tokens are the same code on either runtime") : {}, () => {
    let cluster: TestCluster | undefined;
    after(() => cluster?.close());

    test("a login at a follower gives a token every member takes", async () => {
      const keys = makeJwtKeys();
      cluster = await TestCluster.start(3, {
        flags: kind === "jwt" ? ["--auth-token", `jwt,pub-key=${keys.ecPublic},priv-key=${keys.ecPrivate},sign-method=ES256`] : [],
      });
      const leader = await cluster.leader();
      const follower = cluster.members.find((m) => m !== leader)!;
      await setUp(leader);
      // The follower applies "auth enable" a moment after the leader answered it.
      const token = await eventually("a login at the follower", 5_000, async () => {
        const answer = await call(follower, "/v3/auth/authenticate", { name: "alice", password: "alicepw" });
        return answer.status === 200 ? answer.body.token as string : undefined;
      });
      assert.deepEqual(await readsEverywhere(cluster, token), ["1", "1", "1"]);
    });

    if (kind === "jwt") {
      test("a role changed through one member makes the token too old on every member, until alice logs in again", async () => {
        const [m1, m2, m3] = cluster!.members;
        const token = await login(m3, "alice", "alicepw");
        const root = await login(m1, "root", "rootpw");
        const grant = await call(m2, "/v3/auth/role/grant", { name: "r", perm: { permType: "READ", key: b64("b") } }, root);
        assert.equal(grant.status, 200, JSON.stringify(grant.body));
        // A linearizable read waits for the grant to be applied wherever it is served.
        const stale = "etcdserver: revision of auth store is old";
        assert.deepEqual(await readsEverywhere(cluster!, token), [stale, stale, stale]);
        const again = await login(m1, "alice", "alicepw");
        assert.deepEqual(await readsEverywhere(cluster!, again), ["1", "1", "1"]);
      });
    }
  });
}
