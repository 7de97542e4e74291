/**
 * HTTP as etcd's gateway speaks it: gRPC codes to HTTP statuses, the error body, and reading a
 * request body into a JSON value with Go's errors (CORS headers are access.ts's, for allowed origins).
 *
 * Owns: the edge between web-standard Request/Response and etcd's JSON. Never: request meaning.
 */
import { GATEWAY_BODY_BYTES_MAX } from "../config/limits.ts";
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import { encode, jsonObject } from "./etcd_json.ts";
import { messageTooLarge } from "../etcd/request_checks.ts";
import { decodeBody, type JsonValue } from "./compat/go_json.ts";

/** grpc-gateway v1's mapping from a gRPC code to an HTTP status. */
const HTTP_STATUS: Record<GrpcCode, number> = {
  [GrpcCode.OK]: 200, [GrpcCode.CANCELLED]: 408, [GrpcCode.UNKNOWN]: 500, [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504, [GrpcCode.NOT_FOUND]: 404, [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403, [GrpcCode.RESOURCE_EXHAUSTED]: 429, [GrpcCode.FAILED_PRECONDITION]: 412,
  [GrpcCode.ABORTED]: 409, [GrpcCode.OUT_OF_RANGE]: 400, [GrpcCode.UNIMPLEMENTED]: 501, [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503, [GrpcCode.DATA_LOSS]: 500, [GrpcCode.UNAUTHENTICATED]: 401,
};

/** The reason phrases of the statuses above, as Go's http.StatusText gives them. */
const STATUS_TEXT: Record<number, string> = {
  200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
  409: "Conflict", 412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
  501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout",
};

// Built once: a Response copies a Headers object faster than it converts a plain one (measured).
const JSON_HEADERS = new Headers({ "Content-Type": "application/json" });
const TEXT_HEADERS = new Headers({ "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" });


export function jsonResponse(body: string | ReadableStream<Uint8Array>, status = 200): Response {
  return new Response(body, { status, headers: JSON_HEADERS });
}

export function errorResponse(e: EtcdError): Response {
  return jsonResponse(encode.error(e), HTTP_STATUS[e.code] ?? 500);
}

/**
 * The gateway's error on a streamed call (watch, keep-alive), as a line of the stream — and as
 * the whole body, with its status, when the stream fails before its first answer.
 */
export function streamErrorLine(e: EtcdError): string {
  const status = HTTP_STATUS[e.code] ?? 500;
  // int32 fields, which proto's JSON writes as numbers.
  const error = jsonObject().raw("grpc_code", String(e.code)).raw("http_code", String(status)).str("message", e.message)
    .str("http_status", STATUS_TEXT[status] ?? "").toString();
  return `{"error":${error}}\n`;
}

export function streamErrorResponse(e: EtcdError): Response {
  return jsonResponse(streamErrorLine(e), HTTP_STATUS[e.code] ?? 500);
}

export function textResponse(body: string, status: number): Response {
  return new Response(body, { status, headers: TEXT_HEADERS });
}

/**
 * Not found as etcd's muxes say it: grpc-gateway's words under /v3/, Go's ServeMux's elsewhere —
 * and /v3 itself moved to /v3/, as ServeMux redirects a subtree's bare name.
 */
export function notFound(path: string, method: string): Response {
  if (path === "/v3") {
    // Go's http.Redirect writes its note for GET and HEAD only.
    const note = method === "GET" || method === "HEAD" ? `<a href="/v3/">Moved Permanently</a>.\n\n` : null;
    return new Response(note, { status: 301, headers: { ...(note ? { "Content-Type": "text/html; charset=utf-8" } : {}), Location: "/v3/" } });
  }
  return textResponse(path.startsWith("/v3/") ? "Not Found\n" : "404 page not found\n", 404);
}
export const methodNotAllowed = () => textResponse("Method Not Allowed\n", 405);

const invalid = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message);

/** Reads a request body as etcd's gateway does: an empty body is `{}`. */
export async function readJsonBody(request: Request): Promise<JsonValue | EtcdError> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > GATEWAY_BODY_BYTES_MAX) return messageTooLarge(declared);
  const text = await request.text();
  if (text.length > GATEWAY_BODY_BYTES_MAX) return messageTooLarge(text.length);
  const parsed = decodeBody(text);
  if (parsed === undefined) return {};
  return parsed.ok ? parsed.value : invalid(parsed.error);
}

