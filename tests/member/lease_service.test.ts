/**
 * When the leader's lease clock runs (member/lease_service.ts), with a hand-driven clock and a
 * hand-set raft role and term: leadership lost and won back between two ticks starts the clock
 * again, so leases another leader kept alive meanwhile are not revoked on the old clock.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseCommand } from "../../etcd/commands.ts";
import { LeaseService } from "../../member/lease_service.ts";
import { memoryState } from "../../testkit/state.ts";

test("lease service > leadership lost and regained between ticks is a new term: the clock starts again", async () => {
  const { leases } = await memoryState();
  const proposed: LeaseCommand[] = [];
  const raft = { leads: true, term: 2 };
  const service = new LeaseService({
    leases: () => leases,
    propose: (command) => {
      proposed.push(command);
      return Promise.resolve();
    },
    heartbeatMs: 100,
    electionMs: 1_000,
    requestTimeoutMs: 1_000,
    leads: () => raft.leads,
    term: () => raft.term,
    caughtUpAsLeader: () => raft.leads,
    stopped: () => false,
    leaderUrls: () => undefined,
    hasLeader: () => true,
    until: () => Promise.resolve(false),
    peer: { token: "t", self: "1", init: {} },
  });
  leases.grant(1n, 5);
  service.tick(0);
  // Leading in term 2 from 0: the lease would expire at 6 s. Another member leads terms 3 and 4
  // and keeps the lease alive; this one wins term 5 back, and ticks again only at 7 s.
  raft.term = 5;
  for (let t = 7_000; t <= 12_900; t += 100) service.tick(t);
  assert.deepEqual(proposed.filter((c) => c.op === "leaseRevoke"), [], "revoked on the clock of an earlier term");
  for (let t = 13_000; t <= 13_300; t += 100) service.tick(t);
  assert.deepEqual(proposed.filter((c) => c.op === "leaseRevoke"), [{ op: "leaseRevoke", id: 1n }], "not revoked on the new term's clock");
});
