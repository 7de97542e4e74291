/**
 * The HTTP application a member serves on its client URLs: etcd's JSON gateway paths with Go's
 * ServeMux answers for everything else (404, and 405 for a known path with another method).
 *
 * Owns: routing and the request → answer → Response step shared by every gateway call.
 * Never: etcd semantics or storage; it only knows the ApiMember interface.
 */
import { Hono } from "hono";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { ApiMember } from "./api_member.ts";
import { errorResponse, jsonResponse, methodNotAllowed, notFound, readJsonBody, textResponse } from "./http.ts";
import { clusterHandlers } from "./cluster_routes.ts";
import { type KvHandler, kvHandlers } from "./kv_routes.ts";
import { memberHandlers, versionBody } from "./member_routes.ts";

function gatewayRoute(member: ApiMember, handler: KvHandler) {
  return async (request: Request): Promise<Response> => {
    if (request.method === "OPTIONS") return textResponse("", 200);
    if (request.method !== "POST") return methodNotAllowed();
    const body = await readJsonBody(request);
    if (isEtcdError(body)) return errorResponse(body);
    try {
      const answer = await handler(member, body);
      return isEtcdError(answer) ? errorResponse(answer) : jsonResponse(answer);
    } catch (e) {
      // A bug or a failed disk: say so in etcd's shape rather than dropping the connection.
      console.error("concord: request failed:", e);
      return errorResponse(new EtcdError(GrpcCode.UNKNOWN, `concord: internal error: ${(e as Error).message}`));
    }
  };
}

export function createApp(member: ApiMember): Hono {
  const app = new Hono();
  for (const [path, handler] of Object.entries({ ...kvHandlers, ...memberHandlers, ...clusterHandlers })) {
    const route = gatewayRoute(member, handler);
    app.all(path, (c) => route(c.req.raw));
  }
  app.get("/version", () => jsonResponse(versionBody));
  // etcd answers /health as text, though the text is JSON.
  app.get("/health", () => textResponse(`{"health":"true"}`, 200));
  app.notFound(() => notFound());
  return app;
}
