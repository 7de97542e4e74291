/**
 * Concord's composition root: config and limits → store → member → the surfaces (the JSON gateway
 * with the console on the client URLs, HTTP/2 beside them for gRPC, the peer protocol on the peer
 * URLs) → listeners; or, given `snapshot …`, etcdutl's snapshot commands (cli/snapshot.ts).
 *
 * Owns: start-up order and shutdown. Never: logic of its own — each step lives in its module.
 */
import { snapshotCommand } from "./cli/snapshot.ts";
import { parseConfig, usage } from "./config/flags.ts";
import { DEFAULT_CLUSTER_TOKEN } from "./config/defaults.ts";
import { checkLimits } from "./config/limits.ts";
import { weakPeerGuard } from "./config/tls.ts";
import { addConsole } from "./console/routes.ts";
import { accessGuard, clusterOrigins } from "./gateway/access.ts";
import { createGateway } from "./gateway/app.ts";
import { type GrpcConnections, grpcConnections } from "./grpc/server.ts";
import { createPeerApp, peerStream } from "./peer/server.ts";
import { JwtTokens } from "./member/jwt_tokens.ts";
import { Member } from "./member/member.ts";
import { ALL_PLANTED_BUG_NAMES, ALL_PLANTED_BUGS, type PlantedBug } from "./member/planted_bugs.ts";
import { clientConnectionsRefused, serveClientPort } from "./runtime/client_port.ts";
import { dialRefusal, peerDial } from "./runtime/dial.ts";
import { servePeerPort } from "./runtime/peer_port.ts";
import { args, env, type Listener, onShutdown } from "./runtime/serve.ts";
import { loadTls, type TlsMaterial } from "./tls/files.ts";

// `concord snapshot restore|status …`: etcdutl's commands, run instead of a member.
if (args()[0] === "snapshot") process.exit(await snapshotCommand(args().slice(1)));

const outcome = parseConfig(args(), env());
if (!outcome.ok) {
  if ("help" in outcome) {
    console.log(usage());
    process.exit(0);
  }
  console.error(`concord: ${outcome.error}`);
  process.exit(2);
}
const { config } = outcome;
const broken = checkLimits(undefined, { heartbeatMs: config.heartbeatIntervalMs, electionMs: config.electionTimeoutMs });
if (broken.length > 0) {
  console.error(`concord: limits that do not fit together (config/limits.ts):\n  ${broken.join("\n  ")}`);
  process.exit(2);
}
const listeners: Listener[] = [];

/** Stops serving, then closes the member (called only once it is open). */
async function shutdown(code: number): Promise<never> {
  // Watch streams never end on their own, and a server stopping waits for open responses.
  opened.watches.close();
  grpc.close();
  await Promise.all(listeners.map((l) => l.close()));
  await opened.close();
  process.exit(code);
}

