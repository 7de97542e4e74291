/**
 * etcd's JSON gateway as a member serves it on its client URLs: etcd's paths, with Go's ServeMux
 * answers for everything else (404, and 405 for a known path with another method).
 *
 * Owns: routing and the request → answer → Response step shared by every gateway call (other
 * surfaces on the client port, such as the console, add their routes through it).
 * Never: etcd semantics or storage; it only knows the ApiMember interface.
 */
import { Hono } from "hono";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import { errorResponse, jsonResponse, methodNotAllowed, notFound, readJsonBody } from "./http.ts";
import { authHandlers } from "./routes/auth.ts";
import { clusterHandlers } from "./routes/cluster.ts";
import { type GatewayHandler, notForLearner, tokenOf } from "./handler.ts";
import { electionHandlers, lockHandlers } from "./routes/coordination.ts";
import { kvHandlers } from "./routes/kv.ts";
import { keepAlive, leaseHandlers } from "./routes/lease.ts";
import { memberHandlers, versionBody } from "./routes/maintenance.ts";
import { gatewayWatch, SseStreams } from "./routes/watch.ts";
import { fileSnapshot, gatewaySnapshot } from "./routes/snapshot.ts";
import { addHealthProbes } from "./health.ts";
import type { Counter } from "../metrics/registry.ts";

/**
 * A POST call in the gateway's manner: JSON in, JSON or an etcd error out (OPTIONS never gets
 * here: access.ts answers it); each counted in `handled` (concord_gateway_requests_total).
 */
export function gatewayRoute(member: ApiMember, handler: GatewayHandler, handled?: Counter) {
  return async (request: Request): Promise<Response> => {
    handled?.inc();
    if (request.method !== "POST") return methodNotAllowed();
    const body = await readJsonBody(request);
    if (isEtcdError(body)) {
      // The one error of this code reading a body gives: the body is over GATEWAY_BODY_BYTES_MAX.
      if (body.code === GrpcCode.RESOURCE_EXHAUSTED) member.refusals.count("GATEWAY_BODY_BYTES_MAX");
      return errorResponse(body);
    }
    const caller = await member.auth.caller(tokenOf(request));
    try {
      const answer = await handler(member, body, caller, request.signal);
      return isEtcdError(answer) ? errorResponse(answer) : jsonResponse(answer);
    } catch (e) {
      // A bug or a failed disk: say so in etcd's shape rather than dropping the connection.
      console.error("concord: request failed:", e);
      return errorResponse(new EtcdError(GrpcCode.UNKNOWN, `concord: internal error: ${(e as Error).message}`));
    }
  };
}

export interface AppOptions {
  /** How often SSE watch streams get a heartbeat comment, ms. */
  sseHeartbeatMs?: number;
}

/** The gateway's app (its SSE watch streams are counted in the member's metrics). */
export interface Gateway {
  app: Hono;
}

export function createGateway(member: ApiMember, options: AppOptions = {}): Gateway {
  const app = new Hono();
  // The console's requests-per-second chart adds these to gRPC's calls handled.
  const handled = member.metrics.counter("concord_gateway_requests_total", "JSON gateway calls received (etcd's v3 API over HTTP).");
  const handlers = { ...kvHandlers, ...leaseHandlers, ...memberHandlers, ...clusterHandlers, ...authHandlers, ...lockHandlers, ...electionHandlers };
  for (const [path, handler] of Object.entries(handlers)) {
    const route = gatewayRoute(member, handler, handled);
    app.all(path, (c) => route(c.req.raw));
  }
  app.all("/v3/maintenance/snapshot", (c) => gatewaySnapshot(member, c.req.raw));
  app.all("/concord/v1/snapshot", (c) => fileSnapshot(member, c.req.raw));
  // Keep-alive has no /v3/kv/lease/ twin in etcd's gateway, unlike the other lease calls.
  app.all("/v3/lease/keepalive", (c) => {
    return c.req.method === "POST" ? keepAlive(member, c.req.raw) : methodNotAllowed();
  });
  const sse = new SseStreams(options.sseHeartbeatMs);
  member.metrics.gauge("concord_sse_watch_streams", "Open Server-Sent Events watch streams.", () => sse.size);
  app.all("/v3/watch", (c) => {
    const request = c.req.raw;
    if (request.method !== "POST" && request.method !== "GET") return methodNotAllowed();
    if (member.isLearner) return errorResponse(notForLearner);
    return request.method === "POST" ? gatewayWatch(member, request) : sse.open(member, request);
  });
  app.get("/version", () => jsonResponse(versionBody));
  addHealthProbes(app, member);
  app.notFound((c) => notFound(c.req.path, c.req.method));
  return { app };
}
