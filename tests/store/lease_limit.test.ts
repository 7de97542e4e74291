/**
 * Leases are bounded: a cluster holds at most LEASES_MAX; a grant past it is refused as it
 * applies (so every member refuses the same one) with RESOURCE_EXHAUSTED, nothing granted, and a
 * revoke frees a place.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LEASES_MAX } from "../../config/limits.ts";
import { Errors, isEtcdError } from "../../etcd/errors.ts";
import { memoryState } from "../../testkit/state.ts";

test("lease limit > the grant past LEASES_MAX is refused at apply; a revoke frees a place", async () => {
  const { sm, leases } = await memoryState();
  let index = 0;
  const apply = (command: Parameters<typeof sm.apply>[0][number]["command"]) => sm.apply([{ index: ++index, command }])[0];
  sm.openBatch();
  for (let id = 1n; id <= BigInt(LEASES_MAX); id++) apply({ op: "leaseGrant", id, ttl: 60 });
  assert.equal(leases.size, LEASES_MAX);
  assert.equal(apply({ op: "leaseGrant", id: BigInt(LEASES_MAX) + 1n, ttl: 60 }), Errors.tooManyLeases);
  assert.equal(leases.exists(BigInt(LEASES_MAX) + 1n), false);
  assert.equal(Errors.tooManyLeases.code, 8);
  apply({ op: "leaseRevoke", id: 1n });
  assert.ok(!isEtcdError(apply({ op: "leaseGrant", id: BigInt(LEASES_MAX) + 1n, ttl: 60 })));
  assert.equal(leases.exists(BigInt(LEASES_MAX) + 1n), true);
  sm.commit();
});
