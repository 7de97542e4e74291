/**
 * The linearizability checker on histories whose verdict is known: small hand-made ones for each
 * way a register can (or cannot) be explained, and seeded random ones made by a real sequential
 * register acting at random moments inside overlapping intervals.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, failed, ok, type Operation, Recorder, unknown } from "../../testkit/linearizability.ts";
import { prng } from "../../testkit/prng.ts";

const U = Infinity;
const put = (client: number, call: number, ret: number, value: string): Operation => ({
  client, key: "k", call, ret, kind: "put", value,
});
const get = (client: number, call: number, ret: number, result: string | null): Operation => ({
  client, key: "k", call, ret, kind: "get", result,
});
const cas = (
  client: number, call: number, ret: number, expected: string | null, value: string, result: boolean | undefined,
): Operation => ({ client, key: "k", call, ret, kind: "cas", expected, value, result });

function linearizable(history: Operation[]): void {
  assert.deepEqual(checkLinearizable(history), { ok: true });
}

/** Not linearizable, on key "k", with an explanation mentioning each of `mentions`. */
function notLinearizable(history: Operation[], ...mentions: RegExp[]): void {
  const verdict = checkLinearizable(history);
  if (verdict.ok !== false) assert.fail(`expected a violation, got ${JSON.stringify(verdict)}`);
  assert.equal(verdict.key, "k");
  for (const mention of mentions) assert.match(verdict.explanation, mention);
}

test("an empty history, and a sequential one over two keys, are linearizable", () => {
  linearizable([]);
  linearizable([
    get(0, 0, 1, null),
    put(0, 2, 3, "a"),
    get(1, 4, 5, "a"),
    put(1, 6, 7, "b"),
    { ...get(0, 8, 9, null), key: "other" },
    get(0, 10, 11, "b"),
  ]);
});

test("overlapping puts may take effect in either order", () => {
  for (const last of ["a", "b"]) linearizable([put(0, 0, 10, "a"), put(1, 1, 9, "b"), get(2, 11, 12, last)]);
});

test("a get overlapping a put may see the old value or the new", () => {
  for (const seen of ["a", "b"]) linearizable([put(0, 0, 1, "a"), put(1, 2, 6, "b"), get(2, 3, 4, seen)]);
  linearizable([put(0, 0, 10, "a"), get(1, 1, 2, "a"), get(2, 3, 4, "a")]);
});

test("a put whose outcome is unknown may take effect any time after its call, once", () => {
  linearizable([put(0, 0, U, "a"), get(1, 5, 6, "a")]);
  linearizable([put(0, 0, 1, "a"), put(1, 2, U, "b"), get(2, 3, 4, "a"), get(2, 5, 6, "b"), get(3, 7, 8, "b")]);
  notLinearizable([put(0, 0, 1, "a"), put(1, 2, U, "b"), get(2, 3, 4, "b"), get(2, 5, 6, "a")], /get → "b"/, /holding "a"/);
  notLinearizable([put(0, 5, U, "a"), get(1, 0, 1, "a")], /no operation wrote/);
});

test("a put whose outcome is unknown may never take effect", () => {
  linearizable([put(0, 0, 1, "a"), put(1, 2, U, "b"), get(2, 10, 11, "a")]);
  linearizable([put(0, 0, U, "a"), get(1, 10, 11, null)]);
});

test("a get whose outcome is unknown constrains nothing", () => {
  linearizable([put(0, 0, 1, "a"), get(1, 2, U, "never written")]);
});

test("cas succeeds only on the expected value, and fails only on another", () => {
  linearizable([
    cas(0, 0, 1, null, "a", true),
    cas(1, 2, 3, null, "b", false),
    cas(0, 4, 5, "a", "c", true),
    cas(1, 6, 7, "a", "d", false),
    get(2, 8, 9, "c"),
  ]);
  // Two racing creates: exactly one wins, and the get sees the winner.
  linearizable([cas(0, 0, 10, null, "a", false), cas(1, 0, 10, null, "b", true), get(2, 11, 12, "b")]);
  notLinearizable([cas(0, 0, 10, null, "a", true), cas(1, 0, 10, null, "b", true), get(2, 11, 12, "b")]);
  // Unknown outcome: applied or not.
  for (const seen of ["a", "b"]) linearizable([put(0, 0, 1, "a"), cas(1, 2, U, "a", "b", undefined), get(2, 5, 6, seen)]);
});

test("a stale read after a put completed is a violation, explained", () => {
  notLinearizable(
    [put(0, 0, 1, "a"), put(1, 2, 3, "b"), get(2, 4, 5, "a")],
    /no order explains put "b" \(client 1, 2\.000 ms – 3\.000 ms\)/,
    /1 of 3 operations/,
    /holding "a", which get → "a" \(client 2, 4\.000 ms – 5\.000 ms\) still needs/,
  );
  notLinearizable([put(0, 0, 1, "a"), get(1, 2, 3, null)], /key absent, which get → absent .* still needs/);
});

