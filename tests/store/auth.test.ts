/**
 * The auth store (store/auth.ts) through the state machine, as a log applies it: etcd 3.4's rules
 * for users, roles and permissions and its errors; the auth revision rising with every change;
 * what a user may read and write, merged across roles and permissions (a range one byte past a
 * grant refused, adjacent grants joined, "to the end" grants); state surviving a reopen.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AuthCommand, AuthErrors } from "../../etcd/auth.ts";
import type { CallerAuth, Command } from "../../etcd/commands.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { AuthTable } from "../../store/auth.ts";
import { memoryState } from "../../testkit/state.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

async function setup() {
  const state = await memoryState();
  let index = 0;
  /** Applies the next entry: an auth command, or any command with who asked for it. */
  const apply = (command: AuthCommand | Command, auth?: CallerAuth) =>
    state.sm.apply([{ index: ++index, command: { ...command, ...(auth ? { auth } : {}) } as Command }])[0];
  return { ...state, apply };
}

test("auth store > enabling needs a root user holding the root role", async () => {
  const { auth, apply } = await setup();
  assert.equal(apply({ op: "authEnable" }), AuthErrors.rootUserNotExist);
  apply({ op: "userAdd", name: "root", password: "h", noPassword: false });
  assert.equal(apply({ op: "authEnable" }), AuthErrors.rootRoleNotExist);
  // The root role need not be created to be granted.
  assert.ok(!isEtcdError(apply({ op: "userGrantRole", user: "root", role: "root" })));
  assert.deepEqual(auth.roleNames(), []);
  assert.ok(!isEtcdError(apply({ op: "authEnable" })));
  assert.equal(auth.enabled, true);
  // While on, root cannot be deleted or lose its role.
  assert.equal(apply({ op: "userDelete", name: "root" }), AuthErrors.invalidAuthMgmt);
  assert.equal(apply({ op: "userRevokeRole", name: "root", role: "root" }), AuthErrors.invalidAuthMgmt);
  apply({ op: "authDisable" });
  assert.equal(auth.enabled, false);
  assert.ok(!isEtcdError(apply({ op: "userRevokeRole", name: "root", role: "root" })), "with auth off, root may lose its role");
});

test("auth store > users and roles: etcd's errors, sorted lists, a deleted role leaving its users, the revision rising", async () => {
  const { auth, apply } = await setup();
  const start = auth.revision;
  assert.equal(apply({ op: "userAdd", name: "", password: "h", noPassword: false }), AuthErrors.userEmpty);
  apply({ op: "userAdd", name: "bob", password: "h", noPassword: false });
  apply({ op: "userAdd", name: "alice", password: "h", noPassword: false });
  assert.equal(apply({ op: "userAdd", name: "bob", password: "h", noPassword: false }), AuthErrors.userAlreadyExist);
  assert.deepEqual(auth.userNames(), ["alice", "bob"]);
  assert.equal(apply({ op: "roleAdd", name: "" }), AuthErrors.roleEmpty);
  apply({ op: "roleAdd", name: "r" });
  assert.equal(apply({ op: "roleAdd", name: "r" }), AuthErrors.roleAlreadyExist);
  assert.equal(apply({ op: "userGrantRole", user: "carol", role: "r" }), AuthErrors.userNotFound);
  assert.equal(apply({ op: "userGrantRole", user: "alice", role: "nope" }), AuthErrors.roleNotFound);
  apply({ op: "userGrantRole", user: "alice", role: "r" });
  const granted = auth.revision;
  // Granting again is a success that changes nothing.
  assert.ok(!isEtcdError(apply({ op: "userGrantRole", user: "alice", role: "r" })));
  assert.equal(auth.revision, granted);
  assert.equal(apply({ op: "userRevokeRole", name: "bob", role: "r" }), AuthErrors.roleNotGranted);
  assert.equal(apply({ op: "roleRevokePermission", role: "r", key: bytes("a"), rangeEnd: bytes("") }), AuthErrors.permissionNotGranted);
  assert.equal(apply({ op: "roleDelete", role: "nope" }), AuthErrors.roleNotFound);
  apply({ op: "roleDelete", role: "r" });
  assert.deepEqual(auth.user("alice")!.roles, []);
  assert.equal(apply({ op: "userDelete", name: "carol" }), AuthErrors.userNotFound);
  assert.equal(apply({ op: "userChangePassword", name: "carol", password: "x" }), AuthErrors.userNotFound);
  assert.equal(auth.revision, start + 5, "each change (two users, a role, a grant, the role deleted) raises the revision once; a refusal does not");
});

