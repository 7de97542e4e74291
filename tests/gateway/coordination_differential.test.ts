/**
 * Differential: etcd's lock and election services over the JSON gateway and over gRPC — one
 * scenario (testkit/coordination_scenario.ts: contended locks, a lock on a missing lease, waiting
 * campaigns, proclamations and resignations by a leader and by one that lost, an observer) run
 * against Debian's etcd 3.4 and against Concord, each fresh per transport; the transcripts must
 * be equal once ids and terms are masked.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { gatewayTransport, grpcTransport, runCoordinationScenario, type Transport } from "../../testkit/coordination_scenario.ts";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";

async function both(transport: (server: ServerProcess) => Transport) {
  const [etcd, concord] = await Promise.all([startEtcd(), startConcord({ name: "coordination" })]);
  const transports = [transport(etcd), transport(concord)];
  try {
    const [expected, actual] = await Promise.all([runCoordinationScenario(transports[0], etcd.url), runCoordinationScenario(transports[1], concord.url)]);
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) assert.deepEqual(actual[i], expected[i], `step ${i}: ${expected[i]?.step}`);
  } finally {
    for (const t of transports) t.close();
    await Promise.all([etcd.stop(), concord.stop()]);
  }
}

test("coordination differential > lock and election over the JSON gateway answer as etcd's", () => both((s) => gatewayTransport(s.url)));

test("coordination differential > lock and election over gRPC answer as etcd's", () => both((s) => grpcTransport(s.url.replace("http://", ""))));
