/**
 * The writes waiting on this member to be applied: its own proposals as leader (by log index,
 * with the command so applying it needs no decoding) and the writes followers handed it (by index,
 * counted until applied). One count of them all is held against the proposal limit; each waits at
 * most the request timeout.
 *
 * Owns: the waiting, the count and the deadlines. Never: proposes (the member does, through the
 * Raft core) or applies; the writes this member handed to a leader wait in forwarded_writes.ts.
 */
import type { Command, CommandResult } from "../etcd/commands.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import type { EtcdError } from "../etcd/errors.ts";

type Waiting = { term: number; resolve: (r: CommandResult) => void; reject: (e: unknown) => void; deadline: number };

export class Proposals {
  readonly #timeoutMs: number;
  /** Proposals this member made as leader, by log index, waiting for their entry to be applied. */
  readonly #waiting = new Map<number, Waiting>();
  /** Commands this member proposed, by index, so applying them needs no decoding. */
  readonly #commands = new Map<number, { term: number; command: Command }>();
  /** Writes followers handed to this member as leader, by log index, with their deadline. */
  readonly #accepted = new Map<number, number>();

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** How many wait here; the member adds the writes it handed over. */
  get size(): number {
    return this.#waiting.size + this.#accepted.size;
  }

  /** Waits for the entry this member proposed at `index` in `term` (with its command, if it is one). */
  await(index: number, term: number, command?: Command): Promise<CommandResult> {
    if (command) this.#commands.set(index, { term, command });
    else this.#commands.delete(index);
    return new Promise((resolve, reject) => {
      this.#waiting.set(index, { term, resolve, reject, deadline: performance.now() + this.#timeoutMs });
    });
  }

  /** A follower's write placed at `index`: it counts until applied or due. */
  accepted(index: number): void {
    this.#accepted.set(index, performance.now() + this.#timeoutMs);
  }

  /** The command this member proposed at `index`, if the entry applied there is still it. */
  takeCommand(index: number, term: number): Command | undefined {
    const own = this.#commands.get(index);
    this.#commands.delete(index);
    // Only if the entry is still ours: a later leader may have put another one at this index.
    return own && own.term === term ? own.command : undefined;
  }

  /** The entry at `index` (of `term`) was applied with `result`: its proposer gets it. */
  applied(index: number, term: number, result: CommandResult): void {
    this.#accepted.delete(index);
    const waiting = this.#waiting.get(index);
    if (!waiting) return;
    this.#waiting.delete(index);
    // Another leader's entry took this index: the proposal was lost with the old leadership.
    waiting.resolve(waiting.term === term ? result : MemberErrors.leaderChanged);
  }

  /** Answers every proposal whose deadline passed with etcd's timeout; forgets accepted ones due. */
  expire(now: number): void {
    for (const [index, w] of this.#waiting) {
      if (w.deadline > now) break;
      this.#waiting.delete(index);
      w.resolve(MemberErrors.timeout);
    }
    for (const [index, deadline] of this.#accepted) {
      if (deadline > now) break;
      this.#accepted.delete(index);
    }
  }

  /** Answers every waiting proposal with `error` (the member stopped: their outcome is not known here). */
  failAll(error: EtcdError): void {
    for (const w of this.#waiting.values()) w.resolve(error);
    this.#waiting.clear();
  }
}
