/**
 * A leader's linearizable reads in waiting (ReadIndex): those that arrived before the leader had
 * committed an entry of its own term, and those waiting for a quorum to confirm its leadership.
 *
 * Owns: the queues and their order — a quorum's answer to one read's heartbeat confirms every
 * read queued before it too. Never: sends or decides quorum size (the core does).
 */
import type { PlantedBug } from "./planted_bugs.ts";
import type { NodeId } from "./types.ts";

export type ReadRequest = { context: string; from: NodeId };
export type PendingRead = ReadRequest & { index: number; acks: Set<NodeId> };

export class ReadOnlyQueue {
  #pending: PendingRead[] = [];
  #awaitingCommit: ReadRequest[] = [];

  clear(): void {
    this.#pending = [];
    this.#awaitingCommit = [];
  }

  /** A read that must wait until the leader has committed an entry of its term. */
  awaitCommit(read: ReadRequest): void {
    this.#awaitingCommit.push(read);
  }

  takeAwaitingCommit(): ReadRequest[] {
    const waiting = this.#awaitingCommit;
    this.#awaitingCommit = [];
    return waiting;
  }

  add(read: PendingRead): void {
    this.#pending.push(read);
  }

  /** The newest waiting read's context, for heartbeats to carry ("" when none waits). */
  get lastContext(): string {
    return this.#pending.at(-1)?.context ?? "";
  }

  /**
   * A voter answered the heartbeat of read `context`; returns the reads now confirmed (that one
   * and every one before it) once `quorum` voters have.
   */
  ack(context: string, voter: NodeId, quorum: number, plantedBug?: PlantedBug): PendingRead[] {
    const at = this.#pending.findIndex((r) => r.context === context);
    if (at < 0) return [];
    this.#pending[at].acks.add(voter);
    if (this.#pending[at].acks.size < quorum) return [];
    return this.#pending.splice(0, plantedBug === "readAckConfirmsLater" ? this.#pending.length : at + 1);
  }
}
