/**
 * The cluster call: the members as a running member knows them, asked by a member started with
 * `--initial-cluster-state existing` to find its cluster and itself in it.
 *
 * Owns: both ends, and checking the answer's shape before anyone relies on it.
 * Never: decides identity (member/bootstrap.ts does).
 */
import type { Hono } from "hono";
import type { MemberRecord } from "../etcd/types.ts";
import { peerRequest } from "./client.ts";
import { ANY_MEMBER } from "./proof.ts";
import { CLUSTER_PATH } from "./paths.ts";
import { json } from "./replies.ts";
import type { PeerService } from "./service.ts";
import type { ClusterInfo } from "./types.ts";

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isHexId = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{1,16}$/.test(v);

function isMember(v: unknown): v is MemberRecord {
  const m = v as Record<string, unknown> | null;
  return typeof m === "object" && m !== null && isHexId(m.id) && typeof m.name === "string" && isStrings(m.peerUrls) &&
    isStrings(m.clientUrls) && typeof m.isLearner === "boolean";
}

/** The cluster as the member at `url` knows it, or why it could not be had. */
export async function fetchCluster(url: string, opts: { token: string; timeoutMs: number; init: Record<string, unknown> }): Promise<ClusterInfo | { error: string }> {
  const answer = await peerRequest(url, CLUSTER_PATH, { token: opts.token, from: "", to: ANY_MEMBER, timeoutMs: opts.timeoutMs, init: opts.init });
  if ("error" in answer) return { error: `${url}: ${answer.error}` };
  const text = new TextDecoder().decode(answer.body);
  if (answer.status !== 200) return { error: `${url} answered ${answer.status}: ${text}` };
  let info: Record<string, unknown> | null;
  try {
    info = JSON.parse(text);
  } catch {
    return { error: `${url} answered something that is not JSON` };
  }
  if (!isHexId(info?.clusterId) || !Array.isArray(info.members) || !info.members.every(isMember)) {
    return { error: `${url} answered a cluster of the wrong shape` };
  }
  return { clusterId: info.clusterId, members: info.members };
}

export function addClusterRoute(app: Hono, service: PeerService): void {
  app.get(CLUSTER_PATH, () => json(service.clusterInfo()));
}
