/**
 * Differential, through etcdctl (issue 13): Debian's etcdctl 3.4.23 plays the same scripted
 * sessions against a fresh etcd 3.4.23 and a fresh Concord, and what it prints — stdout, stderr,
 * how it ended — must be the same at every step, once each side's ids, ports and names are named
 * alike and the few numbers that differ by nature are replaced (testkit/etcdctl_normalise.ts says
 * which, and why). A step's first difference fails the test with both outputs side by side.
 *
 * CONCORD_ETCDCTL_AGAINST=etcd plays every session against two etcds instead: that the sessions
 * pass there is what shows the normalising hides nothing and the sessions are deterministic.
 */
import { test } from "node:test";
import { act, background, end, playSession, run, type Step, watch } from "../../testkit/etcdctl_session.ts";
import { type Flavour, Side } from "../../testkit/etcdctl_sides.ts";
import { onBunOnly } from "../../testkit/runtime_pass.ts";

const against: Flavour = process.env.CONCORD_ETCDCTL_AGAINST === "etcd" ? "etcd" : "concord";

async function differential(size: 1 | 3, steps: Step[]): Promise<void> {
  const opening = await Promise.allSettled([Side.open("etcd", "etcd", size), Side.open(against === "etcd" ? "etcd (second)" : "concord", against, size)]);
  const sides = opening.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  try {
    for (const o of opening) if (o.status === "rejected") throw o.reason;
    await playSession(sides as [Side, Side], steps);
  } finally {
    await Promise.all(sides.map((s) => s.close()));
  }
}

const big = (bytes: number) => "v".repeat(bytes);

/** Keys, values and their revisions: put, get in every form, del. */
const kv: Step[] = [
  run("put foo bar"),
  run("put foo bar2 --prev-kv"),
  run("put foo1 one"),
  run("put foo2 two"),
  run("put foo3 three -w json"),
  run("put fop x"),
  run("put zoo 'a value with spaces'"),
  run("put stdin", { stdin: "from stdin" }),
  run("put foo --ignore-value"),
  run("get foo"),
  run("get foo --prefix"),
  run("get foo --prefix --limit=2"),
  run("get foo --prefix --limit=2 -w json"),
  run("get foo --prefix --sort-by=MODIFY --order=DESCEND"),
  run("get foo --prefix --sort-by=VALUE --order=ASCEND"),
  run("get foo --prefix --sort-by=CREATE --order=DESCEND --limit=3"),
  run("get foo --prefix --sort-by=VERSION"),
  run("get foo --prefix --keys-only"),
  run("get foo --prefix --print-value-only"),
  run("get foo --from-key"),
  run("get foo foo3"),
  run("get foo --rev=2"),
  run("get foo --rev=2 -w fields"),
  run("get foo1 -w fields"),
  run("get zoo -w json"),
  run("get zoo --consistency=s"),
  run("get nothing"),
  run("get nothing -w json"),
  run("get '' --prefix --keys-only"),
  run("get foo --hex"),
  run("get foo --rev=100"),
  run("put '' v"),
  run("get ''"),
  run("put big", { stdin: big(1_600_000) }),
  run("put bigger", { stdin: big(2_200_000) }),
  run("del nothing"),
  run("del foo1"),
  run("del foo --prefix --prev-kv"),
  run("del fop --prev-kv -w json"),
  run("del a --from-key"),
  run("get '' --prefix -w json"),
];

/** Transactions from stdin, plain and interactive, each kind of compare, and the refusals. */
const txn: Step[] = [
  run("put k1 v1"),
  run("put k2 v2"),
  run("txn", { stdin: `value("k1") = "v1"\n\nput k1 v1b\nget k2\n\nput k1 nope\n\n` }),
  run("txn -i", { stdin: `mod("k1") > "0"\ncreate("k2") = "3"\nversion("k1") < "10"\n\nget k1\nput k3 v3\n\ndel k2\n\n` }),
  run("txn -w json", { stdin: `version("k1") = "5"\n\nput k1 no\n\nput k4 v4\nget k4\n\n` }),
  run("txn -w fields", { stdin: `create("nothing") = "0"\n\nget k --prefix\n\n\n` }),
  run("txn", { stdin: `value("k1") != "v1b"\n\n\ndel k --prefix --prev-kv\n\n` }),
  run("txn", { stdin: `value("k1") = "v1b"\n\nput k1 a\nput k1 b\n\n\n` }),
  run("txn", { stdin: `\n${Array.from({ length: 129 }, (_, i) => `put many${i} x`).join("\n")}\n\n\n` }),
  run("txn", { stdin: `mod("k1") > "x"\n\n` }),
  run("txn", { stdin: `\nput t1 v --lease=1234\n\n\n` }),
  run("get k --prefix"),
];