test("a read of a value never written is a violation", () => {
  notLinearizable([put(0, 0, 1, "a"), get(1, 2, 3, "zz")], /get → "zz"/, /no operation wrote/);
});

test("two clients seeing two writes in opposite orders is a violation", () => {
  notLinearizable([
    put(0, 0, 20, "a"),
    put(1, 0, 20, "b"),
    get(2, 1, 2, "a"),
    get(3, 3, 4, "b"),
    get(2, 5, 6, "b"),
    get(3, 7, 8, "a"),
  ]);
});

test("cas succeeding on another value, or failing on the expected one, is a violation", () => {
  notLinearizable([put(0, 0, 1, "a"), cas(1, 2, 3, "b", "c", true)], /cas "b" → "c" succeeded/);
  notLinearizable([put(0, 0, 1, "a"), cas(1, 2, 3, "a", "c", false)], /holding "a"/);
  notLinearizable([cas(1, 0, 1, null, "c", false)], /leaving the key absent/);
});

test("a lost acknowledged write (a later read sees the older value) is a violation", () => {
  notLinearizable([put(0, 0, 1, "a"), put(1, 2, 3, "b"), get(2, 4, 5, "b"), get(3, 6, 7, "a")], /get → "a"/);
});

test("only the key at fault is named; out of budget the verdict is unknown", () => {
  const other = [put(0, 0, 1, "x"), get(1, 2, 3, "x")].map((op) => ({ ...op, key: "other" }));
  notLinearizable([...other, put(0, 0, 1, "a"), put(1, 2, 3, "b"), get(2, 4, 5, "a")]);
  const verdict = checkLinearizable([put(0, 0, 20, "a"), put(1, 0, 20, "b"), get(2, 21, 22, "b"), get(2, 23, 24, "a")], {
    maxStates: 1,
  });
  assert.equal(verdict.ok, "unknown");
});

test("malformed operations are refused", () => {
  assert.throws(() => checkLinearizable([put(0, 2, 1, "a")]), RangeError);
  assert.throws(() => checkLinearizable([cas(0, 0, 1, null, "a", undefined)]), TypeError);
  assert.throws(() => checkLinearizable([cas(0, 0, U, null, "a", true)]), TypeError);
});

test("the Recorder times each operation and records what its outcome allows", () => {
  let now = 0;
  const recorder = new Recorder(() => now++);
  const putDone = recorder.invoke(0, "k", { kind: "put", value: "a" });
  const getDone = recorder.invoke(1, "k", { kind: "get" });
  const casDone = recorder.invoke(2, "k", { kind: "cas", expected: "a", value: "b" });
  const lostGet = recorder.invoke(3, "k", { kind: "get" });
  const refused = recorder.invoke(4, "k", { kind: "put", value: "c" });
  recorder.invoke(5, "k", { kind: "put", value: "d" }); // never answered
  putDone(ok());
  getDone(ok("a"));
  casDone(unknown());
  lostGet(unknown());
  refused(failed());
  assert.throws(() => putDone(ok()), /outcome given twice/);
  assert.deepEqual(recorder.history(), [
    put(0, 0, 6, "a"),
    get(1, 1, 7, "a"),
    cas(2, 2, U, "a", "b", undefined),
    put(5, 5, U, "d"),
  ]);
  linearizable(recorder.history());
});

/** Tries every order the intervals allow: the obvious checker, for histories of a few operations. */
function bruteForce(left: readonly Operation[], value: string | null = null): boolean {
  if (left.every((op) => op.ret === U)) return true; // unknown ones left over never happened
  return left.some((op, i) => {
    if (left.some((other) => other.ret < op.call)) return false;
    const match = value === (op.kind === "get" ? op.result : op.kind === "cas" ? op.expected : value);
    if (op.kind === "get" && !match) return false;
    if (op.kind === "cas" && op.result !== undefined && op.result !== match) return false;
    return bruteForce(left.toSpliced(i, 1), op.kind === "get" || !match ? value : op.value);
  });
}

