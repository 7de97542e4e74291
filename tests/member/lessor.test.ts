/**
 * The leader's lease clock (member/lessor.ts) with a hand-driven clock: what it proposes and
 * answers as time passes — revokes once leases expire (not before), a new leader's extension by
 * one election timeout, keep-alives, and checkpoints of leases left alone (cleared through the log
 * before a renewal is answered).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseCommand } from "../../etcd/commands.ts";
import { Lessor } from "../../member/lessor.ts";
import { Errors as MemberErrors } from "../../etcd/server_errors.ts";
import { memoryState } from "../../testkit/state.ts";

const ELECTION_MS = 1_000;

/**
 * A lessor on an in-memory store. Proposals are applied at once, as a lone leader would; `held`
 * keeps them in log order until `release()` applies the oldest — or `timeOut()` answers its
 * proposer "request timed out" while it stays in the log, applied by a later `release()`;
 * `refuse` fails them all, as when leadership is lost; `refuseCheckpoints` fails checkpoints
 * (not clearings), as during a leadership transfer.
 */
async function setup(options: { held?: boolean; refuse?: boolean; refuseCheckpoints?: boolean } = {}) {
  const { leases } = await memoryState();
  const proposed: LeaseCommand[] = [];
  const held: { apply: () => void; answer: (result: unknown) => void; answered: boolean }[] = [];
  const apply = (command: LeaseCommand) => {
    if (command.op === "leaseRevoke") {
      leases.remove(command.id);
      lessor.revoked(command.id);
    }
    if (command.op === "leaseCheckpoint") for (const c of command.checkpoints) leases.checkpoint(c.id, c.remaining);
  };
  const lessor = new Lessor({
    leases: () => leases,
    propose: (command) => {
      proposed.push(command);
      const checkpoint = command.op === "leaseCheckpoint" && command.checkpoints.some((c) => c.remaining > 0);
      if (options.refuse || (options.refuseCheckpoints && checkpoint)) return Promise.resolve(MemberErrors.leaderChanged);
      if (!options.held) return Promise.resolve(apply(command));
      return new Promise((resolve) => held.push({ apply: () => apply(command), answer: resolve, answered: false }));
    },
    electionMs: ELECTION_MS,
  });
  const release = () => {
    const entry = held.shift()!;
    entry.apply();
    if (!entry.answered) entry.answer(undefined);
  };
  const timeOut = () => {
    const entry = held.find((e) => !e.answered)!;
    entry.answered = true;
    entry.answer(MemberErrors.timeout);
  };
  /** Ticks every 10 ms from `from` to `to`, letting proposals settle between ticks. */
  const run = async (from: number, to: number) => {
    for (let t = from; t <= to; t += 10) {
      lessor.tick(t);
      await Promise.resolve();
    }
  };
  return { leases, lessor, proposed, run, release, timeOut };
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
  assert.equal(await lessor.renew(1n, () => 6_300), 0, "a revoked lease renews to 0: not found");
});

test("lessor > a keep-alive restarts the TTL; a follower's lessor answers nothing and expires nothing", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(2n, 3);
  assert.equal(await lessor.renew(2n, () => 0), 0, "not primary: no clock to renew against");
  lessor.promote(0);
  lessor.granted(2n, 3, 0);
  for (let t = 0; t < 20_000; t += 1_000) {
    await run(t, t + 990);
    assert.equal(await lessor.renew(2n, () => t + 1_000), 3);
  }
  assert.equal(proposed.filter((c) => c.op === "leaseRevoke").length, 0);
  assert.deepEqual(lessor.timeToLive(2n, 20_500), { ttl: 2, grantedTtl: 3 });
  lessor.demote();
  await run(20_000, 40_000);
  assert.equal(proposed.filter((c) => c.op === "leaseRevoke").length, 0);
});

