/**
 * The TypeScript client (client/) against three real members while members die (kill -9): each
 * client given every endpoint, starting at a different one.
 * - Locks: clients take turns with one lock, each writing under it with fenced writes while the
 *   leader is killed, and one holder stalls past its lease; the history of what they wrote shows no
 *   two holders at once (every fenced write's token is at least the one before it), the stalled
 *   holder's late write is refused, and writes go on after the failover.
 * - A watch through the member that is killed sees every revision once, in order.
 * - Observers (one through the member that is killed) each see every leader of an election once, in order.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, EtcdError, LockLostError, op, type Session } from "../../client/mod.ts";
import { TestCluster } from "../../testkit/cluster.ts";
import { eventually } from "../../testkit/eventually.ts";

let cluster: TestCluster;
/** A client whose first endpoint is member `first`'s, then the others'. */
const clientAt = (first: number) =>
  new Client({ endpoints: [0, 1, 2].map((i) => cluster.members[(first + i) % 3].clientUrl), timeoutMs: 3_000 });

before(async () => {
  cluster = await TestCluster.start(3);
  await cluster.leader();
});

after(async () => {
  await cluster?.close();
});

/** Kills `m` (-9) and starts it again once `whileDown` is done. */
async function killedWhile(index: number, whileDown: () => Promise<void>): Promise<void> {
  const m = cluster.members[index];
  await cluster.kill9(m);
  try {
    await whileDown();
  } finally {
    await cluster.restart(m);
  }
}

test("client failover > a lock's holders never overlap, as their fenced writes show, across kill -9 of the leader", async () => {
  const CLIENTS = 6;
  const ROUNDS_EACH = 6;
  // A holder that stalls (its lease left to expire, as in a long pause) while the others go on:
  // once it wakes, its fenced write is refused. It takes the lock first, before the others queue.
  const stalledClient = clientAt(1);
  const stalledLease = await stalledClient.leases.grant(3);
  const stalledLock = await stalledClient.lock("mutex", { lease: stalledLease.id, timeoutMs: 20_000 });
  await stalledLock.write([op.put("fenced/last", String(stalledLock.fencingToken))]);
  const stalled = (async () => {
    await eventually("the stalled holder's lease expired", 15_000, async () => ((await stalledClient.leases.timeToLive(stalledLease.id)) < 0 ? true : undefined));
    await eventually("another holder wrote after it", 15_000, async () =>
      Number(await stalledClient.kv.getText("fenced/last")) > stalledLock.fencingToken ? true : undefined);
    // Its late write, asked again while a member's death makes the answer unknown.
    for (;;) {
      const late = await stalledLock.write([op.put("fenced/last", String(stalledLock.fencingToken))]).catch((e) => e);
      if (!(late instanceof EtcdError && late.transient)) return late;
    }
  })();
  const clients = Array.from({ length: CLIENTS }, (_, c) => clientAt(c % 3));
  let held = 0;
  let lost = 0;
  const work = clients.map(async (client, c) => {
    for (let round = 0; round < ROUNDS_EACH; round++) {
      let session: Session | undefined;
      try {
        session = await client.leases.session(3);
        const lock = await client.lock("mutex", { session, timeoutMs: 20_000 });
        held++;
        for (let w = 0; w < 3; w++) await lock.write([op.put("fenced/last", String(lock.fencingToken)), op.put(`fenced/by/${c}`, String(round))]);
        await lock.unlock();
      } catch (e) {
        // A member died under the call, or the lock was lost meanwhile: the fencing refused the write.
        if (!(e instanceof LockLostError || (e instanceof EtcdError && e.transient))) throw e;
        lost++;
      } finally {
        // Its lease goes (revoked, or left to expire if the revoke fails): no one waits on a key it left.
        await session?.close();
      }
    }
  });
  const leader = cluster.members.indexOf(await cluster.leader());
  await eventually("some rounds done before the kill", 10_000, () => (held >= CLIENTS ? true : undefined));
  const heldBefore = held;
  await killedWhile(leader, () => Promise.all(work).then(() => {}));
  console.log(`client failover: ${held} locks held, ${heldBefore} of them before the leader died; ${lost} rounds lost to the failover`);
  assert.ok(held > heldBefore, `locks were taken after the leader died (${held} in all, ${heldBefore} before, ${lost} rounds lost)`);
  const late = await stalled;
  assert.ok(late instanceof LockLostError, `the holder that stalled past its lease had its write refused, not answered ${JSON.stringify(late)}`);

  // Every fenced write, in the order applied: the tokens never go back.
  const reader = clientAt((leader + 1) % 3);
  const stop = new AbortController();
  const last = (await reader.kv.get("fenced/last")).kvs[0].modRevision;
  const tokens: number[] = [];
  for await (const e of reader.watch("fenced/last", { startRevision: 1, signal: AbortSignal.any([stop.signal, AbortSignal.timeout(20_000)]) })) {
    tokens.push(Number(e.kv.valueText));
    if (e.revision >= last) stop.abort();
  }
  assert.ok(tokens.length >= 3 * heldBefore, `${tokens.length} fenced writes seen`);
  const back = tokens.findIndex((t, i) => i > 0 && t < tokens[i - 1]);
  assert.equal(back, -1, `a write under token ${tokens[back]} after one under ${tokens[back - 1]}: two holders at once`);
});

