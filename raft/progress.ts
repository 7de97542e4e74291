/**
 * What a leader knows of each follower's log: how far it matches, what to send next, and how many
 * appends are in flight — etcd-io/raft's Progress, reduced to probe and replicate states.
 *
 * Owns: per-follower flow control. Never: sends anything itself.
 */

export class Progress {
  /** The highest index known to match the leader's log. */
  match = 0;
  /** The next index to send. */
  next: number;
  /**
   * probe: one append at a time until a match is found; replicate: pipeline appends; snapshot: a
   * snapshot is on its way, nothing else is sent until the follower answers it.
   */
  state: "probe" | "replicate" | "snapshot" = "probe";
  /** In snapshot state: the index of the snapshot sent, and ticks since. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** In probe state, an append is out and unanswered. */
  probeSent = false;
  /** Last indexes of appends in flight, oldest first (replicate state). */
  readonly inflight: number[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = false;

  constructor(next: number, readonly maxInflight: number) {
    this.next = next;
  }

  get paused(): boolean {
    if (this.state === "snapshot") return true;
    return this.state === "probe" ? this.probeSent : this.inflight.length >= this.maxInflight;
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.inflight.length = 0;
  }

  becomeProbe(): void {
    // After a snapshot, probe from past it (the follower has at least that much, or will say).
    this.next = this.state === "snapshot" ? Math.max(this.match, this.pendingSnapshot) + 1 : this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.inflight.length = 0;
  }

  /**
   * The follower answered a heartbeat: it is alive. A probe may go out again, and a full window of
   * appends (which may all have been lost) frees one slot, so the next append finds out where the
   * follower really is.
   */
  heartbeatAnswered(freeSlot = true): void {
    this.probeSent = false;
    if (freeSlot && this.state === "replicate" && this.inflight.length >= this.maxInflight) this.inflight.shift();
  }

  /** An append up to `last` went out. */
  sent(last: number): void {
    if (this.state === "replicate") {
      this.next = last + 1;
      this.inflight.push(last);
    } else {
      this.probeSent = true;
    }
  }

  /** The follower acked up to `index`; answers whether that was news. */
  acked(index: number): boolean {
    this.probeSent = false;
    while (this.inflight.length > 0 && this.inflight[0] <= index) this.inflight.shift();
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    return true;
  }

  /**
   * The follower rejected an append at `rejected`; it suggests `hint`. Answers whether the
   * rejection was current (not a stale answer to an older append).
   */
  rejectedAt(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(this.match + 1, Math.min(hint + 1, rejected));
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(this.match + 1, Math.min(hint + 1, rejected));
    this.probeSent = false;
    return true;
  }
}