const host = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");
/** TLS for one side, read (or made, for auto TLS) before anything listens; a member that cannot have it does not start. */
function tlsFor(side: "client" | "peer", urls: URL[]): TlsMaterial | undefined {
  const loaded = loadTls(side, side === "client" ? config.clientTls : config.peerTls, config.dataDir, [...new Set(urls.map(host))]);
  if (loaded && "error" in loaded) {
    console.error(`concord: ${side} TLS: ${loaded.error}`);
    process.exit(1);
  }
  return loaded;
}
const weak = weakPeerGuard(config.initialClusterToken, DEFAULT_CLUSTER_TOKEN, config.peerTls);
if (weak) console.warn(`concord: warning: ${weak}`);
const clientTls = tlsFor("client", config.listenClientUrls);
const peerTls = tlsFor("peer", config.listenPeerUrls);
const dialTls = peerTls && { cert: peerTls.cert, key: peerTls.key, ...(peerTls.ca ? { ca: peerTls.ca } : {}), verify: !peerTls.selfSigned };
const cannotDial = dialRefusal(dialTls);
if (cannotDial) {
  console.error(`concord: peer TLS: ${cannotDial}`);
  process.exit(2);
}
// Signed tokens need their keys before anything listens; a member that cannot read them does not start (as etcd).
const jwtTokens = config.authToken.kind === "jwt" ? await JwtTokens.load(config.authToken) : undefined;
if (jwtTokens && "error" in jwtTokens) {
  console.error(`concord: ${jwtTokens.error}`);
  process.exit(1);
}
if (config.authToken.kind === "jwt" && config.authToken.unknownOptions.length > 0) {
  console.warn(`concord: warning: unknown JWT options: ${config.authToken.unknownOptions.join(", ")}`);
}
// The chaos harness proves its checkers on members with one bug planted (CONCORD_PLANTED_BUG, a
// name from raft/planted_bugs.ts or member/planted_bugs.ts); nothing else sets it, and a member so started says so loudly.
const plantedBug = env().CONCORD_PLANTED_BUG as PlantedBug | undefined;
if (plantedBug !== undefined) {
  if (!ALL_PLANTED_BUG_NAMES.includes(plantedBug)) {
    console.error(`concord: CONCORD_PLANTED_BUG: no planted bug "${plantedBug}" (raft/planted_bugs.ts and member/planted_bugs.ts name them)`);
    process.exit(2);
  }
  console.warn(`concord: warning: planted bug ${plantedBug} — this member is broken on purpose: ${ALL_PLANTED_BUGS[plantedBug]}`);
}
const opened = await Member.open({
  name: config.name,
  dataDir: config.dataDir,
  clientUrls: config.advertiseClientUrls,
  peerUrls: config.initialAdvertisePeerUrls,
  clusterToken: config.initialClusterToken,
  peerDial: peerDial(dialTls),
  initialCluster: config.initialCluster,
  initialClusterState: config.initialClusterState,
  heartbeatMs: config.heartbeatIntervalMs,
  electionMs: config.electionTimeoutMs,
  snapshotCount: config.snapshotCount,
  watchProgressNotifyMs: config.watchProgressNotifyMs,
  ...(jwtTokens ? { jwtTokens } : {}),
  authTokenTtlMs: config.authTokenTtlMs,
  quotaBackendBytes: config.quotaBackendBytes,
  ...(config.autoCompaction ? { autoCompaction: config.autoCompaction } : {}),
  initialCorruptCheck: config.initialCorruptCheck,
  ...(config.corruptCheckIntervalMs > 0 ? { corruptCheckIntervalMs: config.corruptCheckIntervalMs } : {}),
  strictReconfigCheck: config.strictReconfigCheck,
  ...(plantedBug ? { plantedBug } : {}),
  // etcd exits once it has been removed from its cluster.
  onRemoved: () => void shutdown(0),
}).catch((e: Error) => {
  console.error(`concord: ${e.message}`);
  process.exit(1);
});
// A peer's proof names the host:port it dialled: one of this member's own, never one a client registered.
const peerHosts = new Set([...config.listenPeerUrls, ...config.initialAdvertisePeerUrls.map((u) => new URL(u))].map((u) => u.host.toLowerCase()));
const peerApp = createPeerApp(opened, peerHosts);
const stream = peerStream(opened, peerHosts);
for (const url of config.listenPeerUrls) {
  listeners.push(await servePeerPort(host(url), Number(url.port), (r) => peerApp.fetch(r), stream, url.protocol === "https:" ? peerTls : undefined));
}
opened.refusals.countedElsewhere("CLIENT_PORT_CONNECTIONS_MAX", clientConnectionsRefused);
const gateway = createGateway(opened, { sseHeartbeatMs: config.sseHeartbeatMs });
addConsole(gateway, opened);
// HTTP/2 connections to the client URLs are etcd's gRPC services (grpc/), as on etcd's port.
const grpc: GrpcConnections = grpcConnections(opened);
const clientHttp = (scheme: "http:" | "https:") => accessGuard({
  corsOrigins: config.corsOrigins,
  hostWhitelist: config.hostWhitelist,
  clusterOrigins: () => clusterOrigins(opened),
  ownHosts: [...config.listenClientUrls, ...config.advertiseClientUrls.map((u) => new URL(u))].map(host),
  scheme,
}, (r) => gateway.app.fetch(r));
const clientListeners = await Promise.all(config.listenClientUrls.map((url) =>
  serveClientPort(host(url), Number(url.port), clientHttp(url.protocol === "https:" ? "https:" : "http:"), {
    h2: grpc,
    // etcd serves TLS on an https:// URL only, whatever else is configured.
    ...(url.protocol === "https:" ? { tls: clientTls } : {}),
    onFailure: (e) => {
      console.error(`concord: ${e.message}`);
      void shutdown(1);
    },
  })
)).catch((e: Error) => {
  console.error(`concord: ${e.message}`);
  return shutdown(1);
});
listeners.push(...clientListeners);
console.log(
  `concord: member ${config.name} (${opened.id.toString(16)}) serving peers on ${config.listenPeerUrls.map((u) => `${u.protocol}//${u.host}`).join(", ")}; ` +
    `serving clients on ${config.listenClientUrls.map((u, i) => `${u.protocol}//${u.hostname}:${clientListeners[i].port}`).join(", ")}, ` +
    `data in ${config.dataDir}`,
);

onShutdown(() => void shutdown(0));
