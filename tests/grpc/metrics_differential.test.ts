/**
 * /metrics against Debian's etcd 3.4: the same requests to a fresh one-member etcd and a fresh
 * Concord member (puts and a range over gRPC), then both scraped and parsed as Prometheus parses
 * them. Every metric of etcd's that Concord serves has etcd's type and help text (histograms
 * etcd's buckets), and where the two mean the same thing the same value: a leader, this member
 * leads, one leader change seen, the keys, no proposal pending or failed, the version, and the
 * gRPC calls counted by service, method, type and code.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EtcdGrpcClient } from "../../testkit/grpc_client.ts";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";

type Family = { type: string; help: string; samples: Map<string, number> };

/** Prometheus' text format, as a scraper reads it: families by name, samples by name and labels. */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = { type: "untyped", help: "", samples: new Map() });
    return f;
  };
  for (const line of text.split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "HELP") family(meta[2]).help = meta[3];
      else family(meta[2]).type = meta[3];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const base = sample[1].replace(/_(bucket|sum|count)$/, "");
    const owner = families.has(sample[1]) ? sample[1] : base;
    family(owner).samples.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3]));
  }
  return families;
}

/** The metrics of etcd's that Concord serves. */
const SHARED = [
  "etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_leader_changes_seen_total", "etcd_server_proposals_committed_total",
  "etcd_server_proposals_applied_total", "etcd_server_proposals_pending", "etcd_server_proposals_failed_total", "etcd_server_id",
  "etcd_server_version", "etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds",
  "etcd_mvcc_db_total_size_in_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes", "etcd_debugging_mvcc_keys_total",
  "etcd_debugging_mvcc_watcher_total", "etcd_debugging_mvcc_slow_watcher_total", "etcd_debugging_mvcc_current_revision",
  "grpc_server_started_total", "grpc_server_handled_total", "process_resident_memory_bytes", "etcd_server_quota_backend_bytes",
];

let etcd: ServerProcess;
let concord: ServerProcess;
const scraped = new Map<string, Map<string, Family>>();

before(async () => {
  [etcd, concord] = await Promise.all([startEtcd("metrics-etcd"), startConcord({ name: "metrics" })]);
  for (const [side, server] of [["etcd", etcd], ["concord", concord]] as const) {
    const client = new EtcdGrpcClient(`127.0.0.1:${new URL(server.url).port}`);
    try {
      for (const key of ["a", "b", "c"]) assert.ok("ok" in await client.call("KV", "Put", { key: Buffer.from(key), value: Buffer.from("v") }));
      assert.ok("ok" in await client.call("KV", "Range", { key: Buffer.from("a") }));
    } finally {
      client.close();
    }
    scraped.set(side, parse(await (await fetch(`${server.url}/metrics`)).text()));
  }
});

after(async () => {
  await Promise.all([etcd?.stop(), concord?.stop()]);
});

test("metrics > every metric of etcd's that Concord serves has etcd's type and help, histograms etcd's buckets", () => {
  const [e, c] = [scraped.get("etcd")!, scraped.get("concord")!];
  for (const name of SHARED) {
    const theirs = e.get(name);
    const ours = c.get(name);
    assert.ok(theirs, `etcd has no ${name}`);
    assert.ok(ours, `Concord has no ${name}`);
    assert.equal(ours.type, theirs.type, `${name}'s type`);
    assert.equal(ours.help, theirs.help, `${name}'s help`);
    if (theirs.type === "histogram") {
      const bounds = (f: Family) => [...f.samples.keys()].flatMap((k) => /le="([^"]+)"/.exec(k)?.[1] ?? []).sort();
      assert.deepEqual(bounds(ours), bounds(theirs), `${name}'s buckets`);
    }
  }
});

test("metrics > where they mean the same, Concord's values are etcd's", () => {
  const value = (side: string, name: string, sample = name) => scraped.get(side)!.get(name)?.samples.get(sample);
  const put = 'grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"}';
  const range = 'grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}';
  for (
    const [name, sample] of [
      ["etcd_server_has_leader"], ["etcd_server_is_leader"], ["etcd_server_leader_changes_seen_total"], ["etcd_server_proposals_pending"],
      ["etcd_server_proposals_failed_total"], ["etcd_debugging_mvcc_keys_total"], ["etcd_debugging_mvcc_watcher_total"],
      ["etcd_server_version", 'etcd_server_version{server_version="3.4.23"}'], ["grpc_server_handled_total", put],
      ["grpc_server_started_total", range], ["etcd_server_quota_backend_bytes"],
    ]
  ) {
    assert.equal(value("concord", name, sample), value("etcd", name, sample), `${sample ?? name}`);
  }
  assert.equal(value("concord", "etcd_debugging_mvcc_keys_total"), 3);
  // Each put was synced to the log and committed to the state: the histograms counted them.
  for (const name of ["etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"]) {
    assert.ok((value("concord", name, `${name}_count`) ?? 0) >= 1, `${name} counted nothing`);
  }
});
