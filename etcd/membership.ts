/**
 * etcd's cluster calls as the member takes them, whichever surface or peer they came from.
 *
 * Owns: the shapes of a membership change and its answer. Never: the rules (member/membership.ts).
 */
import type { MemberRecord } from "./types.ts";

export type MembershipRequest =
  | { op: "add"; peerUrls: string[]; isLearner: boolean }
  | { op: "remove"; id: string }
  | { op: "update"; id: string; peerUrls: string[] }
  | { op: "promote"; id: string };

/** The member the call was about (add answers it) and every member after the change. */
export interface MembershipResult {
  member?: MemberRecord;
  members: MemberRecord[];
}
