/**
 * One request from this member to another's peer port, with the cluster token: for forwarding
 * writes and membership changes to the leader, and for finding a cluster to join.
 *
 * Owns: the request's headers, time limit and turning network failures into values.
 * Never: retries or interprets answers beyond their status.
 */
import { FROM_HEADER, TOKEN_HEADER } from "./paths.ts";

export interface PeerAnswer {
  status: number;
  body: Uint8Array;
}

export async function peerRequest(
  baseUrl: string,
  path: string,
  opts: { token: string; from: string; body?: Uint8Array | string; timeoutMs: number },
): Promise<PeerAnswer | { error: string }> {
  try {
    const response = await fetch(baseUrl + path, {
      method: opts.body === undefined ? "GET" : "POST",
      headers: { [TOKEN_HEADER]: opts.token, [FROM_HEADER]: opts.from },
      body: opts.body as BodyInit | undefined,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
