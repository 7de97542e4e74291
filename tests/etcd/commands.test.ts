/**
 * The log's encoding of commands: a put without a caller is binary, everything else JSON; each
 * comes back as it went in (bytes, flags, int64 lease ids at both ends of their range, the rid a
 * follower waits on), and bytes that are not exactly one command are refused, never half read.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CallerAuth, type Command, decodeCommand, encodeCommand } from "../../etcd/commands.ts";
import { readCommand } from "../../etcd/command_check.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const put = (key: Uint8Array, value: Uint8Array, lease: bigint, flags: Partial<Record<"prevKv" | "ignoreValue" | "ignoreLease", boolean>> = {}): Command => ({
  op: "put",
  put: { key, value, lease, prevKv: flags.prevKv ?? false, ignoreValue: flags.ignoreValue ?? false, ignoreLease: flags.ignoreLease ?? false },
});

test("commands > puts round-trip in binary, with every flag, any bytes, int64 lease ids and a rid", () => {
  const cases: [Command, string | undefined][] = [
    [put(bytes("k"), bytes("v"), 0n), undefined],
    [put(bytes("k"), new Uint8Array(0), 0n, { ignoreValue: true }), "rid-1"],
    [put(new Uint8Array([0, 255, 1, 0x7b]), new Uint8Array(70_000).fill(9), 2n ** 63n - 1n, { prevKv: true }), "ü-rid"],
    [put(bytes("k"), bytes("v"), -(2n ** 63n)), undefined],
    [put(bytes("k"), new Uint8Array(0), 0n, { prevKv: true, ignoreValue: true, ignoreLease: true }), undefined],
  ];
  for (const [command, rid] of cases) {
    const data = encodeCommand(command, rid);
    assert.equal(data[0], 0x01, "a binary put");
    assert.deepEqual(decodeCommand(data), rid === undefined ? command : { ...command, rid });
    assert.deepEqual(readCommand(data), rid === undefined ? command : { ...command, rid });
  }
});

test("commands > a put with a caller and every other command stay JSON, and round-trip", () => {
  const aPut = { key: bytes("k"), value: bytes("v"), lease: 5n, prevKv: false, ignoreValue: false, ignoreLease: false };
  const withCaller: Command & { auth: CallerAuth } = { op: "put", put: aPut, auth: { user: "alice", revision: 3 } };
  const grant: Command = { op: "leaseGrant", id: 2n ** 62n, ttl: 10 };
  const txn: Command = { op: "txn", txn: { compare: [], success: [{ kind: "put", put: aPut }], failure: [] } };
  for (const command of [withCaller, grant, txn]) {
    const data = encodeCommand(command, "r");
    assert.equal(String.fromCharCode(data[0]), "{");
    assert.deepEqual(decodeCommand(data), { ...command, rid: "r" });
  }
});

test("commands > bytes that are not exactly one binary put are refused with the reason", () => {
  const whole = encodeCommand(put(bytes("key"), bytes("value"), 7n), "rid");
  const refused = (data: Uint8Array) => {
    const read = readCommand(data);
    return "error" in read ? read.error : "read";
  };
  for (let cut = 1; cut < whole.length; cut++) assert.match(refused(whole.subarray(0, cut)), /cut short/, `cut at ${cut}`);
  assert.match(refused(new Uint8Array([...whole, 0])), /followed by 1 more bytes/);
  const flagged = whole.slice();
  flagged[1] = 0x80;
  assert.match(refused(flagged), /unknown flags/);
  assert.match(refused(encodeCommand(put(new Uint8Array(0), bytes("v"), 0n))), /key/, "an empty key, as in JSON");
});
