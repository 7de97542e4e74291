/**
 * Bugs a test may plant in the member outside Raft, one at a time, to prove the chaos harness's
 * checkers find them in real processes (testkit/chaos/, tests/chaos/planted.test.ts): a watch
 * event delivered twice, a lease expired on a follower's clock, and a log acknowledged before its
 * fsync (which only a power cut shows: kill -9 loses nothing the kernel holds). raft/planted_bugs.ts holds the
 * Raft ones (and the write path's), which the simulator proves too; these need a watch hub, a
 * lessor or a real disk, which the simulator does not drive.
 *
 * Owns: the names, what each breaks, and which catalogue a name is from. Never: changes behaviour
 * by itself — only CONCORD_PLANTED_BUG (read by server.ts, set by the chaos harness) plants one.
 */
import { PLANTED_BUGS as RAFT_PLANTED_BUGS, type PlantedBug as RaftPlantedBug } from "../raft/planted_bugs.ts";

export const MEMBER_PLANTED_BUGS = {
  watchStartsOneEarly:
    "a watch asked to start at a revision in the past starts one before it, so a watcher resuming after its last event sees that event twice",
  leaseExpiresOnFollowerClock:
    "followers keep lease time on their own clocks, which keep-alives (answered by the leader) never reach, and revoke what they think expired",
  logAppendUnsynced:
    "the log is written with SQLite's synchronous=NORMAL, so an append is acknowledged before any fsync (WAL mode then syncs only at checkpoints)",
} as const;

export type MemberPlantedBug = keyof typeof MEMBER_PLANTED_BUGS;
export type PlantedBug = RaftPlantedBug | MemberPlantedBug;

/** Every bug that can be planted in a member, with what it breaks. */
export const ALL_PLANTED_BUGS: Readonly<Record<PlantedBug, string>> = { ...RAFT_PLANTED_BUGS, ...MEMBER_PLANTED_BUGS };
export const ALL_PLANTED_BUG_NAMES = Object.keys(ALL_PLANTED_BUGS) as PlantedBug[];

/** The bug, when it is one the Raft core or the write path plants. */
export const raftPlant = (bug: PlantedBug | undefined): RaftPlantedBug | undefined =>
  bug !== undefined && Object.hasOwn(RAFT_PLANTED_BUGS, bug) ? bug as RaftPlantedBug : undefined;
