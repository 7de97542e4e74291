/**
 * How one member proves to another that it holds the cluster's token without sending it: an
 * HMAC-SHA256, keyed by the token, of who sends, to whom, and the host:port it dialled. A URL
 * anyone registers with `member add` (or gives a member with `member update`) is sent proofs
 * naming that URL's host — worthless at every member, which takes only proofs naming a host of
 * its own — and never the token itself; a proof is compared in constant time. The proofs are only
 * as strong as the token: the default one is public (peer TLS with client certificates is the
 * real guard; server.ts warns).
 *
 * Owns: making and checking proofs. Never: decides what a refusal says (replies.ts) or where the
 * token comes from.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { NodeId } from "../raft/types.ts";

/** Whom a proof is addressed to when the sender does not know the member yet (finding a cluster to join). */
export const ANY_MEMBER = "any-member";

const mac = (token: string, from: string, to: string, host: string) =>
  createHmac("sha256", token).update(`concord-peer\n${from}\n${to}\n${host.toLowerCase()}`).digest();

/** The proof, hex, that `from` holds `token`, addressed to `to` (a member id, or ANY_MEMBER) at `host` (the host:port dialled). */
export function peerProof(token: string, from: NodeId, to: NodeId | typeof ANY_MEMBER, host: string): string {
  return mac(token, from, to, host).toString("hex");
}

/** Whether `presented` is the proof `from` would make for `to` at `host` with `token`. */
export function provesToken(presented: string | null | undefined, token: string, from: string, to: string, host: string): boolean {
  const expected = mac(token, from, to, host);
  const given = Buffer.from(presented ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
