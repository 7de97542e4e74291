/**
 * The maintenance flags' values as etcd reads them: --quota-backend-bytes and
 * --auto-compaction-mode / --auto-compaction-retention.
 *
 * Owns: what those flags mean and which values are refused, in etcd's words where etcd has them.
 * Never: parses the command line (flags.ts) or compacts anything (member/auto_compaction.ts).
 */
import { DEFAULT_QUOTA_BACKEND_BYTES } from "./defaults.ts";
import { goDurationMs } from "./go_duration.ts";
import { SNAPSHOT_BYTES_MAX } from "./limits.ts";

/** A flag's value and where it came from, named as etcd names it in an error. */
export type Given = { value: string; from: string };

/**
 * etcd's auto-compaction: `periodic` keeps `retentionMs` of history (compacting every retention, at
 * most hourly), `revision` keeps `retentionRevisions` revisions (checked every 5 minutes).
 */
export type AutoCompaction =
  | { mode: "periodic"; retentionMs: number }
  | { mode: "revision"; retentionRevisions: number };

/**
 * --quota-backend-bytes: 0 (or unset) is etcd's 2 GiB, below 0 no quota at all. Above
 * SNAPSHOT_BYTES_MAX it is refused (etcd only warns past 8 GiB): a state that large could not be
 * sent to a member as a snapshot.
 */
export function quotaBackendBytes(given: Given | undefined): number | undefined | string {
  if (!given) return DEFAULT_QUOTA_BACKEND_BYTES;
  if (!/^[+-]?\d+$/.test(given.value)) return `invalid value ${JSON.stringify(given.value)} for ${given.from}: parse error`;
  const bytes = Number(given.value);
  if (bytes < 0) return undefined;
  if (bytes === 0) return DEFAULT_QUOTA_BACKEND_BYTES;
  if (bytes > SNAPSHOT_BYTES_MAX) {
    return `--quota-backend-bytes ${bytes} is above ${SNAPSHOT_BYTES_MAX} bytes (8 GiB, etcd's largest advised): a state that large could not be sent to a member as a snapshot`;
  }
  return bytes;
}

/**
 * --auto-compaction-mode (periodic, the default, or revision) and --auto-compaction-retention:
 * a bare number is hours (periodic) or revisions (revision), else a Go duration; 0: none.
 */
export function autoCompaction(mode: Given | undefined, retention: Given | undefined): AutoCompaction | undefined | string {
  const modeName = mode?.value ?? "periodic";
  if (modeName !== "periodic" && modeName !== "revision") return `unknown auto-compaction-mode ${JSON.stringify(modeName)}`;
  const text = retention?.value ?? "0";
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n === 0) return undefined;
    return modeName === "revision" ? { mode: "revision", retentionRevisions: n } : { mode: "periodic", retentionMs: n * 3_600_000 };
  }
  if (/^-\d+$/.test(text)) return `error parsing CompactionRetention: time: missing unit in duration ${JSON.stringify(text)}`;
  // etcd takes a negative duration, then compacts in a busy loop.
  if (text.startsWith("-")) return `--auto-compaction-retention ${JSON.stringify(text)} must not be negative`;
  const ms = goDurationMs(text);
  if (ms === undefined) return `error parsing CompactionRetention: time: invalid duration ${JSON.stringify(text)}`;
  if (ms === 0) return undefined;
  // etcd reads a duration in revision mode as that many nanoseconds' worth of revisions.
  return modeName === "revision" ? { mode: "revision", retentionRevisions: Math.round(ms * 1e6) } : { mode: "periodic", retentionMs: ms };
}
