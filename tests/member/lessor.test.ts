/**
 * The leader's lease clock (member/lessor.ts) with a hand-driven clock: what it proposes and
 * answers as time passes — revokes once leases expire (not before), a new leader's extension by
 * one election timeout, keep-alives, and checkpoints of leases left alone (cleared by a renewal).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseCommand } from "../../etcd/commands.ts";
import { Lessor } from "../../member/lessor.ts";
import { memoryState } from "../support/state.ts";

const ELECTION_MS = 1_000;

async function setup() {
  const { leases } = await memoryState();
  const proposed: LeaseCommand[] = [];
  const lessor = new Lessor({
    leases: () => leases,
    // Applied at once, as a lone leader would.
    propose: (command) => {
      proposed.push(command);
      if (command.op === "leaseRevoke") {
        leases.remove(command.id);
        lessor.revoked(command.id);
      }
      if (command.op === "leaseCheckpoint") for (const c of command.checkpoints) leases.checkpoint(c.id, c.remaining);
      return Promise.resolve();
    },
    electionMs: ELECTION_MS,
  });
  /** Ticks every 10 ms from `from` to `to`, letting proposals settle between ticks. */
  const run = async (from: number, to: number) => {
    for (let t = from; t <= to; t += 10) {
      lessor.tick(t);
      await Promise.resolve();
    }
  };
  return { leases, lessor, proposed, run };
}

test("lessor > a new leader extends every lease by an election timeout, then revokes it when it expires", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(1n, 5);
  lessor.promote(0);
  await run(0, 5_900);
  assert.deepEqual(proposed.filter((c) => c.op === "leaseRevoke"), [], "revoked before TTL + election timeout");
  assert.equal(lessor.timeToLive(1n, 5_900)?.ttl, 0);
  await run(5_910, 6_200);
  assert.deepEqual(proposed.filter((c) => c.op === "leaseRevoke"), [{ op: "leaseRevoke", id: 1n }]);
  assert.equal(lessor.renew(1n, 6_300), 0, "a revoked lease renews to 0: not found");
});

test("lessor > a keep-alive restarts the TTL; a follower's lessor answers nothing and expires nothing", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(2n, 3);
  assert.equal(lessor.renew(2n, 0), 0, "not primary: no clock to renew against");
  lessor.promote(0);
  lessor.granted(2n, 3, 0);
  for (let t = 0; t < 20_000; t += 1_000) {
    await run(t, t + 990);
    assert.equal(lessor.renew(2n, t + 1_000), 3);
  }
  assert.equal(proposed.filter((c) => c.op === "leaseRevoke").length, 0);
  assert.deepEqual(lessor.timeToLive(2n, 20_500), { ttl: 2, grantedTtl: 3 });
  lessor.demote();
  await run(20_000, 40_000);
  assert.equal(proposed.filter((c) => c.op === "leaseRevoke").length, 0);
});

test("lessor > remaining TTLs of leases left alone are checkpointed; a renewal clears the checkpoint", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(3n, 10);
  leases.grant(4n, 10);
  lessor.promote(0);
  await run(0, 4_000);
  // Both left alone: their remaining TTLs are recorded as they fall.
  assert.ok(leases.get(3n)!.remaining > 0 && leases.get(3n)!.remaining <= 8, `remaining ${leases.get(3n)!.remaining}`);
  const recorded = leases.get(4n)!.remaining;
  assert.ok(recorded > 0);
  // A new leader starts from the checkpoint, not from the whole TTL.
  lessor.demote();
  lessor.promote(10_000);
  assert.equal(lessor.timeToLive(4n, 10_000)?.ttl, recorded + ELECTION_MS / 1_000);
  // Renewing lease 4 clears its checkpoint at the next round.
  lessor.renew(4n, 10_000);
  await run(10_000, 11_100);
  assert.equal(leases.get(4n)!.remaining, 0);
  assert.ok(proposed.some((c) => c.op === "leaseCheckpoint" && c.checkpoints.some((x) => x.id === 4n && x.remaining === 0)));
});

test("lessor > thousands of leases left alone are all checkpointed, 1,000 to an entry", async () => {
  const { leases, lessor, proposed, run } = await setup();
  for (let i = 1; i <= 2_500; i++) leases.grant(BigInt(i), 30);
  lessor.promote(0);
  await run(0, 3_000);
  const entries = proposed.filter((c) => c.op === "leaseCheckpoint");
  assert.ok(entries.every((c) => c.op === "leaseCheckpoint" && c.checkpoints.length <= 1_000));
  assert.ok(leases.list().every((l) => l.remaining > 0), "a lease was never checkpointed");
});
