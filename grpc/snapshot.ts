/**
 * etcd's Maintenance.Snapshot over gRPC: a consistent copy of the member's state streamed in
 * pieces of CLIENT_SNAPSHOT_CHUNK_BYTES, each saying how many bytes remain, then one last message
 * holding the SHA-256 of all of them — what `etcdctl snapshot save` checks for. The copy is
 * Concord's state.db (SQLite), not etcd's bbolt file: `etcdctl snapshot status` and `restore`
 * cannot read it.
 *
 * Owns: sending the copy, waiting for the client to take each piece, and removing the copy however
 * the call ends. Never: makes the copy (member/, store/) or reads it all into memory.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { handleServerStreamingCall, ServerWritableStream } from "@grpc/grpc-js";
import { CLIENT_SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { StateCopy } from "../store/snapshots.ts";
import type { ProtoMessage } from "./protos.ts";
import { fields, type ProtoObject } from "./responses.ts";
import { refusedBeforeHandler, statusOf, unexpected } from "./unary.ts";

type Call = ServerWritableStream<ProtoMessage, ProtoObject>;

/** Resolves once the client has room for more (true), or with false once the call is gone. */
function room(call: Call): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      call.off("drain", onDrain);
      call.off("cancelled", onGone);
      call.off("close", onGone);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onGone = () => done(false);
    call.on("drain", onDrain);
    call.on("cancelled", onGone);
    call.on("close", onGone);
  });
}

async function send(call: Call, copy: StateCopy): Promise<void> {
  const file = await open(copy.path, "r");
  try {
    const digest = createHash("sha256");
    const buffer = new Uint8Array(CLIENT_SNAPSHOT_CHUNK_BYTES);
    let sent = 0;
    while (sent < copy.bytes) {
      if (call.cancelled) return;
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, copy.bytes - sent), sent);
      if (bytesRead === 0) throw new Error(`snapshot: ${copy.path} ended at ${sent} of ${copy.bytes} bytes`);
      const blob = buffer.slice(0, bytesRead);
      digest.update(blob);
      sent += bytesRead;
      const more = call.write(fields().int("remaining_bytes", copy.bytes - sent).bytes("blob", blob).done());
      if (!more && !(await room(call))) return;
    }
    call.write(fields().bytes("blob", new Uint8Array(digest.digest())).done());
    call.end();
  } finally {
    await file.close();
  }
}

export function snapshot(member: ApiMember): handleServerStreamingCall<ProtoMessage, ProtoObject> {
  return (call: Call) => {
    const fail = (status: ReturnType<typeof statusOf>) => call.emit("error", status);
    let copy: StateCopy | undefined;
    try {
      const refused = refusedBeforeHandler(member, call.metadata, false);
      if (refused) return fail(statusOf(refused));
      copy = member.snapshot();
    } catch (e) {
      return fail(statusOf(unexpected(e)));
    }
    const made = copy;
    send(call, made).catch((e) => fail(statusOf(unexpected(e)))).finally(() => made.release());
  };
}
