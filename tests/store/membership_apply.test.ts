/**
 * Applying membership entries to the state: adds, promotions and removals land in the members
 * table, and a promotion of a member removed after it was proposed changes nothing (and says so,
 * so the Raft core's membership is left alone too).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Errors } from "../../etcd/errors.ts";
import { memoryState } from "../../testkit/state.ts";

const stateMachine = memoryState;

test("store > membership entries add, promote and remove members; a late promotion of a removed member is refused", async () => {
  const { members, sm } = await stateMachine();
  const results = sm.apply([
    { index: 1, command: { op: "conf", kind: "addVoter", id: "a1", peerUrls: ["http://127.0.0.1:1"] } },
    { index: 2, command: { op: "conf", kind: "addLearner", id: "b2", peerUrls: ["http://127.0.0.1:2"] } },
    { index: 3, command: { op: "publish", id: "b2", name: "b", clientUrls: ["http://127.0.0.1:12"] } },
    { index: 4, command: { op: "conf", kind: "addVoter", id: "b2", peerUrls: undefined } },
  ]);
  assert.deepEqual(results, [undefined, undefined, undefined, undefined]);
  assert.deepEqual(members.get("b2"), { id: "b2", name: "b", peerUrls: ["http://127.0.0.1:2"], clientUrls: ["http://127.0.0.1:12"], isLearner: false });

  const late = sm.apply([
    { index: 5, command: { op: "conf", kind: "addLearner", id: "c3", peerUrls: ["http://127.0.0.1:3"] } },
    { index: 6, command: { op: "conf", kind: "removeNode", id: "c3", peerUrls: undefined } },
    { index: 7, command: { op: "conf", kind: "addVoter", id: "c3", peerUrls: undefined } },
  ]);
  assert.equal(late[2], Errors.memberNotFound);
  assert.deepEqual(members.list().map((m) => m.id).sort(), ["a1", "b2"]);
});
