/**
 * The console's server side on the client port: the page and its bundle, Concord's own browsing
 * and access calls (/concord/v1/…) and /metrics, added to the gateway's app.
 *
 * Owns: which console routes exist. Never: etcd's API (the gateway serves it) or data of its own.
 */
import { clusterOrigins } from "../gateway/access.ts";
import type { Gateway } from "../gateway/app.ts";
import { gatewayRoute } from "../gateway/app.ts";
import type { ApiMember } from "../member/client_api.ts";
import { accessHandlers } from "./access.ts";
import { browseHandlers } from "./browse.ts";
import { addConsolePage } from "./page.ts";

export function addConsole(gateway: Gateway, member: ApiMember): void {
  const { app } = gateway;
  for (const [path, handler] of Object.entries({ ...browseHandlers, ...accessHandlers })) {
    const route = gatewayRoute(member, handler);
    app.all(path, (c) => route(c.req.raw));
  }
  app.get("/metrics", () => new Response(member.metrics.text(), { headers: { "Content-Type": "text/plain; version=0.0.4" } }));
  addConsolePage(app, () => clusterOrigins(member));
}