/** Watches: history from a revision, live with previous values, several at once, and refusals. */
const watches: Step[] = [
  run("put w/a 1"),
  run("put w/b 2"),
  run("put w/a 3"),
  run("del w/b"),
  watch("history", "watch w/ --prefix --rev=2"),
  end("history", 12),
  watch("history-json", "watch w/a --rev=1 -w json"),
  end("history-json", 1),
  watch("live", "watch w/a --prev-kv"),
  run("put w/a 4"),
  run("del w/a"),
  run("put w/a 5"),
  end("live", 13),
  watch("live-json", "watch w/ --prefix -w json"),
  run("put w/c 6"),
  end("live-json", 1),
  watch("several", "watch -i", { stdin: "watch w/x\nwatch --prefix w/y\nwatch w/z --rev=1\n", watchers: 3 }),
  run("put w/x 7"),
  run("put w/y/1 8"),
  run("put w/z 9"),
  end("several", 9, "eof"),
  watch("exec", `watch w/e -- sh -c 'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE at $ETCD_WATCH_REVISION"'`),
  run("put w/e 10"),
  run("put w/e 11"),
  end("exec", 8),
  watch("future", "watch w/f --rev=1000"),
  end("future", 0),
  run("compaction 5"),
  run("watch w/a --rev=3"),
  run("watch w/a --rev=3 -w json"),
];

/** Leases: grant, time to live, keys, list, keep-alive, revoke, and every refusal. */
const leases: Step[] = [
  run("lease grant 60"),
  run("lease timetolive <lease1>"),
  run("lease grant 120 -w json"),
  run("lease grant 300 -w fields"),
  run("put l/a 1 --lease=<lease1>"),
  run("put l/b 2 --lease=<lease1>"),
  run("put l/c 3 --lease=<lease2>"),
  run("get l/ --prefix -w json"),
  run("lease timetolive <lease1> --keys"),
  run("lease timetolive <lease2> --keys -w json"),
  run("lease list"),
  run("lease list -w json"),
  run("lease keep-alive --once <lease1>"),
  run("lease keep-alive --once <lease2> -w json"),
  background("keeping", "lease keep-alive <lease2>"),
  end("keeping", 1),
  run("lease keep-alive 1234"),
  run("lease revoke <lease1>"),
  run("get l/ --prefix"),
  run("lease revoke <lease1>"),
  run("lease timetolive <lease1>"),
  run("lease timetolive 1234 -w json"),
  run("lease keep-alive --once <lease1>"),
  run("put l/d 4 --lease=<lease1>"),
  run("put l/c 5 --ignore-lease"),
  run("lease grant 10000000000"),
  run("lease grant 0"),
  run("lease revoke <lease4>"),
  run("lease list"),
];

/** Until the background command `name` has printed `lines` lines (a lock held, a candidate elected). */
const hasPrinted = (name: string, lines: number) =>
  act(`${name} has printed ${lines} lines`, async (s) =>
    (await s.background.get(name)!.process.printed((out) => out.split("\n").length - 1 >= lines, 5_000)) ? "" : "not printed");

/**
 * etcdctl's lock and elect (clientv3/concurrency on the client's side, over KV, Lease and Watch):
 * a command run under a lock, its failure, its environment; a lock held and another waiting for it;
 * a candidate elected and resigning on SIGTERM; an observer; a rival waiting for the leader.
 */
