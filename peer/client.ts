/**
 * One request from this member to another's peer port, with proof of the cluster's token: for forwarding
 * writes and membership changes to the leader, and for finding a cluster to join.
 *
 * Owns: the request's headers, time limit and turning network failures into values.
 * Never: retries or interprets answers beyond their status.
 */
import type { NodeId } from "../raft/types.ts";
import { FROM_HEADER, PROOF_HEADER } from "./paths.ts";
import { type ANY_MEMBER, peerProof } from "./proof.ts";

export interface PeerAnswer {
  status: number;
  body: Uint8Array;
}

export async function peerRequest(
  baseUrl: string,
  path: string,
  opts: { token: string; from: string; to: NodeId | typeof ANY_MEMBER; body?: Uint8Array | string; timeoutMs: number; init: Record<string, unknown> },
): Promise<PeerAnswer | { error: string }> {
  try {
    const response = await fetch(baseUrl + path, {
      method: opts.body === undefined ? "GET" : "POST",
      headers: { [PROOF_HEADER]: peerProof(opts.token, opts.from, opts.to, new URL(baseUrl).host), [FROM_HEADER]: opts.from },
      body: opts.body as BodyInit | undefined,
      signal: AbortSignal.timeout(opts.timeoutMs),
      ...opts.init,
    });
    return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
