/**
 * Raft scenarios, each as readable steps on a hand-driven cluster (tests/raft/cluster.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PlantedBug } from "../../raft/raft.ts";
import { encodeConfChange } from "../../raft/confchange.ts";
import { Raft } from "../../raft/raft.ts";
import type { ConfChange, Entry, Message } from "../../raft/types.ts";
import { Cluster, ELECTION_TICKS } from "../../testkit/raft_cluster.ts";

/** Lets a follower's election timer lapse without its campaign reaching anyone (out of lease). */
function forgetLeader(c: Cluster, ...ids: string[]): void {
  for (const id of ids) c.tick(id, ELECTION_TICKS);
  c.outbox = c.outbox.filter((m) => !ids.includes(m.from));
}

/** Agreement: at every index, every node that applied it applied the same entry. */
function appliedAgree(c: Cluster): boolean {
  const seen = new Map<number, string>();
  for (const id of c.ids) {
    const applied = c.applied(id);
    for (let i = 0; i < applied.length; i++) {
      const known = seen.get(i);
      if (known !== undefined && known !== applied[i]) return false;
      seen.set(i, applied[i]);
    }
  }
  return true;
}

test("raft scenario > a leader cut off in a minority steps down (check-quorum) and its uncommitted entry is overwritten", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  assert.equal(c.leader(), "s1");

  c.isolate("s1");
  assert.ok(c.propose("s1", "lost"), "s1 still believes it leads");
  c.tick("s1", 2 * ELECTION_TICKS);
  assert.equal(c.node("s1").role, "follower", "s1 heard from no quorum for an election timeout");

  forgetLeader(c, "s3");
  c.campaign("s2");
  assert.equal(c.leader(), "s2");
  assert.ok(c.propose("s2", "kept"));
  c.deliver();

  c.rejoin("s1");
  c.tickAll(3);
  for (const id of c.ids) {
    assert.ok(!c.logOf(id).some((e) => e.endsWith(":lost")), `${id} still holds the cut-off leader's entry`);
    assert.ok(c.applied(id).includes("kept"), `${id} applied the new leader's entry`);
  }
  assert.ok(appliedAgree(c));
});

test("raft scenario > a partitioned node that rejoins does not disrupt the leader (pre-vote)", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.isolate("s3");
  c.tick("s3", 5 * ELECTION_TICKS);
  assert.equal(c.node("s3").term, 1, "pre-votes that no one answers never raise the term");

  c.rejoin("s3");
  c.tickAll(3);
  assert.equal(c.leader(), "s1");
  assert.equal(c.node("s1").term, 1);
  assert.ok(c.propose("s1", "after"));
  c.tickAll(2);
  assert.deepEqual(c.applied("s3"), c.applied("s1"));
});

/**
 * Figure 8 of the Raft paper, on five servers (s1…s5):
 * (a) s1 leads term 1 and gets X to s2 only;
 * (b) s1 crashes; s5 leads term 2 with s3 and s4, and its entry at index 2 reaches nobody;
 * (c) s5 crashes; s1 leads term 3 with s2 and s3, and gets X to s3: X is on a majority, but its
 *     own term-3 entry is not;
 * (d) s1 crashes and s2 is cut off; s5 leads again with s3 and s4, and replaces X with its own
 *     entry.
 * Counting replicas, s1 would have committed X at (c) — and (d) then loses a committed entry.
 */
