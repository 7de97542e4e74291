/**
 * The hash call: one member asks another for etcd's HashKV of its key space at a revision, so
 * members can be compared (etcd's corruption checks ask peers the same over /members/hashkv).
 *
 * Owns: both ends — the wire form of the question and the answer, and failures as values.
 * Never: hashes (store/state_hash.ts) or decides what a difference means (member/corruption_check.ts).
 */
import type { Hono } from "hono";
import type { EtcdError } from "../etcd/errors.ts";
import type { NodeId } from "../raft/types.ts";
import { peerRequest } from "./client.ts";
import { HASHKV_PATH } from "./paths.ts";
import { badRequest } from "./replies.ts";
import type { PeerService } from "./service.ts";

/** etcd's HashKV answer: the hash, the member's revision then, and its compacted revision. */
export interface PeerKvHash {
  hash: number;
  revision: number;
  compactRevision: number;
}

/** Asks the member at `url` for its HashKV at `revision`; its error (etcd's words), or why it could not be asked. */
export async function askHashKv(
  url: string,
  revision: number,
  opts: { token: string; from: string; to: NodeId; timeoutMs: number; init: Record<string, unknown> },
): Promise<PeerKvHash | { error: string }> {
  const answer = await peerRequest(url, HASHKV_PATH, { ...opts, body: JSON.stringify({ revision }) });
  if ("error" in answer) return answer;
  if (answer.status !== 200) return { error: `answered ${answer.status}` };
  let w: Partial<PeerKvHash> & { error?: string };
  try {
    w = JSON.parse(new TextDecoder().decode(answer.body));
  } catch {
    return { error: "an answer that is not JSON" };
  }
  if (w === null || typeof w !== "object") return { error: "an answer of the wrong shape" };
  if (typeof w.error === "string") return { error: w.error };
  if (![w.hash, w.revision, w.compactRevision].every(Number.isSafeInteger)) return { error: "an answer of the wrong shape" };
  return { hash: w.hash!, revision: w.revision!, compactRevision: w.compactRevision! };
}

export function addHashKvRoute(app: Hono, service: PeerService): void {
  app.post(HASHKV_PATH, async (c) => {
    const asked = await c.req.json().catch(() => undefined) as { revision?: unknown } | undefined;
    const revision = asked?.revision;
    if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 0) return badRequest("bad hash question");
    const h: PeerKvHash | EtcdError = service.hashKv(revision);
    const body = "message" in h ? { error: h.message } : { hash: h.hash, revision: h.revision, compactRevision: h.compactRevision };
    return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  });
}