test("the checker agrees with trying every order, on small random histories", () => {
  const random = prng(7);
  const int = (n: number) => Math.floor(random() * n);
  const histories: Operation[][] = [];
  // Few values, each written often; results at random.
  const someValue = () => [null, "a", "b"][int(3)];
  for (let h = 0; h < 2000; h++) {
    histories.push(Array.from({ length: 1 + int(6) }, (_, client): Operation => {
      const call = int(10);
      const ret = random() < 0.15 ? U : call + int(5);
      const roll = int(3);
      if (roll === 0) return put(client, call, ret, someValue() ?? "c");
      if (roll === 1 || ret === U) return cas(client, call, ret, someValue(), "a", ret === U ? undefined : random() < 0.5);
      return get(client, call, ret, someValue());
    }));
  }
  // A real register's histories, each value written once; most with one result then changed.
  for (let h = 0; h < 2000; h++) {
    const history = simulate(h, 2 + int(3), 1 + int(3), ["k"], h % 2 === 0 ? 0 : 0.2);
    const i = int(history.length);
    const op = history[i];
    const written = history.flatMap((other) => (other.kind === "get" ? [] : [other.value]));
    const someWritten = () => (random() < 0.2 ? null : written[int(written.length)]);
    if (op === undefined || random() < 0.4 || op.ret === U || op.kind === "put") histories.push(history);
    else if (op.kind === "get") histories.push(history.with(i, { ...op, result: someWritten() }));
    else histories.push(history.with(i, random() < 0.5 ? { ...op, result: !op.result } : { ...op, expected: someWritten() }));
  }
  let violations = 0;
  for (const history of histories) {
    const expected = bruteForce(history);
    if (!expected) violations++;
    assert.equal(checkLinearizable(history).ok, expected, JSON.stringify(history));
  }
  assert.ok(violations > 1000 && violations < 3000, `${violations} of ${histories.length} not linearizable`);
});

/**
 * Each client runs `perClient` operations back to back, each over a random interval; a sequential
 * register per key applies each at a random moment inside its interval, and that gives the results.
 * Written values are unique. An operation whose outcome is made unknown applies or not, at random.
 */
function simulate(seed: number, clients: number, perClient: number, keys: string[], unknownRate: number): Operation[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const planned = [];
  for (let client = 0; client < clients; client++) {
    let t = random() * 10;
    for (let i = 0; i < perClient; i++) {
      const call = t;
      const ret = call + 0.1 + random() * 20;
      planned.push({
        client, call, ret,
        key: pick(keys),
        at: call + random() * (ret - call),
        kind: pick(["put", "put", "get", "get", "cas"] as const),
        value: `${client}.${i}`,
        unknown: random() < unknownRate,
        applies: random() < 0.5,
      });
      t = ret + random() * 5;
    }
  }
  const register = new Map<string, string>();
  const written = new Map<string, string[]>(keys.map((key) => [key, []]));
  return planned.sort((a, b) => a.at - b.at).flatMap((p): Operation[] => {
    const { client, key, call, value } = p;
    const ret = p.unknown ? U : p.ret;
    const current = register.get(key) ?? null;
    const write = () => {
      if (p.unknown && !p.applies) return;
      register.set(key, value);
      written.get(key)?.push(value);
    };
    if (p.kind === "get") return p.unknown ? [] : [{ client, key, call, ret, kind: "get", result: current }];
    if (p.kind === "put") {
      write();
      return [{ client, key, call, ret, kind: "put", value }];
    }
    const roll = random();
    const expected = roll < 0.5 ? current : roll < 0.75 ? null : pick(written.get(key) ?? []) ?? null;
    if (current === expected) write();
    return [{ client, key, call, ret, kind: "cas", expected, value, result: p.unknown ? undefined : current === expected }];
  });
}

test("random histories of a real register are linearizable; a garbage or stale read is not", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const history = simulate(seed, 8, 40, ["k", "j"], 0.05);
    assert.deepEqual(checkLinearizable(history), { ok: true }, `seed ${seed}`);

    const gets = history.flatMap((op, i) => (op.kind === "get" && op.key === "k" ? [i] : []));
    const g = gets[Math.floor(gets.length / 2)];
    const { client, call, ret } = history[g];
    notLinearizable(history.with(g, get(client, call, ret, "never written")), /get → "never written"/);

    // A read of a value overwritten by a put that began after the value's put ended, and ended
    // before the read began.
    const puts = history.filter((op): op is Operation & { kind: "put" } =>
      op.kind === "put" && op.key === "k" && op.ret !== U
    );
    let stale: Operation[] | undefined;
    for (const i of gets) {
      const read = history[i];
      const overwrite = puts.find((q) => q.ret < read.call && puts.some((p) => p.ret < q.call));
      const old = overwrite && puts.find((p) => p.ret < overwrite.call);
      if (old === undefined) continue;
      stale = history.with(i, get(read.client, read.call, read.ret, old.value));
      break;
    }
    if (stale === undefined) assert.fail(`seed ${seed}: no read to make stale`);
    notLinearizable(stale, /no order explains/);
  }
});

test("64 clients × 30 operations on one key, a few of unknown outcome, are checked", () => {
  const history = simulate(64, 64, 30, ["k"], 0.003);
  assert.ok(history.some((op) => op.ret === U));
  assert.deepEqual(checkLinearizable(history), { ok: true });
});
