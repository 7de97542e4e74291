/**
 * Who this member is and which cluster it belongs to, settled once at first start and kept.
 *
 * Owns: the three ways a member starts — restarting (its data dir knows), founding a new cluster
 * (every member's id follows from `--initial-cluster` and the token, as etcd derives them), and
 * joining an existing one (it asks the members listed for the cluster, and finds itself among them
 * by its peer URLs, added beforehand with member add).
 * Never: runs Raft or serves anyone.
 */
import { JOIN_ATTEMPTS_MAX, JOIN_REQUEST_TIMEOUT_MS, JOIN_RETRY_MS } from "../config/limits.ts";
import type { MemberRecord } from "../etcd/types.ts";
import type { Store } from "../store/open.ts";
import { fetchCluster } from "../peer/cluster.ts";
import type { PeerDial } from "../runtime/dial.ts";
import { clusterIdFor, type Id, idToHex, memberIdFor } from "./identity.ts";

export interface BootstrapConfig {
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  clusterToken: string;
  /** How to reach peers (TLS). */
  peerDial: PeerDial;
  initialCluster: { name: string; peerUrls: string[] }[];
  initialClusterState: "new" | "existing";
}


const sameUrls = (a: readonly string[], b: readonly string[]) => [...a].sort().join(",") === [...b].sort().join(",");

export async function bootstrap(store: Store, config: BootstrapConfig): Promise<{ id: Id; clusterId: Id } | { error: string }> {
  const id = store.identity("member_id");
  const clusterId = store.identity("cluster_id");
  if (id !== undefined && clusterId !== undefined) return { id, clusterId };
  const settled = config.initialClusterState === "new" ? found(config) : await join(config);
  if ("error" in settled) return settled;
  await settle(store, settled);
  return { id: settled.id, clusterId: settled.clusterId };
}

/** Who a member is and the cluster's members, once settled. */
export type Settled = { id: Id; clusterId: Id; members: MemberRecord[] };

/** Keeps a settled identity and member list: the members in the state, the ids with the log. */
export async function settle(store: Store, settled: Settled): Promise<void> {
  store.initialise(() => {
    for (const m of settled.members) store.members.put(m);
  });
  await store.setIdentity("member_id", settled.id);
  await store.setIdentity("cluster_id", settled.clusterId);
}

/** A new cluster's members and this member's place in it, as etcd derives ids from --initial-cluster and the token. */
export function found(config: Pick<BootstrapConfig, "name" | "clusterToken" | "initialCluster">): Settled | { error: string } {
  const members = config.initialCluster.map((m) => ({
    id: memberIdFor(m.peerUrls, config.clusterToken),
    name: m.name,
    peerUrls: m.peerUrls,
  }));
  const self = members.find((m) => m.name === config.name);
  if (!self) return { error: `couldn't find local name "${config.name}" in the initial cluster configuration` };
  return {
    id: self.id,
    clusterId: clusterIdFor(members.map((m) => m.id)),
    members: members.map((m) => ({
      id: idToHex(m.id),
      name: m.name,
      peerUrls: m.peerUrls,
      // Replicated state must be the same on every member: each publishes its client URLs itself.
      clientUrls: [],
      isLearner: false,
    })),
  };
}

async function join(config: BootstrapConfig): Promise<Settled | { error: string }> {
  const others = config.initialCluster.filter((m) => !sameUrls(m.peerUrls, config.peerUrls)).flatMap((m) => m.peerUrls);
  if (others.length === 0) return { error: "--initial-cluster-state existing needs --initial-cluster to list members already running" };
  let lastError = "";
  for (let attempt = 0; attempt < JOIN_ATTEMPTS_MAX; attempt++) {
    for (const url of others) {
      const info = await fetchCluster(url, { token: config.clusterToken, timeoutMs: JOIN_REQUEST_TIMEOUT_MS, init: config.peerDial.init });
      if ("error" in info) {
        lastError = info.error;
        continue;
      }
      const self = info.members.find((m) => sameUrls(m.peerUrls, config.peerUrls));
      if (!self) {
        return { error: `member with peer URLs ${config.peerUrls.join(",")} has not been added to the cluster (run member add first)` };
      }
      return { id: BigInt(`0x${self.id}`), clusterId: BigInt(`0x${info.clusterId}`), members: info.members };
    }
    await new Promise((r) => setTimeout(r, JOIN_RETRY_MS));
  }
  return { error: `could not reach the cluster to join: ${lastError}` };
}
