/**
 * Hostile gRPC input against a real member: bytes that are not a protobuf message (INTERNAL, "grpc:
 * error unmarshalling request: …" as etcd's gRPC server answers; what follows is the decoder's own
 * words), a method or service that does not exist (UNIMPLEMENTED, in grpc-go's words), and
 * 2,000 watch streams opened on one connection and abandoned. Nothing is written, and the member
 * goes on answering with its watchers back to none.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { EtcdGrpcClient } from "../../testkit/grpc_client.ts";
import { eventually } from "../../testkit/eventually.ts";
import { startConcord } from "../../testkit/processes.ts";

/** A raw unary call: `body` as the request's bytes, whatever they are. */
function rawCall(client: Client, path: string, body: Uint8Array): Promise<{ code: number; details: string } | { ok: true }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, body, new Metadata(), { deadline: new Date(Date.now() + 10_000) },
      (err: ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { ok: true }));
  });
}

async function watchers(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(text)?.[1]);
}

test("grpc bad input > malformed protobuf and unknown methods are refused; nothing is written", async () => {
  const member = await startConcord({ name: "grpc-bad" });
  const address = member.url.replace("http://", "");
  const raw = new Client(address, credentials.createInsecure());
  const client = new EtcdGrpcClient(address);
  try {
    // Field 1 (key) says 100 bytes follow, and 2 do: not a PutRequest.
    const truncated = await rawCall(raw, "/etcdserverpb.KV/Put", new Uint8Array([0x0a, 100, 0x61, 0x62]));
    assert.deepEqual("code" in truncated && truncated.code, 13, JSON.stringify(truncated)); // INTERNAL
    assert.match("details" in truncated ? truncated.details : "", /^grpc: error unmarshalling request: /);
    const garbage = await rawCall(raw, "/etcdserverpb.KV/Txn", new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.deepEqual("code" in garbage && garbage.code, 13, JSON.stringify(garbage));
    const unknown = await rawCall(raw, "/etcdserverpb.KV/Explode", new Uint8Array());
    assert.deepEqual(unknown, { code: 12, details: "unknown method Explode for service etcdserverpb.KV" }); // UNIMPLEMENTED
    const unknownService = await rawCall(raw, "/etcdserverpb.Nothing/Put", new Uint8Array());
    assert.deepEqual(unknownService, { code: 12, details: "unknown service etcdserverpb.Nothing" });
    // Nothing was written, and the member answers as before.
    const range = await client.call("KV", "Range", { key: Buffer.from("\0"), range_end: Buffer.from("\0") });
    assert.ok("ok" in range, JSON.stringify(range));
    assert.equal(range.ok.count, undefined, "no key was written");
    assert.equal((range.ok.header as Record<string, string>).revision, "1");
  } finally {
    raw.close();
    client.close();
    await member.stop();
  }
});

test("grpc bad input > 2,000 watch streams on one connection, abandoned, leave no watcher behind", async () => {
  const member = await startConcord({ name: "grpc-streams" });
  const address = member.url.replace("http://", "");
  const raw = new Client(address, credentials.createInsecure());
  const client = new EtcdGrpcClient(address);
  try {
    const created: Promise<void>[] = [];
    const calls = Array.from({ length: 2_000 }, (_, i) => {
      const call = raw.makeBidiStreamRequest("/etcdserverpb.Watch/Watch", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, new Metadata(), {});
      call.on("error", () => {});
      created.push(new Promise((resolve) => call.once("data", () => resolve())));
      // WatchRequest{create_request{key: "k<i>"}}: field 1 (message) holding field 1 (bytes).
      const key = Buffer.from(`k${i}`);
      call.write(Buffer.concat([Buffer.from([0x0a, key.length + 2, 0x0a, key.length]), key]));
      return call;
    });
    await Promise.all(created);
    assert.equal(await watchers(member.url), 2_000);
    // Abandoned: the client goes away without cancelling any watch.
    for (const call of calls) call.cancel();
    raw.close();
    await eventually("the watchers are gone", 10_000, async () => ((await watchers(member.url)) === 0 ? true : undefined));
    const put = await client.call("KV", "Put", { key: Buffer.from("after"), value: Buffer.from("ok") });
    assert.ok("ok" in put, JSON.stringify(put));
  } finally {
    raw.close();
    client.close();
    await member.stop();
  }
});
