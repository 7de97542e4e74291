/**
 * The propose call: writes a follower hands to the leader, each with its request id, answered
 * with where the leader placed each in its log. One wire form, two carriers: a "propose" frame on
 * the stream to the leader (Bun; the leader answers with a "placed" frame), or a POST of the same
 * bytes answered by the same bytes (wherever no stream is open).
 *
 * Owns: both ends of the POST, the bounds of one batch and refusing writes that are not commands. Never: waits for writes to be applied
 * (member/forwarded_writes.ts) or proposes them (the member does).
 */
import type { Hono } from "hono";
import type { NodeId } from "../raft/types.ts";
import { PEER_PROPOSALS_PER_BATCH_MAX } from "../config/limits.ts";
import { readCommand } from "../etcd/command_check.ts";
import { decodeFrame, encodeFrame } from "./codec.ts";
import { peerRequest } from "./client.ts";
import { PROPOSE_PATH } from "./paths.ts";
import { badRequest } from "./replies.ts";
import type { PeerService } from "./service.ts";
import type { ForwardedProposal, Placement } from "./types.ts";

/** Hands `proposals` to the leader at `url`; undefined when it could not be asked or did not answer. */
export async function proposeAtLeader(
  url: string,
  proposals: readonly ForwardedProposal[],
  opts: { token: string; from: string; to: NodeId; timeoutMs: number; init: Record<string, unknown> },
): Promise<Placement[] | undefined> {
  const answer = await peerRequest(url, PROPOSE_PATH, { ...opts, body: encodeFrame({ kind: "propose", proposals: [...proposals] }) });
  if ("error" in answer || answer.status !== 200) return undefined;
  const frame = decodeFrame(answer.body);
  return "error" in frame || frame.kind !== "placed" ? undefined : frame.placements;
}

/**
 * Why a forwarded batch cannot go into the log, if it cannot: a write that is not a command the
 * members can apply would be committed and then fail everywhere (etcd/command_check.ts).
 */
export function malformedProposal(proposals: readonly ForwardedProposal[]): string | undefined {
  for (const p of proposals) {
    const read = readCommand(p.data);
    if ("error" in read) return `proposal ${p.rid}: ${read.error}`;
  }
}

export function addProposeRoute(app: Hono, service: PeerService): void {
  app.post(PROPOSE_PATH, async (c) => {
    const frame = decodeFrame(new Uint8Array(await c.req.arrayBuffer()));
    if ("error" in frame || frame.kind !== "propose") return badRequest(`bad proposal batch: ${"error" in frame ? frame.error : "not proposals"}`);
    if (frame.proposals.length > PEER_PROPOSALS_PER_BATCH_MAX) return badRequest(`more than ${PEER_PROPOSALS_PER_BATCH_MAX} proposals in one batch`);
    const malformed = malformedProposal(frame.proposals);
    if (malformed) return badRequest(`bad proposal batch: ${malformed}`);
    const placed = encodeFrame({ kind: "placed", placements: service.acceptForwarded(frame.proposals) });
    return new Response(placed as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } });
  });
}
