/**
 * The etcdctl normaliser: every form of an id gets its one name and nothing else is touched;
 * tables and lists come out the same whatever the widths and ids' order. (The sessions played
 * etcd against etcd prove it on real output; these hold the cases a run meets only sometimes, such
 * as a member id under 2^60, which etcdctl pads with spaces.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Names, normaliseVarying, sortUnordered } from "../../testkit/etcdctl_normalise.ts";

test("etcdctl normalise > an id is named in hex, padded hex and decimal, in order of first appearance", () => {
  const names = new Names();
  names.learn("lease 0772a19e723bbbe4 granted with TTL(60s)\n");
  names.learn(`{"ID":${BigInt("0x1f00000000000001")},"TTL":120}\n`);
  assert.equal(names.apply(`lease 0772a19e723bbbe4 revoked; 772a19e723bbbe4; ${BigInt("0x772a19e723bbbe4")}`), "lease <lease1> revoked; <lease1>; <lease1>");
  assert.equal(names.apply(`"ID":${BigInt("0x1f00000000000001")}, 1f00000000000001`), `"ID":<lease2>, <lease2>`);
  assert.equal(names.resolve("--lease=<lease1>"), "--lease=772a19e723bbbe4");
  assert.equal(names.apply("lease 0000000000001234 already expired"), "lease 0000000000001234 already expired");
});

test("etcdctl normalise > a short member id padded to 16 by spaces keeps one space, and none is taken elsewhere", () => {
  const names = new Names();
  names.learn("Member  772a19e723bbbe4 added to cluster 112210f47de98115\n");
  assert.equal(names.apply("Member  772a19e723bbbe4 added to cluster 112210f47de98115"), "Member <member1> added to cluster <cluster1>");
  assert.equal(names.apply("Leadership transferred from 772a19e723bbbe4 to 772a19e723bbbe4"), "Leadership transferred from <member1> to <member1>");
  assert.equal(names.apply("772a19e723bbbe4, started, a"), "<member1>, started, a");
});

test("etcdctl normalise > literals are named whole, not inside a longer one", () => {
  const names = new Names();
  names.alias("127.0.0.1:2300", "ep1");
  names.alias("127.0.0.1:23001", "ep2");
  names.alias("m1", "name1");
  assert.equal(names.apply("http://127.0.0.1:2300, 127.0.0.1:23001, 127.0.0.1:230011, m1, m10, <member1>"), "http://<ep1>, <ep2>, 127.0.0.1:230011, <name1>, m10, <member1>");
  assert.throws(() => names.resolve("<ep3>"), /names nothing/);
});

test("etcdctl normalise > tables lose their padding and varying columns, whatever the widths", () => {
  const narrow = "+----+\n| ENDPOINT | RAFT TERM | RAFT INDEX | HASH |\n+----+\n| a |  2 | 8 | 7 |\n+----+\n";
  const wide = "+------+\n|   ENDPOINT   | RAFT TERM | RAFT INDEX |  HASH |\n+------+\n|   a   |  13 | 1208 |  7 |\n+------+\n";
  assert.equal(normaliseVarying(narrow), normaliseVarying(wide));
  assert.equal(normaliseVarying(narrow), "+\n| ENDPOINT | RAFT TERM | RAFT INDEX | HASH |\n+\n| a | <term> | <index> | 7 |\n+\n");
  assert.equal(normaliseVarying("a:1, <member1>, 3.4.23, 20 kB, true, false, 2, 8, 8, "), "a:1, <member1>, 3.4.23, <size>, true, false, <term>, <index>, <index>, ");
});

test("etcdctl normalise > lists in id order are sorted once named; the rest keeps its order", () => {
  const table = "+\n| ID | NAME |\n+\n| <member2> | b |\n| <member1> | a |\n+\nz\ny\n";
  assert.equal(sortUnordered(table), "+\n| ID | NAME |\n+\n| <member1> | a |\n| <member2> | b |\n+\ny\nz\n");
  assert.equal(sortUnordered(`{"members":[{"ID":<member2>,"u":["x","y"]},{"ID":<member1>}]}`), `{"members":[{"ID":<member1>},{"ID":<member2>,"u":["x","y"]}]}`);
  assert.equal(normaliseVarying(`ETCD_INITIAL_CLUSTER="b=2,a=1"\nattached keys([k/b k/a])`), `ETCD_INITIAL_CLUSTER="a=1,b=2"\nattached keys([k/a k/b])`);
  assert.equal(normaliseVarying("PUT\nb\nPUT\na"), "PUT\nb\nPUT\na");
});
