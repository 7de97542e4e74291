/**
 * Backups over HTTP: etcd's gateway call POST /v3/maintenance/snapshot (a stream of JSON lines,
 * `{"result":{"blob":…,"remaining_bytes":…}}`, then one whose blob is the SHA-256 of the others), and
 * Concord's GET /concord/v1/snapshot for curl — the same bytes as a file, exactly what `etcdctl
 * snapshot save` writes (the state, then its SHA-256), for `concord snapshot restore`:
 *
 *   curl -o backup.db http://127.0.0.1:2379/concord/v1/snapshot
 *
 * Owns: both routes' bodies, read from the copy a piece at a time as the client takes them, and
 * releasing the copy however the response ends. Never: makes the copy (the member does, off its thread).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { CLIENT_SNAPSHOT_CHUNK_BYTES } from "../../config/limits.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../../etcd/errors.ts";
import type { ApiMember } from "../../member/client_api.ts";
import type { StateCopy } from "../../store/snapshots.ts";
import { tokenOf } from "../handler.ts";
import { errorResponse, jsonResponse, methodNotAllowed, streamErrorResponse } from "../http.ts";

const encoder = new TextEncoder();

/**
 * The copy's pieces, then its SHA-256 — each handed to `frame` — read as the client takes them;
 * the copy is released when the body ends, fails, is cancelled or the request is aborted.
 */
function pieces(copy: StateCopy, request: Request, frame: (blob: Uint8Array, remaining: number) => Uint8Array): ReadableStream<Uint8Array> {
  let fd: number | undefined;
  const digest = createHash("sha256");
  let sent = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (fd !== undefined) closeSync(fd);
    copy.release();
  };
  request.signal.addEventListener("abort", finish);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (done) return controller.close();
      try {
        fd ??= openSync(copy.path, "r");
        if (sent >= copy.bytes) {
          controller.enqueue(frame(new Uint8Array(digest.digest()), 0));
          finish();
          return controller.close();
        }
        const buffer = new Uint8Array(Math.min(CLIENT_SNAPSHOT_CHUNK_BYTES, copy.bytes - sent));
        const n = readSync(fd, buffer, 0, buffer.length, sent);
        if (n === 0) throw new Error(`snapshot: ${copy.path} ended at ${sent} of ${copy.bytes} bytes`);
        const blob = buffer.subarray(0, n);
        digest.update(blob);
        sent += n;
        controller.enqueue(frame(blob, copy.bytes - sent));
      } catch (e) {
        finish();
        controller.error(e);
      }
    },
    cancel: finish,
  }, { highWaterMark: 1 });
}

/** The member's copy for this caller (root's, while auth is on), or etcd's error. */
async function copyFor(member: ApiMember, request: Request) {
  const caller = await member.auth.caller(tokenOf(request));
  const copy = member.auth.maintenance(caller) ?? await member.snapshot();
  // A client gone while the copy was made takes none of it.
  if (isEtcdError(copy) || !request.signal.aborted) return copy;
  copy.release();
  return new EtcdError(GrpcCode.CANCELLED, "context canceled");
}

/** etcd's gateway form: one JSON line per piece. */
export async function gatewaySnapshot(member: ApiMember, request: Request): Promise<Response> {
  if (request.method !== "POST") return methodNotAllowed();
  const copy = await copyFor(member, request);
  if (isEtcdError(copy)) return streamErrorResponse(copy);
  return jsonResponse(pieces(copy, request, (blob, remaining) => {
    const left = remaining > 0 ? `,"remaining_bytes":"${remaining}"` : "";
    return encoder.encode(`{"result":{"blob":"${blob.toBase64()}"${left}}}\n`);
  }));
}

/** Concord's form for curl: the bytes themselves, as `etcdctl snapshot save` writes them. */
export async function fileSnapshot(member: ApiMember, request: Request): Promise<Response> {
  if (request.method !== "GET") return methodNotAllowed();
  const copy = await copyFor(member, request);
  if (isEtcdError(copy)) return errorResponse(copy);
  return new Response(pieces(copy, request, (blob) => blob), {
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(copy.bytes + 32),
      "Content-Disposition": 'attachment; filename="concord-snapshot.db"',
    },
  });
}