test("client failover > a watch through a member that is killed sees every revision once, in order", async () => {
  await cluster.leader();
  const watcherAt = (cluster.members.indexOf(await cluster.leader()) + 1) % 3;
  const watcher = clientAt(watcherAt);
  const writer = clientAt((watcherAt + 1) % 3);
  const from = (await writer.kv.put("stream/start", "0")).revision + 1;
  const WRITES = 150;
  const stop = new AbortController();
  const seen: number[] = [];
  const watching = (async () => {
    for await (const e of watcher.watch("stream/", { prefix: true, startRevision: from, signal: stop.signal })) {
      seen.push(Number(e.kv.valueText));
      if (seen.length === WRITES) stop.abort();
    }
  })();
  const write = async (i: number) => {
    for (;;) {
      try {
        return void (await writer.kv.put(`stream/${i % 7}`, String(i)));
      } catch (e) {
        // The write may have been applied before the error: a second one would be seen twice.
        if (!(e instanceof EtcdError && e.transient)) throw e;
        if ((await writer.kv.get(`stream/${i % 7}`)).kvs[0]?.valueText === String(i)) return;
      }
    }
  };
  for (let i = 0; i < 50; i++) await write(i);
  await killedWhile(watcherAt, async () => {
    for (let i = 50; i < WRITES; i++) await write(i);
    await watching;
  });
  assert.deepEqual(seen, Array.from({ length: WRITES }, (_, i) => i));
});

test("client failover > observers see every leader of an election once, in order, one through a member that is killed", async () => {
  // The member the last test restarted may still be catching up: start once a leader is agreed on.
  await cluster.leader();
  const observed = [0, 1, 2].map(() => [] as string[]);
  const LEADERS = 5;
  const stop = new AbortController();
  const observing = observed.map(async (seen, i) => {
    for await (const kv of clientAt(i).observe("primary", { signal: stop.signal })) {
      seen.push(kv.valueText);
      if (seen.length === LEADERS) return;
    }
  });
  const candidate = clientAt(0);
  for (let n = 0; n < LEADERS; n++) {
    const session = await candidate.leases.session(10);
    const leading = await candidate.campaign("primary", `leader-${n}`, { session, timeoutMs: 20_000 });
    // An observer sees the leaders from when it started: the first is awaited by all before it resigns.
    if (n === 0) await eventually("every observer saw the first leader", 10_000, () => (observed.every((o) => o.length > 0) ? true : undefined));
    const resign = async () => {
      await leading.resign();
      await session.close();
    };
    if (n === 2) await killedWhile(1, resign);
    else await resign();
  }
  await Promise.all(observing);
  stop.abort();
  const expected = Array.from({ length: LEADERS }, (_, n) => `leader-${n}`);
  for (const seen of observed) assert.deepEqual(seen, expected);
});
