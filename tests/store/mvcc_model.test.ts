/**
 * The MVCC store against a reference model: seeded random puts, deletes (single keys and spans),
 * compactions and range reads at random past revisions, through the state machine exactly as the
 * member applies them — with a compaction's history dropped a few rows at a time in between, as
 * the member drops it, so reads are checked at every stage of it; once it is all dropped, no key
 * keeps more than its newest change at or below the compacted revision, and no delete there. The model is the obvious one — every key's list of versions — so any
 * disagreement is the store's bug. A failure prints the seed; CONCORD_SEED=n replays it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Command } from "../../etcd/commands.ts";
import { isEtcdError } from "../../etcd/errors.ts";
import { compareBytes } from "../../etcd/keys.ts";
import { type KeyValue, type RangeRequest, SortOrder, SortTarget } from "../../etcd/types.ts";
import { range } from "../../store/applier.ts";
import { prng } from "../../testkit/prng.ts";
import { memoryState } from "../../testkit/state.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const KEYS = ["a", "a/1", "a/2", "ab", "b", "b/x", "c", "\u0000z", "zz"];

type Version = { revision: number; kv: KeyValue | undefined };

class Model {
  revision = 1;
  compacted = -1;
  readonly versions = new Map<string, Version[]>();

  at(key: string, rev: number): KeyValue | undefined {
    const list = this.versions.get(key) ?? [];
    let found: KeyValue | undefined;
    for (const v of list) if (v.revision <= rev) found = v.kv;
    return found;
  }

  live(key: string): KeyValue | undefined {
    return this.at(key, this.revision);
  }

  put(key: string, value: string): void {
    const rev = ++this.revision;
    const prev = this.live(key);
    const kv: KeyValue = {
      key: enc(key), value: enc(value), lease: 0n, modRevision: rev,
      createRevision: prev?.createRevision ?? rev, version: (prev?.version ?? 0) + 1,
    };
    this.#push(key, { revision: rev, kv });
  }

  keysIn(start: string, end: string | undefined): string[] {
    const s = enc(start);
    return [...this.versions.keys()].filter((k) => {
      const b = enc(k);
      if (end === undefined) return compareBytes(b, s) === 0;
      if (end === "\u0000") return compareBytes(b, s) >= 0;
      return compareBytes(b, s) >= 0 && compareBytes(b, enc(end)) < 0;
    }).sort((x, y) => compareBytes(enc(x), enc(y)));
  }

  deleteRange(start: string, end: string | undefined): number {
    const doomed = this.keysIn(start, end).filter((k) => this.live(k));
    if (doomed.length === 0) return 0;
    const rev = ++this.revision;
    for (const k of doomed) this.#push(k, { revision: rev, kv: undefined });
    return doomed.length;
  }

  read(start: string, end: string | undefined, rev: number): KeyValue[] {
    return this.keysIn(start, end).map((k) => this.at(k, rev)).filter((kv): kv is KeyValue => kv !== undefined);
  }

  #push(key: string, v: Version): void {
    const list = this.versions.get(key) ?? [];
    list.push(v);
    this.versions.set(key, list);
  }
}

const plain = (kv: KeyValue) => ({ key: dec(kv.key), value: dec(kv.value), create: kv.createRevision, mod: kv.modRevision, version: kv.version });

function rangeRequest(key: string, end: string | undefined, revision: number): RangeRequest {
  return {
    key: enc(key), rangeEnd: end === undefined ? new Uint8Array() : enc(end), limit: 0, revision,
    sortOrder: SortOrder.NONE, sortTarget: SortTarget.KEY, serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

async function runSeed(seed: number, steps: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const { db, mvcc, sm } = await memoryState();
  const model = new Model();
  let index = 0;
  const apply = (command: Command) => sm.apply([{ index: ++index, command }])[0];
  const span = (): [string, string | undefined] => {
    const r = random();
    if (r < 0.4) return [pick(KEYS), undefined];
    if (r < 0.55) return [pick(KEYS), "\u0000"];
    if (r < 0.65) return ["\u0000", "\u0000"];
    const [x, y] = [pick(KEYS), pick(KEYS)];
    return compareBytes(enc(x), enc(y)) <= 0 ? [x, y + "\u0000"] : [y, x];
  };
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} step ${step} (replay: CONCORD_SEED=${seed})`;
    const r = random();
    if (r < 0.45) {
      const key = pick(KEYS);
      const value = `v${step}`;
      apply({ op: "put", put: { key: enc(key), value: enc(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
      model.put(key, value);
    } else if (r < 0.6) {
      const [start, end] = span();
      const result = apply({ op: "deleteRange", deleteRange: { key: enc(start), rangeEnd: end === undefined ? new Uint8Array() : enc(end), prevKv: false } });
      const deleted = model.deleteRange(start, end);
      assert.ok(result && !isEtcdError(result) && "deleted" in result, where);
      assert.equal(result.deleted, deleted, `${where}: deleted count`);
    } else if (r < 0.65 && model.revision > Math.max(2, model.compacted)) {
      const at = model.compacted + 1 + Math.floor(random() * (model.revision - model.compacted));
      const result = apply({ op: "compact", compact: { revision: at, physical: false } });
      if (at <= model.compacted) assert.ok(isEtcdError(result), where);
      else {
        assert.ok(!isEtcdError(result), `${where}: compact ${at} of ${model.revision}/${mvcc.revision} after ${model.compacted}/${mvcc.compactRevision}: ${JSON.stringify(result)}`);
        model.compacted = at;
      }
    } else {
      const [start, end] = span();
      const floor = Math.max(1, model.compacted);
      const rev = random() < 0.3 ? 0 : floor + Math.floor(random() * (model.revision - floor + 1));
      const result = range(mvcc, rangeRequest(start, end, rev));
      assert.ok(!isEtcdError(result), `${where}: range at ${rev}`);
      const expected = model.read(start, end, rev === 0 ? model.revision : rev).map(plain);
      assert.deepEqual(result.kvs.map(plain), expected, `${where}: range [${JSON.stringify(start)}, ${JSON.stringify(end)}) at ${rev}`);
      assert.equal(result.count, expected.length, `${where}: count`);
      assert.equal(result.header.revision, model.revision, `${where}: header revision`);
    }
    if (mvcc.compacting && random() < 0.3) {
      sm.openBatch();
      mvcc.compactStep(1 + Math.floor(random() * 4));
    }
    if (random() < 0.05) sm.commit();
    // Reads below the compaction revision fail; at or above it they are served.
    if (model.compacted > 1 && random() < 0.05) {
      const below = range(mvcc, rangeRequest("a", "\u0000", model.compacted - 1));
      assert.ok(isEtcdError(below), `${where}: read below the compaction revision`);
    }
  }
  sm.openBatch();
  while (mvcc.compactStep(100));
  sm.commit();
  if (model.compacted > 0) {
    const kept = db.prepare("SELECT key, count(*) AS n, min(version) AS v FROM kv_history WHERE mod_revision <= ? GROUP BY key").all<{ key: Uint8Array; n: number; v: number }>(model.compacted);
    for (const row of kept) {
      assert.equal(row.n, 1, `seed ${seed}: ${dec(row.key)} keeps ${row.n} changes at or below the compacted revision ${model.compacted}`);
      assert.ok(row.v > 0, `seed ${seed}: a delete of ${dec(row.key)} at or below the compacted revision stayed`);
    }
  }
  for (const [start, end] of [["\u0000", "\u0000"], ["a", "b"]] as const) {
    const result = range(mvcc, rangeRequest(start, end, model.compacted > 0 ? model.compacted : 0));
    assert.ok(!isEtcdError(result));
    assert.deepEqual(result.kvs.map(plain), model.read(start, end, model.compacted > 0 ? model.compacted : model.revision).map(plain), `seed ${seed}: read after the compaction finished`);
  }
  db.close();
}

const only = process.env.CONCORD_SEED;
const seeds = only ? [Number(only)] : Array.from({ length: 60 }, (_, i) => i + 1);
test(`store > MVCC agrees with the reference model over ${seeds.length} seeds of 400 steps`, async () => {
  for (const seed of seeds) await runSeed(seed, 400);
});
