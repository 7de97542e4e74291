/**
 * The metrics registry renders Prometheus' text format as a scraper parses it: HELP and TYPE lines,
 * one sample per label set with labels sorted and escaped, counters that add up, values read
 * elsewhere at render time, and no name taken twice.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LimitRefusals } from "../../metrics/limit_refusals.ts";
import { exponentialBuckets, Metrics } from "../../metrics/registry.ts";

test("metrics > counters and gauges in Prometheus' text format", () => {
  const metrics = new Metrics();
  const requests = metrics.counter("concord_test_requests_total", "Requests.\nSecond line \\ here.", true);
  metrics.counter("concord_test_failures_total", "Failures.");
  requests.inc({ method: "Range", code: "OK" });
  requests.inc({ code: "OK", method: "Range" }, 2);
  requests.inc({ method: "Put", code: 'say "no"\n' });
  let open = 3;
  metrics.gauge("concord_test_open", "Open things.", () => open);
  metrics.gauge("concord_test_by_kind", "By kind.", () => [[{ kind: "a" }, 1], [{ kind: "b" }, 2]]);
  open = 4;
  assert.equal(metrics.text(), [
    "# HELP concord_test_requests_total Requests.\\nSecond line \\\\ here.",
    "# TYPE concord_test_requests_total counter",
    'concord_test_requests_total{code="OK",method="Range"} 3',
    'concord_test_requests_total{code="say \\"no\\"\\n",method="Put"} 1',
    "# HELP concord_test_failures_total Failures.",
    "# TYPE concord_test_failures_total counter",
    "concord_test_failures_total 0",
    "# HELP concord_test_open Open things.",
    "# TYPE concord_test_open gauge",
    "concord_test_open 4",
    "# HELP concord_test_by_kind By kind.",
    "# TYPE concord_test_by_kind gauge",
    'concord_test_by_kind{kind="a"} 1',
    'concord_test_by_kind{kind="b"} 2',
    "",
  ].join("\n"));
  assert.throws(() => metrics.counter("concord_test_open", "again"), /taken/);
  assert.throws(() => metrics.counter("not a name", "x"), /not a metric name/);
});

test("metrics > a histogram: cumulative buckets with Go's bounds, then +Inf, sum and count", () => {
  const metrics = new Metrics();
  const h = metrics.histogram("concord_test_seconds", "Seconds.", exponentialBuckets(0.0001, 2, 3));
  h.observe(0.00005);
  h.observe(0.0003);
  h.observe(5, { to: "b" });
  assert.equal(metrics.text(), [
    "# HELP concord_test_seconds Seconds.",
    "# TYPE concord_test_seconds histogram",
    'concord_test_seconds_bucket{le="0.0001"} 1',
    'concord_test_seconds_bucket{le="0.0002"} 1',
    'concord_test_seconds_bucket{le="0.0004"} 2',
    'concord_test_seconds_bucket{le="+Inf"} 2',
    "concord_test_seconds_sum 0.00035",
    "concord_test_seconds_count 2",
    'concord_test_seconds_bucket{le="0.0001",to="b"} 0',
    'concord_test_seconds_bucket{le="0.0002",to="b"} 0',
    'concord_test_seconds_bucket{le="0.0004",to="b"} 0',
    'concord_test_seconds_bucket{le="+Inf",to="b"} 1',
    'concord_test_seconds_sum{to="b"} 5',
    'concord_test_seconds_count{to="b"} 1',
    "",
  ].join("\n"));
});

test("metrics > limit refusals: counted here and on other threads, by the limit's name", () => {
  const metrics = new Metrics();
  const refusals = new LimitRefusals(metrics);
  let elsewhere = 0;
  refusals.countedElsewhere("CLIENT_PORT_CONNECTIONS_MAX", () => elsewhere);
  refusals.count("LEASES_MAX");
  refusals.count("LEASES_MAX");
  elsewhere = 5;
  assert.equal(refusals.refused("LEASES_MAX"), 2);
  assert.equal(refusals.refused("CLIENT_PORT_CONNECTIONS_MAX"), 5);
  assert.match(metrics.text(), /^concord_limit_refusals_total\{limit="LEASES_MAX"\} 2$/m);
  assert.match(metrics.text(), /^concord_limit_refusals_total\{limit="CLIENT_PORT_CONNECTIONS_MAX"\} 5$/m);
});
