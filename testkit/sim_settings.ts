/**
 * What one simulated run is like, drawn from its seed: the cluster's size and Raft settings (pre-vote
 * and check-quorum on or off, heartbeat and election ticks, appends in flight, entries and bytes per
 * append, how often the log is trimmed), how fast disks and clocks are, how hostile the network and
 * the crashes are, and what clients ask for. The seeds together cover gentle and brutal runs.
 *
 * Owns: the draw. Never: runs anything.
 */

export interface SimSettings {
  voters: 3 | 5;
  /** Nodes (2 or 3) outside the cluster at first, to be added (and removed again) by membership changes. */
  spares: number;
  preVote: boolean;
  checkQuorum: boolean;
  heartbeatTicks: number;
  electionTicks: number;
  maxInflight: number;
  maxEntriesPerAppend: number;
  maxAppendBytes: number | undefined;
  /** Applied entries between log trims (the member's --snapshot-count). */
  snapshotCount: number;
  /** The byte budget of a node's in-memory log (the member's RAFT_LOG_MEMORY_BYTES_MAX): small ones trim by bytes often. */
  logMemoryBytes: number | undefined;
  /** Time units between ticks: few make message delays long next to election timeouts. */
  tickUnits: number;
  /** A log write takes 1..this many units to become durable. */
  fsyncUnitsMax: number;
  /** Chance a log write stalls for 20–80 units (an fsync stuck behind the device's queue). */
  fsyncStall: number;
  /** Chance per unit that a node's state is made durable (the state's batch commit). */
  stateCommit: number;
  crash: number;
  restart: number;
  partition: number;
  heal: number;
  drop: number;
  duplicate: number;
  maxDelayUnits: number;
  /** Chance a message is held up far longer (30–150 units): a retransmit, a pause, a slow link. */
  slow: number;
  /** Share of partitions that cut the leader off with at most a minority of the others. */
  isolateLeader: number;
  /**
   * Chance the leader is cut off the moment a follower answers a read's heartbeat, that answer
   * held up beyond the cut: the worst moment for a read (it arrives after others have moved on).
   */
  cutOnReadAck: number;
  /** Share of crashes aimed at the current leader. */
  leaderCrashBias: number;
  /**
   * Chance a node crashes the moment it becomes leader (before its first entry goes out), and a
   * leader the moment its commit index moves (before it tells anyone).
   */
  crashNewLeader: number;
  crashAfterCommit: number;
  /** Chances per unit of client work: proposals (in bursts), reads, transfers, membership changes. */
  propose: number;
  burstMax: number;
  read: number;
  /** Share of reads aimed at the leader with the oldest term (a deposed one, during a partition). */
  readAtOldLeader: number;
  transfer: number;
  confChange: number;
}

export function drawSettings(r: () => number, voters?: 3 | 5): SimSettings {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const heartbeatTicks = pick([1, 1, 2, 3]);
  const s: SimSettings = {
    voters: voters ?? (r() < 0.5 ? 3 : 5),
    spares: pick([2, 3]),
    preVote: r() < 0.75,
    checkQuorum: r() < 0.5,
    heartbeatTicks,
    electionTicks: heartbeatTicks * pick([3, 5, 10]),
    maxInflight: pick([1, 2, 4, 8, 64, 256]),
    maxEntriesPerAppend: pick([1, 2, 4, 16, 64]),
    maxAppendBytes: r() < 0.25 ? 8 : undefined,
    snapshotCount: pick([2, 4, 8, 32, 128]),
    tickUnits: pick([1, 2, 3]),
    fsyncUnitsMax: pick([1, 2, 4, 8]),
    fsyncStall: pick([0, 0.01, 0.05, 0.2]),
    stateCommit: pick([0.01, 0.05, 0.2, 1]),
    crash: 0.001 + r() * r() * 0.03,
    restart: 0.01 + r() * 0.1,
    partition: r() * 0.01,
    heal: 0.002 + r() * 0.01,
    drop: r() * r() * 0.15,
    duplicate: r() * 0.05,
    maxDelayUnits: pick([1, 2, 4, 8, 16]),
    slow: pick([0, 0.002, 0.01, 0.03]),
    isolateLeader: r(),
    cutOnReadAck: pick([0, 0.02, 0.1]),
    leaderCrashBias: r(),
    crashNewLeader: pick([0, 0, 0.05, 0.2, 0.5]),
    crashAfterCommit: pick([0, 0, 0.02, 0.1, 0.3]),
    propose: 0.05 + r() * 0.3,
    burstMax: pick([1, 1, 4, 16]),
    read: 0.05 + r() * 0.2,
    readAtOldLeader: 0.1 + r() * 0.6,
    transfer: r() < 0.5 ? 0.002 : 0.01,
    confChange: pick([0.01, 0.05, 0.1]),
    logMemoryBytes: undefined,
  };
  // Drawn last, so every setting above is what it was for the same seed before this one existed.
  s.logMemoryBytes = pick([undefined, undefined, 16, 64, 256]);
  // Once the network heals (messages take 1–2 units) an election's round trip — the candidate's
  // fsync of its vote, the request, the voter's fsync, the answer — must fit twice in the shortest
  // election timeout, or no leader need ever be elected: the cluster would be misconfigured.
  const roundTripUnits = 2 * s.fsyncUnitsMax + 4;
  const minTicks = Math.ceil((2 * roundTripUnits) / s.tickUnits);
  if (s.electionTicks < minTicks) s.electionTicks = Math.ceil(minTicks / heartbeatTicks) * heartbeatTicks;
  return s;
}
