/**
 * When the leader's lease clock runs (member/lease_service.ts), with a hand-driven clock and a
 * hand-set raft role and term: leadership lost and won back between two ticks starts the clock
 * again, so leases another leader kept alive meanwhile are not revoked on the old clock; a
 * keep-alive is answered only once a quorum confirms the leader still leads and all before it is
 * applied (a follower may have answered the grant already; a leader resumed may be left behind).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseCommand } from "../../etcd/commands.ts";
import { LeaseService } from "../../member/lease_service.ts";
import { Errors as MemberErrors } from "../../etcd/server_errors.ts";
import type { EtcdError } from "../../etcd/errors.ts";
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
    confirmLeadership: () => Promise.resolve(undefined),
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

test("lease service > a keep-alive is answered from the leader's state only once a quorum confirms it leads and all before it is applied", async () => {
  const { leases } = await memoryState();
  let confirm: (why: EtcdError | undefined) => void = () => {};
  const service = new LeaseService({
    leases: () => leases,
    propose: () => Promise.resolve(),
    heartbeatMs: 100,
    electionMs: 1_000,
    requestTimeoutMs: 1_000,
    leads: () => true,
    term: () => 2,
    caughtUpAsLeader: () => true,
    // The ReadIndex: answered by the test, as a quorum would (or would not).
    confirmLeadership: () => new Promise((resolve) => (confirm = resolve)),
    stopped: () => false,
    leaderUrls: () => undefined,
    hasLeader: () => true,
    until: (check) => Promise.resolve(check()),
    peer: { token: "t", self: "1", init: {} },
  });
  service.tick(0);
  // A lease granted by the cluster, applied here only once the ReadIndex is through.
  const renewed = service.answer({ op: "renew", id: 9n });
  await Promise.resolve();
  leases.grant(9n, 30);
  service.applied({ op: "leaseGrant", id: 9n, ttl: 30 });
  confirm(undefined);
  assert.deepEqual(await renewed, { ttl: 30 }, "answered \"not found\" before the leader had applied the grant");
  // A leader the cluster has left behind (paused, then resumed) answers with why, not TTL 0.
  const stale = service.answer({ op: "renew", id: 10n });
  await Promise.resolve();
  confirm(MemberErrors.leaderChanged);
  assert.equal(await stale, MemberErrors.leaderChanged);
});