function figure8(plantedBug?: PlantedBug): { c: Cluster; s1AppliedInTerm3: string[] } {
  const c = new Cluster(5, { maxEntriesPerAppend: 1, plantedBug });
  c.campaign("s1");
  c.tickAll(1);

  // (a)
  assert.ok(c.propose("s1", "X"));
  c.deliver((m) => m.to === "s2" || m.from === "s2");
  assert.deepEqual(c.logOf("s2"), ["1:", "1:X"]);

  // (b)
  c.crash("s1");
  forgetLeader(c, "s2", "s3", "s4");
  const voting = (m: Message) => ["preVote", "preVoteResp", "vote", "voteResp"].includes(m.type);
  c.tick("s5", ELECTION_TICKS);
  c.deliver(voting);
  assert.equal(c.leader(), "s5");
  c.outbox = [];
  assert.deepEqual(c.logOf("s5"), ["1:", "2:"]);

  // (c)
  c.crash("s5");
  c.isolate("s4");
  c.restart("s1");
  forgetLeader(c, "s2", "s3");
  const toS3CarryingIndex3 = (m: Message) => m.to === "s3" && m.type === "app" && m.entries.some((e) => e.index === 3);
  const sideC = (m: Message) => !(toS3CarryingIndex3(m) && c.node("s3").log.lastIndex >= 2);
  for (let i = 0; i < 3 && c.leader() !== "s1"; i++) {
    c.tick("s1", ELECTION_TICKS);
    c.deliver(sideC);
  }
  assert.equal(c.leader(), "s1");
  assert.equal(c.node("s1").term, 3);
  assert.deepEqual(c.logOf("s3"), ["1:", "1:X"], "X reached s3 but s1's term-3 entry did not");

  // (d)
  const s1AppliedInTerm3 = c.applied("s1");
  c.crash("s1");
  c.isolate("s2");
  c.rejoin("s4");
  c.restart("s5");
  forgetLeader(c, "s2", "s3", "s4");
  for (let i = 0; i < 3 && c.leader() !== "s5"; i++) c.campaign("s5");
  assert.equal(c.leader(), "s5");
  c.tickAll(3);
  return { c, s1AppliedInTerm3 };
}

test("raft scenario > Figure 8: an entry of an earlier term is not committed by counting replicas", () => {
  const { c, s1AppliedInTerm3 } = figure8();
  assert.ok(!s1AppliedInTerm3.includes("X"), "s1 must not commit X by count");
  c.rejoin("s2");
  c.restart("s1");
  c.tickAll(5);
  assert.ok(!c.ids.some((id) => c.applied(id).includes("X")), "X was never committed, so never applied");
  assert.ok(appliedAgree(c), "every node applied the same entries");
  assert.ok(c.applied("s5").length >= 3, "the cluster moved on under s5");
});

test("raft scenario > Figure 8 with the commit rule broken on purpose loses a committed entry", () => {
  const { c, s1AppliedInTerm3 } = figure8("commitEarlierTermsByCount");
  assert.deepEqual(s1AppliedInTerm3, ["", "X"], "with the bug, s1 commits and applies X");
  assert.equal(c.applied("s5")[1], "", "…and s5 later commits its own entry at the same index");
  assert.equal(c.applied("s3")[1], "", "…as do the nodes that held X");
});

test("raft scenario > leader transfer: the leader hands over to an up-to-date follower", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  assert.ok(c.propose("s1", "before"));
  c.tickAll(1);

  assert.ok(c.node("s1").transferLeadership("s2"));
  assert.ok(!c.propose("s1", "during"), "a leader handing over takes no proposals");
  c.deliver();
  assert.equal(c.leader(), "s2");
  assert.equal(c.node("s2").term, 2);
  assert.equal(c.node("s1").role, "follower");

  assert.ok(c.propose("s2", "after"));
  c.tickAll(2);
  for (const id of c.ids) assert.deepEqual(c.applied(id).filter(Boolean), ["before", "after"]);
});

test("raft scenario > leader transfer to a lagging follower waits until it has caught up", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.isolate("s3");
  for (const v of ["a", "b", "c"]) assert.ok(c.propose("s1", v));
  c.tickAll(1);
  assert.equal(c.logOf("s3").length, 1, "s3 missed the three entries");

  c.rejoin("s3");
  assert.ok(c.node("s1").transferLeadership("s3"));
  c.deliver();
  assert.equal(c.leader(), "s3", "s3 caught up, then took over");
  assert.deepEqual(c.logOf("s3").slice(0, 4).map((e) => e.split(":")[1]), ["", "a", "b", "c"]);
});

test("raft scenario > a leader transfer that cannot finish is given up after an election timeout", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.isolate("s3");
  assert.ok(c.node("s1").transferLeadership("s3"));
  assert.ok(!c.propose("s1", "blocked"));
  for (let i = 0; i < ELECTION_TICKS; i++) c.tickAll(1);
  assert.equal(c.leader(), "s1");
  assert.equal(c.node("s1").transferee, "");
  assert.ok(c.propose("s1", "resumed"), "proposals are taken again once the transfer is given up");
});

