/**
 * The lessor's heap (member/due_heap.ts): whatever is pushed, in whatever order, comes out due at
 * or before the time asked, earliest first, each once — checked against a sorted list.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DueHeap } from "../../member/due_heap.ts";
import { prng } from "../../testkit/prng.ts";

test("due heap > pops what is due, earliest first, each once, against a sorted list", () => {
  const random = prng(11);
  const heap = new DueHeap<number>();
  let model: { at: number; item: number }[] = [];
  let item = 0;
  for (let step = 0; step < 20_000; step++) {
    if (random() < 0.6) {
      const at = Math.floor(random() * 1_000);
      heap.push(at, item);
      model.push({ at, item: item++ });
    } else {
      const now = Math.floor(random() * 1_000);
      const popped: number[] = [];
      for (let x = heap.popDue(now); x !== undefined; x = heap.popDue(now)) popped.push(x);
      const due = model.filter((m) => m.at <= now);
      model = model.filter((m) => m.at > now);
      const ats = new Map(due.map((d) => [d.item, d.at]));
      assert.deepEqual([...popped].sort((a, b) => a - b), due.map((d) => d.item).sort((a, b) => a - b), `step ${step}`);
      assert.ok(popped.every((x, i) => i === 0 || ats.get(popped[i - 1])! <= ats.get(x)!), "earliest first");
    }
    assert.equal(heap.size, model.length);
  }
});