const coordination: Step[] = [
  run("lock mylock echo hello"),
  run("lock --ttl 5 mylock echo hi"),
  run("lock mylock -- sh -c 'exit 3'"),
  run(`lock mylock -- sh -c 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"'`),
  background("holder", "lock held"),
  hasPrinted("holder", 2),
  background("waiter", "lock held echo got-it", { watchers: 1 }),
  end("holder", 2),
  // It exits by itself once its command ran and it unlocked: awaited, not signalled.
  end("waiter", 1, "eof"),
  background("observer", "elect -l myelection", { watchers: 1 }),
  background("first", "elect myelection v1"),
  hasPrinted("first", 2),
  end("observer", 2),
  background("rival", "elect myelection v2", { watchers: 1 }),
  end("first", 2),
  end("rival", 2),
];

/** Compaction, the status and hash of the member, alarms, defragmentation, a snapshot. */
const maintenance: Step[] = [
  run("put m/a 1"),
  run("put m/a 2"),
  run("put m/b 3"),
  run("endpoint hashkv"),
  run("endpoint hashkv --rev=3 -w json"),
  run("compaction 3"),
  run("compaction 3"),
  run("compaction 2"),
  run("compaction 100"),
  run("get m/a --rev=2"),
  run("get m/a --rev=3"),
  run("endpoint hashkv --rev=2"),
  run("endpoint hashkv --rev=100"),
  run("endpoint hashkv -w table"),
  run("compaction 4 --physical"),
  run("endpoint hashkv -w json"),
  run("endpoint status"),
  run("endpoint status -w table"),
  run("endpoint status -w json"),
  run("endpoint status -w fields"),
  run("member list -w fields"),
  run("endpoint health"),
  run("endpoint health -w table"),
  run("endpoint health -w json"),
  run("alarm list"),
  run("alarm disarm"),
  run("defrag"),
  run("snapshot save snapshot.db"),
  run("get m/ --prefix"),
];

/**
 * A cluster: members listed, status of each, leadership moved, a learner added, refused promotion
 * while behind, updated, started, promoted and removed; then two members stopped and what
 * etcdctl prints without a leader.
 */
const cluster: Step[] = [
  run("member list", { on: [1, 2, 3], unordered: true }),
  run("member list -w table", { on: [1, 2, 3], unordered: true }),
  run("member list -w json", { on: [2], unordered: true }),
  run("put c/a 1", { on: [1, 2, 3] }),
  act("all members caught up", (s) => s.caughtUp([1, 2, 3])),
  run("endpoint health --cluster", { unordered: true }),
  run("endpoint status", { on: [1, 2, 3] }),
  run("endpoint status -w table", { on: [3, 1, 2] }),
  run("endpoint status -w json", { on: [1, 2, 3] }),
  run("endpoint health -w table", { on: [1, 2, 3], unordered: true }),
  run("endpoint hashkv -w table", { on: [1, 2, 3] }),
  // Endpoints written as URLs reach the servers with `http://` in HTTP/2's :authority, and --cluster
  // dials the client URLs members list.
  run("endpoint status -w table", { on: [2, 3], urls: true }),
  run("endpoint hashkv -w table", { on: [1], urls: true }),
  run("endpoint status --cluster -w table", { unordered: true }),
  run("endpoint hashkv --cluster", { unordered: true }),
  run("get c/a", { on: [3], urls: true }),
  run("move-leader <member2>", { on: [1, 2, 3] }),
  act("members agree member 2 leads", (s) => s.lead(2)),
  run("move-leader <member3>", { on: [1] }),
  run("move-leader 1234", { on: [1, 2, 3] }),
  run("move-leader <member2>", { on: [1, 2, 3] }),
  run("move-leader <member1>", { on: [2] }),
  act("members agree member 1 leads", (s) => s.lead(1)),
  act("define member 4", (s) => s.define(4)),
  // etcd refuses a member while its peers have been connected for less than 5 s: "unhealthy".
  run("member add <name4> --peer-urls=http://<peer4> --learner", { on: [1, 2, 3], retryForMs: 10_000 }),
  run("member add extra --peer-urls=http://127.0.0.1:1 --learner", { on: [1, 2, 3] }),
  run("member add extra --peer-urls=http://<peer2>", { on: [1, 2, 3] }),
  run("member list -w table", { on: [1, 2, 3], unordered: true }),
  run("member promote <member4>", { on: [1, 2, 3] }),
  run("member promote <member1>", { on: [1, 2, 3] }),
  run("member promote 1234", { on: [1, 2, 3] }),
  // Not member 4: etcd 3.4's update of a learner records it as a voter while raft keeps it a
  // learner, and it can never be promoted after ("can only promote a learner member").
  run("member update <member3> --peer-urls=http://<peer3>", { on: [1, 2, 3] }),
  run("member update <member1> --peer-urls=http://<peer2>", { on: [1, 2, 3] }),
  run("member update 1234 --peer-urls=http://127.0.0.1:1", { on: [1, 2, 3] }),
  run("member remove 1234", { on: [1, 2, 3] }),
  act("start member 4", (s) => s.start(4)),
  act("member 4 caught up", (s) => s.caughtUp([1, 2, 3, 4])),
  // Ready once the leader has heard member 4 acknowledge the log: a moment after it applied it.
  run("member promote <member4>", { on: [1, 2, 3], retryForMs: 10_000 }),
  run("member list", { on: [1, 2, 3], unordered: true }),
  run("member remove <member4>", { on: [1, 2, 3] }),
  act("stop member 4", (s) => s.stop(4)),
  run("member list", { on: [1, 2, 3], unordered: true }),
  act("stop members 2 and 3", async (s) => `${await s.stop(2)} ${await s.stop(3)}`),
  act("member 1 has no leader", (s) => s.leaderless(1)),
  run("endpoint status"),
  run("get c/a --consistency=s"),
  run("move-leader <member1>"),
  run("watch c/a"),
];

