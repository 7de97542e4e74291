/**
 * Maintenance.Snapshot over gRPC on a real member (server.ts): the copy it streams is the member's state as of
 * the call (a SQLite database holding every key put before it), pieces never larger than
 * CLIENT_SNAPSHOT_CHUNK_BYTES, and no copy is left in the data dir afterwards — neither when the
 * stream ends nor when the client cancels it halfway.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ClientReadableStream, credentials, makeGenericClientConstructor, Metadata } from "@grpc/grpc-js";
import { CLIENT_SNAPSHOT_CHUNK_BYTES } from "../../config/limits.ts";
import { loadEtcdServices } from "../../grpc/protos.ts";
import { openDatabase } from "../../store/sqlite.ts";
import { EtcdGrpcClient, type Message } from "../../testkit/grpc_client.ts";
import { type ServerProcess, startConcord, tempDir } from "../../testkit/processes.ts";

let concord: ServerProcess;
let client: EtcdGrpcClient;
const address = () => concord.url.replace("http://", "");
const KEYS = 64;
const VALUE_BYTES = 16 * 1024;

before(async () => {
  concord = await startConcord({ name: "snapshot" });
  client = new EtcdGrpcClient(address());
  for (let i = 0; i < KEYS; i++) {
    const put = await client.call("KV", "Put", { key: Buffer.from(`k${i}`), value: Buffer.alloc(VALUE_BYTES, i) });
    assert.ok("ok" in put, JSON.stringify(put));
  }
});

after(async () => {
  client.close();
  await concord?.stop();
});

/** Copies made for clients still in the member's data dir. */
const copiesLeft = () => readdirSync(join(concord.dataDir, "member", "snap")).filter((f) => f.startsWith("client-"));

test("grpc snapshot > the stream is the state as of the call, in bounded pieces, and leaves no copy behind", async () => {
  const { messages, code, details } = await client.stream("Maintenance", "Snapshot", {});
  assert.equal(code, 0, details);
  const blobs = messages.map((m: Message) => m.blob as Buffer);
  assert.ok(blobs.every((b) => b.length <= CLIENT_SNAPSHOT_CHUNK_BYTES));
  assert.ok(blobs.length > (KEYS * VALUE_BYTES) / CLIENT_SNAPSHOT_CHUNK_BYTES, `${blobs.length} pieces`);
  const file = join(tempDir("snapshot-copy"), "state.db");
  writeFileSync(file, Buffer.concat(blobs.slice(0, -1)));
  const db = await openDatabase(file);
  try {
    const live = db.prepare("SELECT count(*) AS n FROM kv_index WHERE version > 0").get<{ n: number }>();
    assert.equal(live?.n, KEYS);
    assert.equal(db.prepare("PRAGMA integrity_check").get<{ integrity_check: string }>()?.integrity_check, "ok");
  } finally {
    db.close();
  }
  assert.deepEqual(copiesLeft(), []);
});

test("grpc snapshot > a client that cancels halfway leaves no copy behind", async () => {
  const Maintenance = makeGenericClientConstructor((await loadEtcdServices()).Maintenance, "Maintenance");
  const raw = new Maintenance(address(), credentials.createInsecure());
  try {
    const stream = (raw as unknown as Record<string, (r: object, m: Metadata) => ClientReadableStream<Message>>).Snapshot.call(raw, {}, new Metadata());
    await new Promise<void>((resolve) => {
      stream.once("data", () => {
        stream.cancel();
        resolve();
      });
    });
    stream.on("error", () => {});
    const deadline = Date.now() + 5_000;
    while (copiesLeft().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(copiesLeft(), []);
  } finally {
    raw.close();
  }
  // The member goes on serving.
  assert.ok("ok" in await client.call("KV", "Range", { key: Buffer.from("k1"), count_only: true }));
});