test("lessor > remaining TTLs of leases left alone are checkpointed; a renewal clears the checkpoint", async () => {
  const { leases, lessor, run } = await setup();
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
  // Renewing lease 4 clears its checkpoint before the renewal is answered: a failover right after
  // it must not go back to the checkpoint.
  assert.equal(await lessor.renew(4n, () => 10_000), 10);
  assert.equal(leases.get(4n)!.remaining, 0);
  lessor.demote();
  lessor.promote(10_010);
  assert.equal(lessor.timeToLive(4n, 10_010)?.ttl, 10 + ELECTION_MS / 1_000);
});

test("lessor > a renewal while a checkpoint of its lease is on its way is answered after clearing it", async () => {
  const { leases, lessor, proposed, release } = await setup({ held: true });
  leases.grant(5n, 10);
  lessor.promote(0);
  for (let t = 0; t <= 3_000; t += 10) lessor.tick(t);
  const checkpoint = proposed.findIndex((c) => c.op === "leaseCheckpoint" && c.checkpoints.some((x) => x.id === 5n && x.remaining > 0));
  assert.ok(checkpoint >= 0, "no checkpoint proposed");
  assert.equal(leases.get(5n)!.remaining, 0, "the checkpoint is still on its way");
  let answered: number | undefined;
  const renewal = lessor.renew(5n, () => 3_000).then((ttl) => (answered = ttl as number));
  // The checkpoint lands first, then the clearing proposed after it; only then the answer.
  release();
  await Promise.resolve();
  assert.equal(answered, undefined, "answered before the checkpoint was cleared");
  release();
  await renewal;
  assert.equal(answered, 10);
  assert.equal(leases.get(5n)!.remaining, 0, "the clearing landed after the checkpoint");
});

test("lessor > a checkpoint whose proposer timed out is still on its way: a renewal clears it", async () => {
  const { leases, lessor, proposed, release, timeOut } = await setup({ held: true });
  leases.grant(7n, 10);
  lessor.promote(0);
  for (let t = 0; t <= 3_000; t += 10) lessor.tick(t);
  assert.ok(proposed.some((c) => c.op === "leaseCheckpoint" && c.checkpoints.some((x) => x.id === 7n && x.remaining > 0)), "no checkpoint proposed");
  timeOut();
  await Promise.resolve();
  const renewal = lessor.renew(7n, () => 3_000);
  assert.ok(proposed.some((c) => c.op === "leaseCheckpoint" && c.checkpoints.some((x) => x.id === 7n && x.remaining === 0)), "no clearing proposed");
  // The timed-out checkpoint is applied after all, then the clearing.
  release();
  release();
  assert.equal(await renewal, 10);
  assert.equal(leases.get(7n)!.remaining, 0);
});

test("lessor > once a renewal's clearing is applied, the next renewals propose nothing", async () => {
  const { leases, lessor, proposed, run } = await setup({ refuseCheckpoints: true });
  leases.grant(9n, 10);
  lessor.promote(0);
  await run(0, 3_000);
  assert.ok(proposed.some((c) => c.op === "leaseCheckpoint" && c.checkpoints.some((x) => x.id === 9n && x.remaining > 0)), "no checkpoint proposed");
  const before = proposed.length;
  for (let t = 3_000; t < 6_000; t += 500) assert.equal(await lessor.renew(9n, () => t), 10);
  assert.equal(proposed.length - before, 1, "a clearing for every renewal");
});

test("lessor > a renewed TTL runs from the answer, not from the question", async () => {
  const { leases, lessor, release } = await setup({ held: true });
  leases.grant(8n, 10);
  leases.checkpoint(8n, 4);
  lessor.promote(0);
  let clock = 1_000;
  const renewal = lessor.renew(8n, () => clock);
  clock = 1_600;
  release();
  assert.equal(await renewal, 10);
  // 10 s from the answer at 1.6 s: a second left at 10.6 s (none, counted from the question).
  assert.deepEqual(lessor.timeToLive(8n, 10_600), { ttl: 1, grantedTtl: 10 });
});