test("raft scenario > a leader does not hand leadership to a member whose removal is under way (found by the simulator, seed 40330)", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  assert.ok(c.node("s1").proposeConfChange({ kind: "removeNode", node: "s2" }));
  assert.equal(c.node("s1").transferLeadership("s2"), false, "s2 is about to leave: no transfer to it");
  assert.ok(c.node("s1").transferLeadership("s3"), "a transfer to a member that stays is still taken");
});

test("raft scenario > a node that applied its own removal ignores a late timeoutNow", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  // Leadership is handed to s2; the leader's timeoutNow is held back.
  assert.ok(c.node("s1").transferLeadership("s2"));
  let late: Message | undefined;
  const holdTimeoutNow = (m: Message) => {
    if (m.type !== "timeoutNow") return true;
    late ??= m;
    return false;
  };
  c.deliver(holdTimeoutNow);
  assert.ok(late, "the leader told s2 to campaign");
  // The transfer is given up after an election timeout; then s2 is removed, and applies it.
  c.tick("s1", ELECTION_TICKS);
  c.deliver(holdTimeoutNow);
  assert.ok(c.node("s1").proposeConfChange({ kind: "removeNode", node: "s2" }));
  for (let i = 0; i < 3; i++) {
    c.tick("s1");
    c.deliver(holdTimeoutNow);
  }
  assert.ok(!c.node("s2").conf.voters.includes("s2"), "s2 applied its removal");
  const term = c.node("s2").term;
  c.node("s2").step(late);
  c.deliver();
  assert.equal(c.node("s2").role, "follower", "a node outside the voters does not campaign (etcd: not promotable)");
  assert.equal(c.node("s2").term, term);
  assert.equal(c.leader(), "s1");
});

test("raft scenario > a follower far behind is caught up by a snapshot", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.isolate("s3");
  const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
  for (const v of values) assert.ok(c.propose("s1", v));
  c.tickAll(2);
  const applied = c.node("s1").log.applied;
  c.compact("s1", applied - 1);
  assert.ok(c.node("s1").log.firstIndex > c.node("s3").log.lastIndex + 1, "s3 needs entries s1 no longer has");

  c.rejoin("s3");
  c.tickAll(3);
  assert.ok(c.node("s3").log.firstIndex > 1, "s3 installed a snapshot");
  assert.deepEqual(c.applied("s3"), c.applied("s1"), "and holds the same state as the leader");
  assert.deepEqual(c.applied("s3").filter(Boolean), values);

  c.crash("s3");
  c.restart("s3");
  c.tickAll(2);
  assert.deepEqual(c.applied("s3"), c.applied("s1"), "a restart starts from the installed snapshot");
});

test("raft scenario > a leader with no snapshot to send yet waits, and catches the follower up once it has one", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.isolate("s3");
  for (let i = 0; i < 10; i++) assert.ok(c.propose("s1", `v${i}`));
  c.tickAll(2);
  const applied = c.node("s1").log.applied;
  // The log is trimmed before the runtime has a snapshot to hand out.
  c.node("s1").compact(applied - 1);
  c.rejoin("s3");
  c.tickAll(3);
  assert.ok(c.node("s3").log.lastIndex < applied - 1, "s3 cannot be caught up without a snapshot");
  assert.ok(c.propose("s1", "still-working"), "the leader goes on meanwhile");

  c.compact("s1", applied - 1);
  c.tickAll(ELECTION_TICKS + 2);
  assert.deepEqual(c.applied("s3"), c.applied("s1"), "once there is a snapshot, s3 catches up");
});