/** Users, roles and permissions, logging in with --user, and what each user may do (issue 15). */
const auth: Step[] = [
  run("auth enable"),
  run("user add root:rootpw"),
  run("user add root:again"),
  run("user add ''"),
  run("role add r"),
  run("role add r"),
  run("role grant-permission r readwrite a c"),
  run("role grant-permission r read --prefix w/"),
  run("role grant-permission r write solo"),
  run("role grant-permission nope read a"),
  run("role get r"),
  run("role list"),
  run("user add alice:alicepw"),
  run("user grant-role alice r"),
  run("user grant-role alice nope"),
  run("user get alice"),
  run("user get alice --detail"),
  run("user list"),
  run("auth enable"),
  run("put a 1"),
  run("--user root:rootpw put a 1"),
  run("--user root:wrong put a 1"),
  run("--user ghost:x get a"),
  run("--user alice:alicepw get a"),
  run("--user alice:alicepw get a d"),
  run("--user alice:alicepw put b 2"),
  run("--user alice:alicepw put w/x 2"),
  run("--user alice:alicepw get w/ --prefix"),
  run("--user alice:alicepw put solo 1"),
  run("--user alice:alicepw get solo"),
  run("--user alice:alicepw txn", { stdin: "value(\"a\") = \"1\"\n\nget b\n\nget d\n\n" }),
  run("--user alice:alicepw del a c"),
  run("--user alice:alicepw user list"),
  run("--user alice:alicepw role get r"),
  run("--user alice:alicepw member list", { unordered: true }),
  run("--user alice:alicepw endpoint status"),
  run("--user alice:alicepw defrag"),
  run("--user alice:alicepw auth disable"),
  run("--user root:rootpw role revoke-permission r a c"),
  run("--user alice:alicepw get a"),
  run("--user root:rootpw user delete root"),
  run("--user root:rootpw user revoke-role root root"),
  run("--user root:rootpw user passwd alice --interactive=false", { stdin: "newpw\n" }),
  run("--user alice:alicepw get w/x"),
  run("--user alice:newpw get w/x"),
  run("--user root:rootpw role delete r"),
  run("--user root:rootpw user get alice"),
  run("--user root:rootpw auth disable"),
  run("get a"),
  run("user list"),
];

test("etcdctl differential > put, get and del", () => differential(1, kv));
test("etcdctl differential > txn", () => differential(1, txn));
test("etcdctl differential > watch", () => differential(1, watches));
test("etcdctl differential > lease", () => differential(1, leases));
test("etcdctl differential > compaction and maintenance", () => differential(1, maintenance));
test("etcdctl differential > a cluster: members, leadership, no leader", onBunOnly("membership and leadership are the same code whichever runtime serves gRPC"), () => differential(3, cluster));
test("etcdctl differential > auth: users, roles, permissions, --user", () => differential(1, auth));
test("etcdctl differential > lock and elect: held, contended, released, observed", () => differential(1, coordination));
