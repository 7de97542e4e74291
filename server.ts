/**
 * Concord's composition root: config → store → member → HTTP app → listeners.
 *
 * Owns: start-up order and shutdown. Never: logic of its own — each step lives in its module.
 */
import { createApp } from "./api/app.ts";
import { parseConfig, usage } from "./config/flags.ts";
import { Member } from "./member/member.ts";
import { args, env, onShutdown, serve } from "./runtime/serve.ts";

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
const member = await Member.open({
  name: config.name,
  dataDir: config.dataDir,
  clientUrls: config.advertiseClientUrls,
  peerUrls: config.initialAdvertisePeerUrls,
  clusterToken: config.initialClusterToken,
});
const app = createApp(member);
const listeners = config.listenClientUrls.map((url) =>
  serve(url.hostname.replace(/^\[|\]$/g, ""), Number(url.port), (request) => app.fetch(request))
);
console.log(
  `concord: member ${config.name} (${member.id.toString(16)}) serving clients on ${
    config.listenClientUrls.map((u, i) => `http://${u.hostname}:${listeners[i].port}`).join(", ")
  }, data in ${config.dataDir}`,
);

onShutdown(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  await member.close();
  process.exit(0);
});
