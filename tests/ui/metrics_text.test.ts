/**
 * The console's reading of /metrics: samples summed over their labels, a counter's rate between
 * two scrapes (none across a restart), a histogram's mean over the interval (none when nothing
 * was observed).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { meanMs, metricSums, ratePerSecond } from "../../ui/metrics_text.ts";

const TEXT = (handled: number, fsyncs: number, fsyncSeconds: number) => `# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} ${handled}
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
concord_gateway_requests_total 5
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} ${fsyncs}
etcd_disk_wal_fsync_duration_seconds_sum ${fsyncSeconds}
etcd_disk_wal_fsync_duration_seconds_count ${fsyncs}
`;

test("console metrics > summed over labels; rates and means between scrapes, none across a restart or with nothing observed", () => {
  const first = { at: 1_000, sums: metricSums(TEXT(90, 4, 0.004)) };
  assert.equal(first.sums.get("grpc_server_handled_total"), 100);
  const second = { at: 3_000, sums: metricSums(TEXT(290, 14, 0.034)) };
  assert.equal(ratePerSecond(first, second, ["grpc_server_handled_total", "concord_gateway_requests_total"]), 100);
  assert.ok(Math.abs(meanMs(first, second, "etcd_disk_wal_fsync_duration_seconds")! - 3) < 1e-9);
  assert.equal(meanMs(second, second, "etcd_disk_wal_fsync_duration_seconds"), undefined);
  const restarted = { at: 4_000, sums: metricSums(TEXT(0, 0, 0)) };
  assert.equal(ratePerSecond(second, restarted, ["grpc_server_handled_total"]), undefined);
});
