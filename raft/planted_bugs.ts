/**
 * The catalogue of bugs a test may plant, one at a time, to prove the simulator
 * (testkit/raft_simulator.ts) finds the kinds of mistakes Raft implementations really make. Each
 * is a single rule broken in raft/ or in the member's write path (member/ready_loop.ts,
 * member/state_commits.ts); the code checks for it where the rule lives.
 *
 * Not here, because here they cannot break anything a user would see: a follower acknowledging
 * its last index instead of the last entry an append brought, or committing up to the leader's
 * commit index past that entry. A new leader's first append carries an entry of its own term and
 * truncates any stale tail at the first conflict, and fast back-off lands on the first conflict, so
 * whatever a follower holds past an append's last entry is the current leader's.
 *
 * Owns: the names and what each one breaks. Never: changes behaviour by itself — nothing plants a
 * bug outside tests and `npm run sim -- --plant NAME`.
 */
export const PLANTED_BUGS = {
  // ---- elections ----
  voteWithoutLogCheck: "votes are granted without checking the candidate's log is up to date",
  voteTwiceInTerm: "a node votes for a second candidate in a term it already voted in",
  voteNotPersisted: "the vote is not part of the hard state, so a restart forgets it",
  learnerVotesCounted: "learners are asked for votes and their votes count towards the quorum",
  preVoteBumpsTerm: "a pre-vote campaign moves the node's term, as a real campaign does",
  timeoutNowNotPromotable:
    "a leader hands leadership to a node whose removal is under way, and a node no longer a voter campaigns when told to, and leads",
  // ---- replication and commit ----
  commitEarlierTermsByCount: "a leader commits an entry of an earlier term by counting replicas (Raft paper, Figure 8)",
  quorumFixedAtElection: "the commit quorum is the one of the membership when the leader was elected",
  removedVoterCounted: "a removed voter is still replicated to and its acknowledgements still count towards the commit quorum",
  heartbeatCommitUnchecked: "heartbeats carry the leader's commit index, not bounded by what the follower matched",
  truncateOnMatchingAppend: "a follower drops its entries after an append even when they matched it",
  commitMovesBack: "a follower takes a lower commit index from a leader",
  votesCarriedOver: "a candidate's tally keeps the grants of its pre-vote, so it wins without a real vote",
  stableWithoutTermCheck: "entries persisted and then replaced count as durable",
  inflightNeverFreed: "a full window of appends is never freed by heartbeats, so lost appends stall a follower",
  // ---- durability ordering (the member's write path) ----
  leaderCountsOwnUndurable: "a leader counts its own entries towards the quorum before they are durable",
  applyUndurable: "committed entries are applied before they are durable on this node",
  followerSendsBeforeFsync: "a follower (or candidate) sends votes and acknowledgements before its own fsync",
  syncOnlyEntries: "a Ready is synced only when it has entries, so a new term or vote alone is not durable",
  trimBeyondDurableState: "the log is trimmed past what the state has made durable",
  // ---- snapshots and membership ----
  snapshotKeepsConflictingSuffix: "a follower that installs a snapshot keeps its log entries after it, even conflicting ones",
  snapshotIgnoresMembership: "a follower that installs a snapshot keeps its old membership instead of the snapshot's",
  // ---- linearizable reads (ReadIndex) ----
  readWithoutQuorum: "a leader answers a read at once, without a heartbeat quorum confirming it still leads",
  readAckConfirmsLater: "a quorum answering one read's heartbeat also confirms reads asked after it",
  readAnyAckConfirmsNewest: "an answer to any heartbeat, whatever read it was for, counts towards the newest read",
  readBeforeOwnTermCommit: "a new leader serves reads before an entry of its own term commits",
  followerReadsLocally: "a follower answers a read with its own commit index instead of asking the leader",
} as const;

export type PlantedBug = keyof typeof PLANTED_BUGS;

export const PLANTED_BUG_NAMES = Object.keys(PLANTED_BUGS) as PlantedBug[];
