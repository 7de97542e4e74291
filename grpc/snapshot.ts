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
import { closeSync, openSync, readSync } from "node:fs";
import type { handleServerStreamingCall, ServerWritableStream } from "@grpc/grpc-js";
import { CLIENT_SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { StateCopy } from "../store/snapshots.ts";
import type { ProtoMessage } from "./protos.ts";
import { fields, type ProtoObject } from "./responses.ts";
import { refusedBeforeHandler, statusOf, unexpected } from "./unary.ts";

type Call = ServerWritableStream<ProtoMessage, ProtoObject>;

/** The call was cancelled or ended: grpc-js will not say so again, nor drain. */
const gone = (call: Call) => call.cancelled || call.destroyed || call.writableEnded;

/** Resolves once the client has room for more (true), or with false once the call is gone. */
function room(call: Call): Promise<boolean> {
  return new Promise((resolve) => {
    if (gone(call)) return resolve(false);
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

/**
 * Sends the copy a piece at a time, waiting for room between pieces. The file is read with plain
 * descriptors: a piece is a page-cache read of 32 KiB, and a descriptor, unlike a FileHandle, is
 * never closed behind our back (Bun throws, killing the process, on a FileHandle collected open).
 */
async function send(call: Call, copy: StateCopy): Promise<void> {
  const fd = openSync(copy.path, "r");
  try {
    const digest = createHash("sha256");
    const buffer = new Uint8Array(CLIENT_SNAPSHOT_CHUNK_BYTES);
    let sent = 0;
    while (sent < copy.bytes) {
      if (gone(call)) return;
      const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, copy.bytes - sent), sent);
      if (bytesRead === 0) throw new Error(`snapshot: ${copy.path} ended at ${sent} of ${copy.bytes} bytes`);
      const blob = buffer.slice(0, bytesRead);
      digest.update(blob);
      sent += bytesRead;
      const more = call.write(fields().int("remaining_bytes", copy.bytes - sent).bytes("blob", blob).done());
      if (!more && !(await room(call))) return;
    }
    if (gone(call)) return;
    call.write(fields().bytes("blob", new Uint8Array(digest.digest())).done());
    call.end();
  } finally {
    closeSync(fd);
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
