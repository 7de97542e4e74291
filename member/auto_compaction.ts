/**
 * etcd's auto-compaction (--auto-compaction-mode, --auto-compaction-retention), run by the leader:
 * `periodic` samples the revision every tenth of the retention (of an hour at most) and, once a
 * retention has passed, compacts to the revision of a retention ago — then again every retention
 * (hourly at most); `revision` compacts to the current revision less the retention every 5 minutes.
 * Followers sample too (a new leader knows the history) but never compact.
 *
 * Owns: when to compact and to which revision, as etcd 3.4's compactor package decides. Never:
 * compacts (the member proposes it) or reads a clock of its own (it is handed one).
 */
import type { AutoCompaction } from "../config/maintenance.ts";
import { Errors, type EtcdError } from "../etcd/errors.ts";

/** How often revision mode looks, as etcd's revInterval, ms. */
export const REVISION_COMPACTION_CHECK_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;
/** Periodic mode samples the revision this many times per retention (etcd's retryDivisor). */
const SAMPLES_PER_RETENTION = 10;

export interface AutoCompactionHooks {
  revision(): number;
  leads(): boolean;
  /** Proposes a compaction to `revision`; settles with its error, if any, once applied. */
  compact(revision: number): Promise<EtcdError | undefined>;
  log(line: string): void;
  now(): number;
  /** Calls `fn` after `ms`; answers how to cancel it. */
  after(ms: number, fn: () => void): () => void;
}

/** A compaction that found its revision compacted already did what was asked (etcd counts it done). */
const done = (err: EtcdError | undefined) => err === undefined || err.message === Errors.compacted.message;

export class AutoCompactor {
  readonly #setting: AutoCompaction;
  readonly #hooks: AutoCompactionHooks;
  #cancel: (() => void) | undefined;
  #stopped = false;

  constructor(setting: AutoCompaction, hooks: AutoCompactionHooks) {
    this.#setting = setting;
    this.#hooks = hooks;
  }

  start(): void {
    if (this.#setting.mode === "periodic") this.#periodic(this.#setting.retentionMs);
    else this.#revision(this.#setting.retentionRevisions);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
  }

  #every(ms: number, fn: () => Promise<void> | void): void {
    const next = () => {
      this.#cancel = this.#hooks.after(ms, async () => {
        try {
          await fn();
        } catch (e) {
          this.#hooks.log(`auto-compaction failed: ${(e as Error).message}`);
        }
        if (!this.#stopped) next();
      });
    };
    next();
  }

  #periodic(retentionMs: number): void {
    const interval = Math.min(retentionMs, HOUR_MS);
    const sampleMs = interval / SAMPLES_PER_RETENTION;
    const keep = Math.floor(retentionMs / sampleMs) + 1;
    const samples = [this.#hooks.revision()];
    let lastSuccess = this.#hooks.now();
    // The first compaction waits a whole retention; later ones an interval (the retention, an hour at most).
    let wait = retentionMs;
    this.#every(sampleMs, async () => {
      if (this.#hooks.now() - lastSuccess >= wait && this.#hooks.leads()) {
        const revision = samples[0];
        wait = interval;
        this.#hooks.log(`starting auto-compaction at revision ${revision} (retention: ${retentionMs / 1000}s)`);
        const err = await this.#hooks.compact(revision);
        if (done(err)) {
          this.#hooks.log(`finished auto-compaction at revision ${revision}`);
          lastSuccess = this.#hooks.now();
        } else this.#hooks.log(`failed auto-compaction at revision ${revision}: ${err!.message}; retrying`);
      }
      samples.push(this.#hooks.revision());
      if (samples.length > keep) samples.shift();
    });
  }

  #revision(retention: number): void {
    let previous = 0;
    this.#every(REVISION_COMPACTION_CHECK_MS, async () => {
      const revision = this.#hooks.revision() - retention;
      if (revision <= 0 || revision === previous || !this.#hooks.leads()) return;
      this.#hooks.log(`starting auto-compaction at revision ${revision} (retention: ${retention} revisions)`);
      const err = await this.#hooks.compact(revision);
      if (done(err)) {
        previous = revision;
        this.#hooks.log(`finished auto-compaction at revision ${revision}`);
      } else this.#hooks.log(`failed auto-compaction at revision ${revision}: ${err!.message}; retrying`);
    });
  }
}
