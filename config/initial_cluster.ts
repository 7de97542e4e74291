/**
 * --initial-cluster, `name=url,name=url` (a name repeats once per URL of that member), and etcd's
 * bootstrap checks on it, refused in etcd's words.
 *
 * Owns: parsing the list and checking this member against it. Never: reads flags or the
 * environment, or looks at a data dir (etcd skips these checks for a member that has one; the
 * caller decides whether they apply).
 */
import { urlList, urlString } from "./urls.ts";

/** Members in the order first named, each with its peer URLs in the order given. */
export type InitialCluster = { name: string; peerUrls: string[] }[];
export type ClusterState = "new" | "existing";

function parse(value: string): InitialCluster | string {
  const cluster: InitialCluster = [];
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `--initial-cluster: "${part}" is not name=url`;
    const urls = urlList("initial-cluster", part.slice(eq + 1));
    if (typeof urls === "string") return urls;
    const name = part.slice(0, eq);
    let member = cluster.find((m) => m.name === name);
    if (!member) {
      member = { name, peerUrls: [] };
      cluster.push(member);
    }
    member.peerUrls.push(...urls.map(urlString));
  }
  return cluster;
}

/** `name=url` pairs, sorted, as etcd prints a cluster. */
const pairs = (name: string, urls: string[]) => urls.map((u) => `${name}=${u}`);
const show = (cluster: InitialCluster) => cluster.flatMap((m) => pairs(m.name, m.peerUrls)).sort().join(",");

/** A new cluster's member must advertise exactly the peer URLs it is listed with. */
function advertiseMismatch(name: string, listed: string[], advertised: string[]): string | undefined {
  const unadvertised = [...new Set(listed)].filter((u) => !advertised.includes(u));
  if (unadvertised.length > 0) {
    return `--initial-cluster has ${pairs(name, unadvertised).join(",")} but missing from --initial-advertise-peer-urls=${[...advertised].sort().join(",")}`;
  }
  const unlisted = [...new Set(advertised)].filter((u) => !listed.includes(u));
  if (unlisted.length > 0) {
    return `--initial-advertise-peer-urls has ${unlisted.join(",")} but missing from --initial-cluster=${pairs(name, advertised).sort().join(",")}`;
  }
  return undefined;
}

/**
 * The cluster in `value`, checked as etcd checks it: this member is in it, (for a new cluster)
 * with exactly its advertised peer URLs, and no URL belongs to two places.
 */
export function initialCluster(value: string, state: ClusterState, name: string, advertised: string[]): InitialCluster | string {
  const cluster = parse(value);
  if (typeof cluster === "string") return cluster;
  const self = cluster.find((m) => m.name === name);
  if (!self) return `couldn't find local name ${JSON.stringify(name)} in the initial cluster configuration`;
  const mismatch = state === "new" ? advertiseMismatch(name, self.peerUrls, advertised) : undefined;
  if (mismatch) return mismatch;
  const urls = cluster.flatMap((m) => m.peerUrls);
  if (new Set(urls).size !== urls.length) return `initial cluster ${show(cluster)} has duplicate url`;
  return cluster;
}