test("lessor > a renewal whose clearing cannot be applied answers why, not a TTL", async () => {
  const { leases, lessor } = await setup({ refuse: true });
  leases.grant(6n, 10);
  leases.checkpoint(6n, 4);
  lessor.promote(0);
  const answer = await lessor.renew(6n, () => 100);
  assert.equal(typeof answer, "object", `answered ${answer}`);
  assert.equal(leases.get(6n)!.remaining, 4);
});

test("lessor > thousands of leases left alone are all checkpointed, 1,000 to an entry", async () => {
  const { leases, lessor, proposed, run } = await setup();
  for (let i = 1; i <= 2_500; i++) leases.grant(BigInt(i), 30);
  lessor.promote(0);
  // A tenth of a 30 s TTL: each is checkpointed once it has lost 3 s.
  await run(0, 4_000);
  const entries = proposed.filter((c) => c.op === "leaseCheckpoint");
  assert.ok(entries.every((c) => c.op === "leaseCheckpoint" && c.checkpoints.length <= 1_000));
  assert.ok(leases.list().every((l) => l.remaining > 0), "a lease was never checkpointed");
});

test("lessor > a lease left alone is checkpointed about ten times over its life, not once a second; a short one every second", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(1n, 60);
  leases.grant(2n, 5);
  lessor.promote(0);
  // The new leader's extension (an election timeout) comes first, then the whole TTL.
  await run(0, 62_000);
  const checkpointsOf = (id: bigint) =>
    proposed.flatMap((c) => (c.op === "leaseCheckpoint" ? c.checkpoints : [])).filter((c) => c.id === id && c.remaining > 0).map((c) => c.remaining);
  const long = checkpointsOf(1n);
  assert.ok(long.length >= 9 && long.length <= 10, `a 60 s lease: ${long.length} checkpoints (${long.join(", ")})`);
  assert.ok(long.every((r, i) => i === 0 ? 60 - r >= 6 : long[i - 1] - r >= 6), `each after losing 6 s: ${long.join(", ")}`);
  // A short lease loses a second between checkpoints, as before: failovers every few seconds still let it expire.
  assert.deepEqual(checkpointsOf(2n), [4, 3, 2, 1]);
  assert.equal(proposed.filter((c) => c.op === "leaseRevoke").length, 2, "both expired");
});

test("lessor > a lease left alone expires though each leader leads it for under two seconds", async () => {
  const { leases, lessor, proposed, run } = await setup();
  leases.grant(6n, 5);
  // Each leader gives it an election timeout on top of what is left: only its own time, never the
  // extension, may be recorded, or leadership moving this often would keep it forever.
  let tenures = 0;
  for (let t = 0; tenures < 30 && !proposed.some((c) => c.op === "leaseRevoke"); t += 2_000, tenures++) {
    lessor.promote(t);
    await run(t, t + 1_900);
    lessor.demote();
  }
  assert.deepEqual(proposed.filter((c) => c.op === "leaseRevoke"), [{ op: "leaseRevoke", id: 6n }]);
  assert.ok(tenures <= 7, `it took ${tenures} leaders`);
});

test("lessor > a lapsed lease renewed and then left alone is checkpointed again under the same leader", async () => {
  const { leases, lessor, run } = await setup();
  leases.grant(5n, 10);
  // The last leader recorded it as lapsed (it ran out its own time in that leader's grace).
  leases.checkpoint(5n, -1);
  lessor.promote(0);
  // Renewed within this leader's grace: the clearing makes its recorded TTL whole again.
  assert.equal(await lessor.renew(5n, () => 500), 10);
  assert.equal(leases.get(5n)!.remaining, 0);
  // Then left alone: its falling TTL must be recorded, or the next failover gives it all back.
  await run(500, 9_000);
  const remaining = leases.get(5n)!.remaining;
  assert.ok(remaining > 0 && remaining < 10, `remaining ${remaining}: never checkpointed after the renewal`);
});