test("raft scenario > members are added as learners, promoted and removed while proposals flow", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  assert.ok(c.propose("s1", "a"));
  c.addNode("s4");
  assert.ok(c.node("s1").proposeConfChange({ kind: "addLearner", node: "s4" }));
  assert.ok(c.propose("s1", "b"));
  c.tickAll(2);
  assert.deepEqual(c.node("s1").conf, { voters: ["s1", "s2", "s3"], learners: ["s4"] });
  assert.deepEqual(c.applied("s4").filter((v) => v.length === 1), ["a", "b"], "the learner receives the log");

  // A learner does not count: with s2 and s3 down, s1 and s4 cannot commit.
  c.crash("s2");
  c.crash("s3");
  assert.ok(c.propose("s1", "stuck"));
  c.deliver();
  assert.ok(!c.applied("s1").includes("stuck"));
  c.restart("s2");
  c.restart("s3");
  c.tickAll(3);
  assert.ok(c.applied("s1").includes("stuck"), "with its voters back the leader commits");

  assert.ok(c.node(c.leader()!).proposeConfChange({ kind: "addVoter", node: "s4" }));
  c.tickAll(2);
  assert.deepEqual(c.node("s1").conf.voters, ["s1", "s2", "s3", "s4"], "s4 was promoted");

  // Now s4 counts: with s2 and s3 down, s1 + s4 are 2 of 4 — not a quorum; remove s3 instead.
  const leader = c.leader()!;
  assert.ok(c.node(leader).proposeConfChange({ kind: "removeNode", node: "s3" }));
  c.tickAll(2);
  c.crash("s3");
  assert.deepEqual(c.node("s1").conf.voters, ["s1", "s2", "s4"]);
  assert.ok(c.propose(c.leader()!, "after removal"));
  c.tickAll(2);
  for (const id of ["s1", "s2", "s4"]) assert.ok(c.applied(id).includes("after removal"), `${id} applied it`);
});

test("raft scenario > membership changes never overlap: one at a time", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  c.addNode("s4");
  c.addNode("s5");
  c.isolate("s2", "s3");
  assert.ok(c.node("s1").proposeConfChange({ kind: "addLearner", node: "s4" }));
  assert.ok(!c.node("s1").proposeConfChange({ kind: "addLearner", node: "s5" }), "the first change is not applied yet");
  c.rejoin("s2", "s3");
  c.tickAll(2);
  assert.ok(c.node("s1").proposeConfChange({ kind: "addLearner", node: "s5" }), "once it is applied, the next may go");
});

test("raft scenario > a leader that removes itself steps down and the rest elect a new one", () => {
  const c = new Cluster(3);
  c.campaign("s1");
  assert.ok(c.node("s1").proposeConfChange({ kind: "removeNode", node: "s1" }));
  c.tickAll(2);
  assert.notEqual(c.node("s1").role, "leader");
  c.crash("s1");
  forgetLeader(c, "s3");
  c.campaign("s2");
  assert.equal(c.leader(), "s2");
  assert.deepEqual(c.node("s2").conf.voters, ["s2", "s3"]);
  assert.ok(c.propose("s2", "two of two"));
  c.tickAll(2);
  assert.ok(c.applied("s3").includes("two of two"));
});

test("raft scenario > a node acts on the latest membership in its log, applied or not (found by the simulator)", () => {
  // Both hold, unapplied, s4's addition and then s1's removal; their state and commit index, made
  // durable only now and then, are from before both.
  const conf = (change: ConfChange, index: number): Entry => ({ index, term: 1, data: encodeConfChange(change), type: "confChange" });
  const entries = [
    { index: 1, term: 1, data: new Uint8Array() },
    conf({ kind: "addVoter", node: "s4" }, 2),
    conf({ kind: "removeNode", node: "s1" }, 3),
  ];
  const restarted = (id: string) =>
    new Raft({
      id, voters: ["s1", "s2", "s3"], electionTicks: 10, heartbeatTicks: 1, random: () => 0, preVote: false, checkQuorum: false,
      maxInflight: 8, maxEntriesPerAppend: 8,
    }, { hardState: { term: 1, vote: "", commit: 1 }, entries, applied: 1 });
  const grant = (to: Raft, from: string): Message => ({
    type: "voteResp", from, to: to.id, term: to.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: "",
  });
  // s1 is out of the newest membership: it starts with a pre-vote (though pre-vote is off), and s2,
  // which with s1 made a majority of the applied membership, elects it no more; only a majority of
  // {s2, s3, s4} does (s1's own vote does not count).
  const s1 = restarted("s1");
  s1.campaign();
  assert.deepEqual(s1.ready().messages.map((m) => `${m.type}>${m.to}`).sort(), ["preVote>s2", "preVote>s3", "preVote>s4"]);
  const preGrant = (from: string): Message => ({ ...grant(s1, from), type: "preVoteResp", term: s1.term + 1 });
  s1.step(preGrant("s2"));
  assert.equal(s1.role, "preCandidate", "not past its pre-vote on a majority of the membership two changes old");
  s1.step(preGrant("s3"));
  assert.equal(s1.role, "candidate");
  s1.step(grant(s1, "s2"));
  assert.equal(s1.role, "candidate");
  s1.step(grant(s1, "s3"));
  assert.equal(s1.role, "leader");
  // s2 asks the newest membership's voters, and a majority of them elects it.
  const s2 = restarted("s2");
  s2.campaign();
  assert.deepEqual(s2.ready().messages.filter((m) => m.type === "vote").map((m) => m.to).sort(), ["s3", "s4"]);
  s2.step(grant(s2, "s1"));
  assert.equal(s2.role, "candidate", "s1's vote does not count: it is no longer a voter");
  s2.step(grant(s2, "s4"));
  assert.equal(s2.role, "leader");
});

