/**
 * Concord's composition root: config → store → member → HTTP apps (clients, peers) → listeners.
 *
 * Owns: start-up order and shutdown. Never: logic of its own — each step lives in its module.
 */
import { createApp } from "./api/app.ts";
import { createPeerApp, peerStream } from "./api/peer_app.ts";
import { parseConfig, usage } from "./config/flags.ts";
import { Member } from "./member/member.ts";
import { args, env, type Listener, onShutdown, serve } from "./runtime/serve.ts";

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
const listeners: Listener[] = [];

/** Stops serving, then closes the member (called only once it is open). */
async function shutdown(code: number): Promise<never> {
  // Watch streams never end on their own, and a server stopping waits for open responses.
  opened.watches.close();
  await Promise.all(listeners.map((l) => l.close()));
  await opened.close();
  process.exit(code);
}

const host = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");
const opened = await Member.open({
  name: config.name,
  dataDir: config.dataDir,
  clientUrls: config.advertiseClientUrls,
  peerUrls: config.initialAdvertisePeerUrls,
  clusterToken: config.initialClusterToken,
  initialCluster: config.initialCluster,
  initialClusterState: config.initialClusterState,
  heartbeatMs: config.heartbeatIntervalMs,
  electionMs: config.electionTimeoutMs,
  snapshotCount: config.snapshotCount,
  watchProgressNotifyMs: config.watchProgressNotifyMs,
  // etcd exits once it has been removed from its cluster.
  onRemoved: () => void shutdown(0),
}).catch((e: Error) => {
  console.error(`concord: ${e.message}`);
  process.exit(1);
});
const peerApp = createPeerApp(opened);
const stream = peerStream(opened);
for (const url of config.listenPeerUrls) listeners.push(serve(host(url), Number(url.port), (r) => peerApp.fetch(r), stream));
const app = createApp(opened, { sseHeartbeatMs: config.sseHeartbeatMs });
const clientListeners = config.listenClientUrls.map((url) => serve(host(url), Number(url.port), (r) => app.fetch(r)));
listeners.push(...clientListeners);
console.log(
  `concord: member ${config.name} (${opened.id.toString(16)}) serving peers on ${config.listenPeerUrls.map((u) => `http://${u.host}`).join(", ")}; ` +
    `serving clients on ${config.listenClientUrls.map((u, i) => `http://${u.hostname}:${clientListeners[i].port}`).join(", ")}, ` +
    `data in ${config.dataDir}`,
);

onShutdown(() => void shutdown(0));