test("auth store > permissions: a grant covers exactly its key or range; adjacent grants join; READ and WRITE apart", async () => {
  const { auth, apply } = await setup();
  apply({ op: "userAdd", name: "alice", password: "h", noPassword: false });
  apply({ op: "roleAdd", name: "r" });
  apply({ op: "roleAdd", name: "s" });
  apply({ op: "userGrantRole", user: "alice", role: "r" });
  apply({ op: "userGrantRole", user: "alice", role: "s" });
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "READ", key: bytes("a"), rangeEnd: bytes("c") } });
  apply({ op: "roleGrantPermission", name: "s", perm: { permType: "READ", key: bytes("c"), rangeEnd: bytes("d") } });
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "WRITE", key: bytes("w/"), rangeEnd: bytes("w0") } });
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "READWRITE", key: bytes("solo"), rangeEnd: bytes("") } });
  const may = (kind: "read" | "write", key: string, end = "") => auth.permitted("alice", kind, bytes(key), bytes(end));
  assert.equal(may("read", "a", "c"), true);
  assert.equal(may("read", "a", "d"), true, "[a,c) and [c,d) from two roles join");
  assert.equal(may("read", "a", "d\0"), false, "one byte past the grant");
  assert.equal(may("read", "b"), true);
  assert.equal(may("read", "d"), false);
  assert.equal(may("write", "b"), false, "READ does not grant WRITE");
  assert.equal(may("write", "w/x"), true);
  assert.equal(may("read", "w/x"), false, "WRITE does not grant READ");
  assert.equal(may("write", "w/", "w0"), true);
  assert.equal(may("write", "w/", "w1"), false);
  assert.equal(may("read", "solo"), true);
  assert.equal(may("read", "solo", "solp"), false, "a key's grant does not cover the keys after it");
  assert.equal(may("read", "sol"), false);
  // Granting the same key and range again changes its type; revoking takes exactly that grant.
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "READWRITE", key: bytes("a"), rangeEnd: bytes("c") } });
  assert.equal(auth.role("r")!.perms.filter((p) => new TextDecoder().decode(p.key) === "a").length, 1);
  assert.equal(may("write", "b"), true);
  apply({ op: "roleRevokePermission", role: "r", key: bytes("a"), rangeEnd: bytes("c") });
  assert.equal(may("read", "b"), false);
  assert.equal(may("read", "c"), true, "the other role's grant stays");
  // "\0" as range end: from the key to the end of the key space; root may do anything.
  apply({ op: "roleGrantPermission", name: "s", perm: { permType: "READ", key: bytes("x"), rangeEnd: Uint8Array.of(0) } });
  assert.equal(may("read", "x", "\0"), true);
  assert.equal(may("read", "zzzz"), true);
  assert.equal(may("read", "w", "\0"), false);
  apply({ op: "userGrantRole", user: "alice", role: "root" });
  assert.equal(may("write", "", "\0"), true);
  assert.equal(auth.permitted("nobody", "read", bytes("x"), bytes("")), false);
});

test("auth store > users, roles, grants and the switch survive a reopen of the state", async () => {
  const { db, meta, auth, apply } = await setup();
  apply({ op: "userAdd", name: "root", password: "hash", noPassword: false });
  apply({ op: "userGrantRole", user: "root", role: "root" });
  apply({ op: "roleAdd", name: "r" });
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "WRITE", key: bytes("k"), rangeEnd: bytes("") } });
  apply({ op: "authEnable" });
  const again = new AuthTable(db, meta);
  assert.equal(again.enabled, true);
  assert.equal(again.revision, auth.revision);
  assert.deepEqual(again.user("root"), auth.user("root"));
  assert.deepEqual(again.role("r"), auth.role("r"));
});

