/**
 * Member and cluster ids, derived the way etcd derives them so a Concord member started with the
 * same flags as an etcd member gets the same ids.
 *
 * Owns: the id arithmetic (SHA-1 of peer URLs and cluster token; of the member ids for the
 * cluster). Never: stores ids — the member keeps them in its database from first start.
 */
import { createHash } from "node:crypto";

/** etcd's 64-bit ids (member, cluster) are unsigned; kept as bigint, printed as etcd does. */
export type Id = bigint;

function first8BytesBigEndian(bytes: Uint8Array): Id {
  let id = 0n;
  for (let i = 0; i < 8; i++) id = (id << 8n) | BigInt(bytes[i]);
  return id;
}

export function memberIdFor(peerUrls: readonly string[], clusterToken: string): Id {
  const joined = [...peerUrls].sort().join("") + clusterToken;
  return first8BytesBigEndian(createHash("sha1").update(joined).digest());
}

export function clusterIdFor(memberIds: readonly Id[]): Id {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = new Uint8Array(8 * sorted.length);
  const view = new DataView(bytes.buffer);
  sorted.forEach((id, i) => view.setBigUint64(8 * i, id));
  return first8BytesBigEndian(createHash("sha1").update(bytes).digest());
}

export function idToHex(id: Id): string {
  return id.toString(16);
}
