/**
 * Whether a request carries the cluster's token, compared in constant time: how long a comparison
 * takes says nothing about how much of a guess was right.
 *
 * Owns: the comparison. Never: decides what a refusal says (replies.ts) or where the token comes from.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Both sides are hashed first, so tokens of any length compare in the same time. */
export function carriesToken(presented: string | null | undefined, token: string): boolean {
  return timingSafeEqual(digest(presented ?? ""), digest(token));
}
