/**
 * etcd's corruption checks: members compare etcd's HashKV of their key spaces at one revision. At
 * start-up (--experimental-initial-corrupt-check) a member asks its peers for the hash at its own
 * revision and does not serve if one with the same compacted revision differs; every
 * --experimental-corrupt-check-time the leader asks each follower for the hash at the leader's
 * revision and raises the CORRUPT alarm — cluster-wide, through the log — for a follower whose hash
 * differs with the same compacted revision (one per round, as etcd). A peer that cannot answer
 * (unreachable, behind that revision, compacted past it) is skipped with a warning.
 *
 * Owns: which hashes are compared and what a difference means. Never: hashes (the store does),
 * asks peers itself (peer/hashkv.ts) or applies an alarm (the state machine does).
 */
import type { EtcdError } from "../etcd/errors.ts";
import type { PeerKvHash } from "../peer/hashkv.ts";

export interface CorruptionCheckHooks {
  readonly self: string;
  /** The other members, by id (hex). */
  peers(): string[];
  /** This member's HashKV at `revision` (0: now). */
  local(revision: number): PeerKvHash | EtcdError;
  /** A peer's HashKV at `revision`, or why it could not be had. */
  ask(peer: string, revision: number): Promise<PeerKvHash | { error: string }>;
  leads(): boolean;
  /** Whether CORRUPT is raised for `member` already. */
  raised(member: string): boolean;
  /** Raises CORRUPT for `member` through the log. */
  raise(member: string): Promise<unknown>;
  log(line: string): void;
}

export class CorruptionCheck {
  readonly #hooks: CorruptionCheckHooks;
  #running = false;

  constructor(hooks: CorruptionCheckHooks) {
    this.#hooks = hooks;
  }

  /** The peers' hashes at `revision`, each with who answered; those that could not are warned of. */
  async #peerHashes(revision: number, compactRevision: number): Promise<{ peer: string; hash: PeerKvHash }[]> {
    const answers = await Promise.all(this.#hooks.peers().map(async (peer) => ({ peer, answer: await this.#hooks.ask(peer, revision) })));
    const out: { peer: string; hash: PeerKvHash }[] = [];
    for (const { peer, answer } of answers) {
      if ("error" in answer) this.#hooks.log(`cannot check the hash of peer ${peer} at revision ${revision}: ${answer.error}`);
      else if (answer.compactRevision !== compactRevision) {
        this.#hooks.log(`cannot check the hash of peer ${peer}: it has a different compact revision ${answer.compactRevision} (revision ${revision})`);
      } else out.push({ peer, hash: answer });
    }
    return out;
  }

  /** etcd's initial check: why this member must not serve (its state differs from a peer's), or undefined. */
  async initial(): Promise<string | undefined> {
    const own = this.#hooks.local(0);
    if ("message" in own) return `${this.#hooks.self} cannot hash its own state: ${own.message}`;
    let mismatches = 0;
    for (const { peer, hash } of await this.#peerHashes(own.revision, own.compactRevision)) {
      if (hash.hash === own.hash) continue;
      this.#hooks.log(`${this.#hooks.self}'s hash ${own.hash} != ${peer}'s hash ${hash.hash} (revision ${own.revision}, peer revision ${hash.revision}, compact revision ${own.compactRevision})`);
      mismatches++;
    }
    if (mismatches > 0) return `${this.#hooks.self} found data inconsistency with peers`;
    this.#hooks.log(`${this.#hooks.self} passed the initial corruption check (revision ${own.revision})`);
    return undefined;
  }

  /** One round of the leader's periodic check; rounds never overlap, and followers skip them. */
  async periodic(): Promise<void> {
    if (this.#running || !this.#hooks.leads()) return;
    this.#running = true;
    try {
      const own = this.#hooks.local(0);
      if ("message" in own) return;
      for (const { peer, hash } of await this.#peerHashes(own.revision, own.compactRevision)) {
        if (hash.hash === own.hash || this.#hooks.raised(peer)) continue;
        this.#hooks.log(`the hash of member ${peer} (${hash.hash}) differs from the leader's (${own.hash}) at revision ${own.revision}: raising CORRUPT`);
        await this.#hooks.raise(peer);
        return;
      }
    } finally {
      this.#running = false;
    }
  }
}
