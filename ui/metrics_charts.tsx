/**
 * Live charts on the cluster page, from this member's /metrics under etcd's names: requests per
 * second (gRPC calls handled and gateway calls), the state's commit latency and the log's fsync
 * latency (each second's mean, from etcd_disk_backend_commit_duration_seconds and
 * etcd_disk_wal_fsync_duration_seconds), and leader changes seen — the last minute, a scrape a
 * second.
 *
 * Owns: the charts and their scrapes. Never: keeps more than a minute.
 */
import { signal, useSignalEffect } from "@preact/signals";
import { meanMs, metricSums, ratePerSecond, type Scrape } from "./metrics_text.ts";

const POINTS_MAX = 60;
const SCRAPE_MS = 1_000;

interface Chart {
  id: string;
  title: string;
  unit: string;
  points: (number | undefined)[];
}

const charts = signal<Chart[]>([]);
const scrapeError = signal<string | undefined>(undefined);
let last: Scrape | undefined;

function push(points: (number | undefined)[], value: number | undefined): (number | undefined)[] {
  return [...points, value].slice(-POINTS_MAX);
}

async function scrape(): Promise<void> {
  let text: string;
  try {
    const r = await fetch("/metrics", { signal: AbortSignal.timeout(900) });
    text = await r.text();
    scrapeError.value = r.ok ? undefined : `/metrics answered ${r.status}`;
  } catch (e) {
    scrapeError.value = `/metrics: ${(e as Error).message}`;
    return;
  }
  const now: Scrape = { at: performance.now(), sums: metricSums(text) };
  const before = last;
  last = now;
  if (!before) return;
  const [requests, commit, fsync, leaders] = charts.value.length === 4 ? charts.value : [
    { id: "requests", title: "requests/s", unit: "/s", points: [] },
    { id: "commit", title: "state commit latency", unit: " ms", points: [] },
    { id: "fsync", title: "log fsync latency", unit: " ms", points: [] },
    { id: "leader-changes", title: "leader changes seen", unit: "", points: [] },
  ] as Chart[];
  charts.value = [
    { ...requests, points: push(requests.points, ratePerSecond(before, now, ["grpc_server_handled_total", "concord_gateway_requests_total"])) },
    { ...commit, points: push(commit.points, meanMs(before, now, "etcd_disk_backend_commit_duration_seconds")) },
    { ...fsync, points: push(fsync.points, meanMs(before, now, "etcd_disk_wal_fsync_duration_seconds")) },
    { ...leaders, points: push(leaders.points, now.sums.get("etcd_server_leader_changes_seen_total")) },
  ];
}

const WIDTH = 240;
const HEIGHT = 48;

function shown(value: number | undefined, unit: string): string {
  if (value === undefined) return "–";
  return `${value >= 100 || Number.isInteger(value) ? Math.round(value) : value.toFixed(value >= 10 ? 1 : 2)}${unit}`;
}

function Sparkline({ chart }: { chart: Chart }) {
  const known = chart.points.filter((p): p is number => p !== undefined);
  const top = Math.max(1e-9, ...known);
  const step = WIDTH / (POINTS_MAX - 1);
  const offset = POINTS_MAX - chart.points.length;
  const points = chart.points.flatMap((p, i) => (p === undefined ? [] : [`${((offset + i) * step).toFixed(1)},${(HEIGHT - 2 - (p / top) * (HEIGHT - 4)).toFixed(1)}`]));
  return (
    <div class="card" data-chart={chart.id}>
      <div class="muted">{chart.title}</div>
      <div class="big" data-testid="value">{shown(chart.points.at(-1), chart.unit)}</div>
      <svg width={WIDTH} height={HEIGHT} data-testid="chart" data-points={points.length} aria-label={`${chart.title}, the last minute`}>
        <polyline points={points.join(" ")} fill="none" stroke="var(--accent)" stroke-width="1.5" />
      </svg>
      <div class="muted">max {shown(known.length ? Math.max(...known) : undefined, chart.unit)}</div>
    </div>
  );
}

export function MetricsCharts() {
  useSignalEffect(() => {
    void scrape();
    const timer = setInterval(scrape, SCRAPE_MS);
    return () => clearInterval(timer);
  });
  return (
    <div>
      <h3>This member, the last minute</h3>
      {scrapeError.value && <div class="error" role="alert">{scrapeError.value}</div>}
      <div class="cards" data-testid="charts">{charts.value.map((c) => <Sparkline key={c.id} chart={c} />)}</div>
    </div>
  );
}