test("raft scenario > a lone voter adds a second voter directly and commits it alone, as etcd does; the new voter then gets the log", () => {
  const c = new Cluster(1);
  c.campaign("s1");
  assert.ok(c.propose("s1", "before"));
  c.deliver();
  c.addNode("s2");
  assert.ok(c.node("s1").proposeConfChange({ kind: "addVoter", node: "s2" }));
  // The member sends only to members it has applied: s2 hears nothing until the addition is applied.
  c.deliver((m) => m.to !== "s2");
  assert.deepEqual(c.node("s1").conf.voters.sort(), ["s1", "s2"], "the addition committed and was applied without s2");
  c.tickAll(2);
  c.deliver();
  assert.deepEqual(c.node("s2").conf.voters.sort(), ["s1", "s2"]);
  assert.ok(c.propose("s1", "after"));
  c.deliver();
  assert.deepEqual(c.applied("s2"), c.applied("s1"), "the new voter holds the same state");
  assert.ok(c.applied("s2").includes("after"));
});

test("raft scenario > a leader removing itself serves no read the rest have moved past, though its removal elected them", () => {
  const c = new Cluster(4);
  c.campaign("s1");
  assert.ok(c.node("s1").proposeConfChange({ kind: "removeNode", node: "s1" }));
  // s3 and s4 get the removal; s2's copy and their acknowledgements are lost.
  c.deliver((m) => !(m.type === "app" && m.to === "s2") && !(m.type === "appResp" && m.to === "s1"));
  // {s1, s2} | {s3, s4}: s3 and s4 count the newest membership, {s2, s3, s4}, elect s3 and commit.
  const side = (id: string) => (id === "s1" || id === "s2" ? "A" : "B");
  const sameSide = (m: Message) => side(m.from) === side(m.to);
  c.outbox = c.outbox.filter(sameSide);
  for (const id of ["s3", "s4"]) c.tick(id, ELECTION_TICKS);
  c.deliver(sameSide);
  c.tick("s3", ELECTION_TICKS);
  c.deliver(sameSide);
  assert.equal(c.node("s3").role, "leader");
  assert.ok(c.node("s3").propose(new TextEncoder().encode("new")));
  c.deliver(sameSide);
  assert.ok(c.applied("s3").includes("new"));
  // s1 still leads its term and is asked for a read: s2's answer and its own are not a majority of
  // the four voters it counts until its removal is applied, so no read is served.
  assert.equal(c.node("s1").role, "leader");
  const s1 = c.node("s1");
  const served: string[] = [];
  const ready = s1.ready.bind(s1);
  s1.ready = () => {
    const rd = ready();
    served.push(...rd.readStates.map((r) => r.context));
    return rd;
  };
  s1.readIndex("r1");
  for (let i = 0; i < 3; i++) {
    c.tick("s1");
    c.deliver(sameSide);
  }
  assert.deepEqual(served, []);
});
