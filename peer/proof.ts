/**
 * How one member proves to another that it holds the cluster's token without sending it: an
 * HMAC-SHA256, keyed by the token, of who sends and to whom. A URL anyone registers with
 * `member add` is sent proofs addressed to that new member only — worthless at any other member —
 * and never the token itself; a proof is compared in constant time.
 *
 * Owns: making and checking proofs. Never: decides what a refusal says (replies.ts) or where the
 * token comes from.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { NodeId } from "../raft/types.ts";

/** Whom a proof is addressed to when the sender does not know the member yet (finding a cluster to join). */
export const ANY_MEMBER = "any-member";

const mac = (token: string, from: string, to: string) => createHmac("sha256", token).update(`concord-peer\n${from}\n${to}`).digest();

/** The proof, hex, that `from` holds `token`, addressed to `to` (a member id, or ANY_MEMBER). */
export function peerProof(token: string, from: NodeId, to: NodeId | typeof ANY_MEMBER): string {
  return mac(token, from, to).toString("hex");
}

/** Whether `presented` is the proof `from` would make for `to` with `token`. */
export function provesToken(presented: string | null | undefined, token: string, from: string, to: string): boolean {
  const expected = mac(token, from, to);
  const given = Buffer.from(presented ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
