/**
 * Maintenance.Defragment over gRPC on a real member (server.ts): after a delete and a compaction leave most of
 * state.db free, a defragment answers etcd's empty message, the file shrinks to about what is in
 * use once checkpointed, and nothing is lost — the keys left read back, and writes go on.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually } from "../../testkit/eventually.ts";
import { EtcdGrpcClient, type Message } from "../../testkit/grpc_client.ts";
import { type ServerProcess, startConcord } from "../../testkit/processes.ts";

let concord: ServerProcess;
let client: EtcdGrpcClient;
const address = () => concord.url.replace("http://", "");

before(async () => {
  concord = await startConcord({ name: "defragment" });
  client = new EtcdGrpcClient(address());
});

after(async () => {
  client.close();
  await concord?.stop();
});

const stateBytes = () => statSync(join(concord.dataDir, "member", "state.db")).size;
const ok = (answer: Awaited<ReturnType<EtcdGrpcClient["call"]>>): Message => {
  assert.ok("ok" in answer, JSON.stringify(answer));
  return answer.ok;
};

test("grpc defragment > the state file shrinks to what is in use, and every key and write survives", async () => {
  for (let i = 0; i < 100; i++) ok(await client.call("KV", "Put", { key: Buffer.from(`bulk/${i}`), value: Buffer.alloc(50_000, i) }));
  ok(await client.call("KV", "Put", { key: Buffer.from("kept"), value: Buffer.from("yes") }));
  ok(await client.call("KV", "DeleteRange", { key: Buffer.from("bulk/"), range_end: Buffer.from("bulk0") }));
  const revision = Number((ok(await client.call("Maintenance", "Status", {})).header as Message).revision);
  // physical: answered once the compaction's history is dropped (it is dropped in batches after it applies).
  ok(await client.call("KV", "Compact", { revision, physical: true }));
  // Once the compaction is checkpointed the file holds the 5 MB, nearly all of it free.
  await eventually("the compaction is on disk", 5_000, () => (stateBytes() > 4_000_000 ? true : undefined));
  const before = ok(await client.call("Maintenance", "Status", {}));
  assert.ok(Number(before.dbSizeInUse) < 1_000_000, JSON.stringify(before));

  assert.deepEqual(ok(await client.call("Maintenance", "Defragment", {})), {});
  await eventually("state.db shrinks", 5_000, () => (stateBytes() < 1_000_000 ? true : undefined));

  const kept = ok(await client.call("KV", "Range", { key: Buffer.from("kept") }));
  assert.equal(String((kept.kvs as Message[])[0].value), "yes");
  ok(await client.call("KV", "Put", { key: Buffer.from("after"), value: Buffer.from("1") }));
  const after = ok(await client.call("KV", "Range", { key: Buffer.from("\0"), range_end: Buffer.from("\0"), count_only: true }));
  assert.equal(after.count, "2");
});