test("auth store > authenticate answers a token made of the proposer's prefix and the entry's index, once auth is on", async () => {
  const { apply } = await setup();
  apply({ op: "userAdd", name: "root", password: "h", noPassword: false });
  apply({ op: "userAdd", name: "nopw", password: "", noPassword: true });
  assert.equal(apply({ op: "authenticate", name: "root", tokenPrefix: "AbCd" }), AuthErrors.authNotEnabled);
  apply({ op: "userGrantRole", user: "root", role: "root" });
  apply({ op: "authEnable" });
  const answer = apply({ op: "authenticate", name: "root", tokenPrefix: "AbCd" }) as { token: string };
  assert.equal(answer.token, "AbCd.6");
  assert.equal(apply({ op: "authenticate", name: "ghost", tokenPrefix: "x" }), AuthErrors.authFailed);
  assert.equal(apply({ op: "authenticate", name: "nopw", tokenPrefix: "x" }), AuthErrors.authFailed, "a user without a password cannot log in with one");
});

test("auth store > at apply a client's request is checked again: revoked permissions, an old auth revision, no user, root, admin calls", async () => {
  const { auth, leases, apply } = await setup();
  apply({ op: "userAdd", name: "root", password: "h", noPassword: false });
  apply({ op: "userGrantRole", user: "root", role: "root" });
  apply({ op: "userAdd", name: "alice", password: "h", noPassword: false });
  apply({ op: "roleAdd", name: "r" });
  apply({ op: "userGrantRole", user: "alice", role: "r" });
  apply({ op: "roleGrantPermission", name: "r", perm: { permType: "READWRITE", key: bytes("a"), rangeEnd: bytes("c") } });
  apply({ op: "authEnable" });
  const put = (key: string, extra: Partial<{ prevKv: boolean; lease: bigint }> = {}): Command => ({
    op: "put", put: { key: bytes(key), value: bytes("v"), lease: extra.lease ?? 0n, prevKv: extra.prevKv ?? false, ignoreValue: false, ignoreLease: false },
  });
  const alice = { user: "alice", revision: auth.revision };
  assert.ok(!isEtcdError(apply(put("b"), alice)));
  assert.equal(apply(put("c"), alice), AuthErrors.permissionDenied);
  assert.equal(apply(put("b"), { user: "", revision: 0 }), AuthErrors.userEmpty, "a request made with no user");
  assert.ok(!isEtcdError(apply(put("zz"), { user: "root", revision: auth.revision })), "root writes anywhere");
  assert.equal(apply({ op: "roleAdd", name: "x" }, alice), AuthErrors.permissionDenied, "auth changes are root's");
  // A txn: its compares read, both branches count, nested txns too.
  const txn = (inner: string): Command => ({
    op: "txn",
    txn: {
      compare: [], success: [{ kind: "put", put: (put("b") as Extract<Command, { op: "put" }>).put }],
      failure: [{ kind: "txn", txn: { compare: [], success: [], failure: [{ kind: "range", range: { key: bytes(inner), rangeEnd: bytes(""), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 } }] } }],
    },
  });
  assert.ok(!isEtcdError(apply(txn("a"), alice)));
  assert.equal(apply(txn("d"), alice), AuthErrors.permissionDenied, "a nested failure branch reading outside the grant");
  // A lease holding a key alice cannot write: neither revoking it nor putting with it is hers.
  leases.grant(7n, 60);
  assert.ok(!isEtcdError(apply(put("zz", { lease: 7n }), { user: "root", revision: auth.revision })));
  assert.equal(apply({ op: "leaseRevoke", id: 7n }, alice), AuthErrors.permissionDenied);
  assert.equal(apply(put("b", { lease: 7n }), alice), AuthErrors.permissionDenied);
  // Checked at one revision, applied after a change: refused as old; the member asks again.
  const before = { user: "alice", revision: auth.revision };
  apply({ op: "roleRevokePermission", role: "r", key: bytes("a"), rangeEnd: bytes("c") }, { user: "root", revision: auth.revision });
  assert.equal(apply(put("b"), before), AuthErrors.authOldRevision);
  assert.equal(apply(put("b"), { user: "alice", revision: auth.revision }), AuthErrors.permissionDenied);
  // Commands members make themselves carry no caller and pass (a lease expiring).
  assert.ok(!isEtcdError(apply({ op: "leaseRevoke", id: 7n })));
});
