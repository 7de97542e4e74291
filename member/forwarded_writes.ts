/**
 * A follower's writes, handed to the leader: each carries a request id in its entry, and the
 * follower answers the writer once it applies that entry itself, with what applying it gave.
 * Writes forwarded in one turn of the event loop travel together (peer/propose.ts) — one frame on
 * the stream to the leader (Bun), or one request at a time over HTTP, each at most a batch's bound.
 * The leader answers where it placed each, so a write whose index another entry took is known lost
 * at once rather than at its deadline.
 *
 * Owns: the waiting writes, their deadlines and placements. Never: proposes (the leader does) or
 * applies (the member does, and reports each applied entry here).
 */
import { type Command, type CommandResult, encodeCommand } from "../etcd/commands.ts";
import type { NodeId } from "../raft/types.ts";
import { PEER_PROPOSALS_BATCH_BYTES_MAX, PEER_PROPOSALS_PER_BATCH_MAX } from "../config/limits.ts";
import { proposeAtLeader } from "../peer/propose.ts";
import { type ForwardedProposal, type Placement, REFUSED_BUSY, REFUSED_NOT_LEADER, type StreamFrame } from "../peer/types.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import type { EtcdError } from "../etcd/errors.ts";

/**
 * Request ids must never repeat, not even across a restart: entries this member forwarded before
 * a crash may still arrive and must not answer new writers.
 */
const INCARNATION = crypto.randomUUID();

type Waiting = { resolve: (r: CommandResult) => void; reject: (e: unknown) => void; deadline: number };

export interface ForwardingHooks {
  self: NodeId;
  clusterToken: string;
  /** What a request to the leader adds to its RequestInit (TLS). */
  peerInit: Record<string, unknown>;
  timeoutMs: number;
  /** The leader now, and its peer URLs (undefined while there is none). */
  leader(): { id: NodeId; urls: string[] } | undefined;
  /** Sends a frame on the stream to `to`; false when there is no open stream. */
  sendFrame(to: NodeId, frame: StreamFrame): boolean;
  appliedIndex(): number;
}

export class ForwardedWrites {
  readonly #hooks: ForwardingHooks;
  /** By request id, in the order forwarded (so by deadline). */
  readonly #waiting = new Map<string, Waiting>();
  /** Where the leader placed each: index → request id. */
  readonly #placedAt = new Map<number, string>();
  #queue: ForwardedProposal[] = [];
  #requesting = false;
  #seq = 0;

  constructor(hooks: ForwardingHooks) {
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#waiting.size;
  }

  forward(command: Command): Promise<CommandResult> {
    const rid = `${this.#hooks.self}-${INCARNATION}-${++this.#seq}`;
    return new Promise((resolve, reject) => {
      this.#waiting.set(rid, { resolve, reject, deadline: performance.now() + this.#hooks.timeoutMs });
      this.#queue.push({ rid, data: encodeCommand(command, rid) });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** The member applied the entry at `index`, carrying request `rid` (if any), with `result`. */
  applied(index: number, rid: string | undefined, result: CommandResult): void {
    if (rid !== undefined) this.#settle(rid, result);
    const expected = this.#placedAt.get(index);
    if (expected === undefined) return;
    this.#placedAt.delete(index);
    // Another entry took the index the leader gave this write: it was lost with that leadership.
    this.#settle(expected, MemberErrors.leaderChanged);
  }

  /** Where the leader placed writes handed to it (index 0: it did not lead; -1: it had too many waiting). */
  placed(placements: readonly Placement[]): void {
    for (const p of placements) this.#placed(p.rid, p.index, true);
  }

  /** Answers every write whose deadline passed with etcd's timeout. */
  expire(now: number): void {
    for (const [rid, w] of this.#waiting) {
      if (w.deadline > now) break;
      this.#settle(rid, MemberErrors.timeout);
    }
  }

  /** Answers every waiting proposal with `error` (the member stopped: their outcome is not known here). */
  failAll(error: EtcdError): void {
    for (const w of this.#waiting.values()) w.resolve(error);
    this.#waiting.clear();
  }

  #settle(rid: string, result: CommandResult): void {
    const w = this.#waiting.get(rid);
    if (!w) return;
    this.#waiting.delete(rid);
    w.resolve(result);
  }

  #placed(rid: string, index: number | undefined, hadLeader: boolean): void {
    if (!this.#waiting.has(rid)) return;
    if (index === REFUSED_BUSY) return this.#settle(rid, MemberErrors.tooManyRequests);
    if (index === undefined || index === REFUSED_NOT_LEADER) return this.#settle(rid, hadLeader ? MemberErrors.leaderChanged : MemberErrors.noLeader);
    // Applied already without being this write: the leader lost it.
    if (this.#hooks.appliedIndex() >= index) return this.#settle(rid, MemberErrors.leaderChanged);
    this.#placedAt.set(index, rid);
  }

  async #flush(): Promise<void> {
    if (this.#requesting || this.#queue.length === 0) return;
    // A batch is cut by count and by bytes, so no frame or request exceeds what the leader
    // accepts (checkLimits); it holds at least one write, however large.
    const batchLength = () => {
      let take = 0;
      for (let bytes = 0; take < this.#queue.length && take < PEER_PROPOSALS_PER_BATCH_MAX && bytes < PEER_PROPOSALS_BATCH_BYTES_MAX; take++) {
        bytes += this.#queue[take].data.byteLength;
      }
      return take;
    };
    const leader = this.#hooks.leader();
    if (leader) {
      while (this.#queue.length > 0) {
        const batch = this.#queue.slice(0, batchLength());
        if (!this.#hooks.sendFrame(leader.id, { kind: "propose", proposals: batch })) break;
        this.#queue.splice(0, batch.length);
      }
      if (this.#queue.length === 0) return;
    }
    this.#requesting = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, batchLength());
      const to = this.#hooks.leader();
      const placed = to
        ? await proposeAtLeader(to.urls[0], batch, { token: this.#hooks.clusterToken, from: this.#hooks.self, to: to.id, timeoutMs: this.#hooks.timeoutMs, init: this.#hooks.peerInit })
        : undefined;
      const at = new Map(placed?.map((p) => [p.rid, p.index]));
      for (const { rid } of batch) this.#placed(rid, at.get(rid), to !== undefined);
    }
    this.#requesting = false;
  }
}
