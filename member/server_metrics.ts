/**
 * etcd's server, disk and mvcc metrics for one member, under etcd 3.4's names, types, help texts
 * and buckets, so a dashboard or an alert made for etcd reads them: leader (has, is, changes seen),
 * proposals (committed, applied, pending, failed), the log's sync, the state's commit and peers'
 * round trips (heartbeat to answer: the leader's view; etcd probes from every member) as
 * histograms, the database's size and quota, the number of keys and watchers, the revision, the member's
 * id and version — and Concord's own: what the Raft core holds of the log in memory.
 *
 * Owns: registering them and what each reads. Never: observes or counts by itself — the member
 * hands it each sync, commit, failed proposal and leader it sees.
 */
import { ETCD_SERVER_VERSION } from "../config/defaults.ts";
import { type Counter, exponentialBuckets, type Histogram, type Metrics } from "../metrics/registry.ts";

export interface ServerMetricsSource {
  /** This member's id, hex. */
  readonly id: string;
  /** The leader's id ("" while there is none), and whether it is this member. */
  leader(): string;
  isLeader(): boolean;
  /** Raft's commit and applied indexes (etcd's proposals committed and applied). */
  committedIndex(): number;
  appliedIndex(): number;
  /** Proposals waiting to be applied. */
  pendingProposals(): number;
  dbSizeBytes(): { total: number; inUse: number };
  /** --quota-backend-bytes (undefined: none, which etcd shows as 0). */
  quotaBytes(): number | undefined;
  liveKeys(): number;
  watchers(): { total: number; catchingUp: number };
  revision(): number;
  /** What the Raft core holds of the log in memory. */
  raftLog(): { bytes: number; entries: number };
}

export interface ServerMetrics {
  readonly leaderChanges: Counter;
  readonly proposalsFailed: Counter;
  /** Seconds each batch of log entries took to be made durable (etcd's WAL fsync). */
  readonly logSync: Histogram;
  /** Seconds each commit of the state's batch took (etcd's backend commit). */
  readonly stateCommit: Histogram;
  /** Seconds from a heartbeat to a peer (label To, its id) to its answer, as the leader sees them. */
  readonly peerRoundTrip: Histogram;
}

export function serverMetrics(metrics: Metrics, source: ServerMetricsSource): ServerMetrics {
  metrics.gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", () => (source.leader() === "" ? 0 : 1));
  metrics.gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.", () => (source.isLeader() ? 1 : 0));
  const leaderChanges = metrics.counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen.");
  metrics.gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.", source.committedIndex);
  metrics.gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.", source.appliedIndex);
  metrics.gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.", source.pendingProposals);
  const proposalsFailed = metrics.counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.");
  metrics.gauge("etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", () => [[{ server_id: source.id }, 1]]);
  metrics.gauge("etcd_server_version", "Which version is running. 1 for 'server_version' label with current version.", () => [[{ server_version: ETCD_SERVER_VERSION }, 1]]);
  const logSync = metrics.histogram(
    "etcd_disk_wal_fsync_duration_seconds", "The latency distributions of fsync called by WAL.", exponentialBuckets(0.001, 2, 14),
  );
  const stateCommit = metrics.histogram(
    "etcd_disk_backend_commit_duration_seconds", "The latency distributions of commit called by backend.", exponentialBuckets(0.001, 2, 14),
  );
  const peerRoundTrip = metrics.histogram(
    "etcd_network_peer_round_trip_time_seconds", "Round-Trip-Time histogram between peers", exponentialBuckets(0.0001, 2, 16),
  );
  metrics.gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.", () => source.quotaBytes() ?? 0);
  metrics.gauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.", () => source.dbSizeBytes().total);
  metrics.gauge("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.", () => source.dbSizeBytes().inUse);
  metrics.gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.", source.liveKeys);
  metrics.gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.", () => source.watchers().total);
  metrics.gauge("etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.", () => source.watchers().catchingUp);
  metrics.gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.", source.revision);
  metrics.gauge("concord_raft_log_memory_bytes", "Data bytes of the log entries the Raft core holds in memory.", () => source.raftLog().bytes);
  metrics.gauge("concord_raft_log_entries", "Log entries the Raft core holds in memory.", () => source.raftLog().entries);
  metrics.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", () => process.memoryUsage().rss);
  return { leaderChanges, proposalsFailed, logSync, stateCommit, peerRoundTrip };
}
