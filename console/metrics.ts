/**
 * GET /metrics: a few of etcd's Prometheus metrics, in the text format, under etcd's names where
 * etcd has one (watchers, slow watchers, leader, revision, size) and concord_ for Concord's own,
 * then what the member's metrics registry holds (metrics/: the limits' refusals).
 *
 * Owns: these gauges' names and their rendering. Never: counts anything itself.
 */
import type { ApiMember } from "../member/client_api.ts";

type Metric = { name: string; help: string; value: number };

function render(metrics: Metric[]): string {
  return metrics.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} gauge\n${m.name} ${m.value}\n`).join("");
}

export function metricsText(member: ApiMember, sseStreams: number): string {
  const status = member.status();
  return render([
    { name: "etcd_debugging_mvcc_watcher_total", help: "Total number of watchers.", value: member.watches.size },
    { name: "etcd_debugging_mvcc_slow_watcher_total", help: "Total number of unsynced slow watchers.", value: member.watches.catchingUp },
    { name: "etcd_server_has_leader", help: "Whether or not a leader exists. 1 is existence, 0 is not.", value: status.leader === 0n ? 0 : 1 },
    { name: "etcd_debugging_mvcc_current_revision", help: "The current revision of store.", value: status.revision },
    { name: "etcd_mvcc_db_total_size_in_bytes", help: "Total size of the underlying database physically allocated in bytes.", value: status.dbSizeBytes },
    { name: "concord_sse_watch_streams", help: "Open Server-Sent Events watch streams.", value: sseStreams },
    { name: "concord_raft_log_memory_bytes", help: "Data bytes of the log entries the Raft core holds in memory.", value: status.raftLogMemoryBytes },
    { name: "concord_raft_log_entries", help: "Log entries the Raft core holds in memory.", value: status.raftLogEntries },
    { name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", value: process.memoryUsage().rss },
  ]) + member.metrics.text();
}
