/**
 * etcd's Maintenance.Snapshot over gRPC: a consistent copy of the member's state streamed in
 * pieces of CLIENT_SNAPSHOT_CHUNK_BYTES, each saying how many bytes remain, then one last message
 * holding the SHA-256 of all of them — what `etcdctl snapshot save` checks for. The copy is
 * Concord's state.db (SQLite), not etcd's bbolt file: `etcdctl snapshot status` and `restore`
 * cannot read it.
 *
 * Owns: sending the copy, waiting for the client to take each piece, and removing the copy however
 * the call ends. Never: makes the copy (the checkpoint worker does, off the member's thread) or
 * reads it all into memory.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { CLIENT_SNAPSHOT_CHUNK_BYTES } from "../config/limits.ts";
import { isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { StateCopy } from "../store/snapshots.ts";
import { type Method, type ServerCall, unexpected } from "./calls.ts";
import { fields } from "./responses.ts";
import { serverStream } from "./unary.ts";

/** Resolves once the client has room for more (true), or with false once the call is gone. */
function room(call: ServerCall): Promise<boolean> {
  return new Promise((resolve) => {
    if (call.ended) return resolve(false);
    call.onDrain = () => resolve(true);
    call.onGone = () => resolve(false);
  });
}

/**
 * Sends the copy a piece at a time, waiting for room between pieces. The file is read with plain
 * descriptors: a piece is a page-cache read of 32 KiB, and a descriptor, unlike a FileHandle, is
 * never closed behind our back (Bun throws, killing the process, on a FileHandle collected open).
 */
async function send(call: ServerCall, copy: StateCopy): Promise<void> {
  const fd = openSync(copy.path, "r");
  try {
    const digest = createHash("sha256");
    const buffer = new Uint8Array(CLIENT_SNAPSHOT_CHUNK_BYTES);
    let sent = 0;
    while (sent < copy.bytes) {
      if (call.ended) return;
      const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, copy.bytes - sent), sent);
      if (bytesRead === 0) throw new Error(`snapshot: ${copy.path} ended at ${sent} of ${copy.bytes} bytes`);
      const blob = buffer.slice(0, bytesRead);
      digest.update(blob);
      sent += bytesRead;
      const more = call.send(fields().int("remaining_bytes", copy.bytes - sent).bytes("blob", blob).done());
      if (!more && !(await room(call))) return;
    }
    if (call.ended) return;
    call.send(fields().bytes("blob", new Uint8Array(digest.digest())).done());
    call.end();
  } finally {
    closeSync(fd);
  }
}

export function snapshot(member: ApiMember): Method {
  return serverStream(member, (call) => {
    void member.auth.caller(call.metadata.get("token")).then(async (caller) => {
      if (call.ended) return;
      const refused = member.auth.maintenance(caller);
      if (refused) return call.end(refused);
      const copy = await member.snapshot();
      if (isEtcdError(copy)) return call.end(copy);
      if (call.ended) return copy.release();
      return send(call, copy).catch((e) => call.end(unexpected(e))).finally(() => copy.release());
    }).catch((e) => call.end(unexpected(e)));
  });
}
