/**
 * Watching over HTTP: etcd's gateway stream (POST /v3/watch, a body of WatchRequests, a response
 * of `{"result":…}` lines) and Server-Sent Events for browsers and edge functions (GET /v3/watch,
 * one watch from query parameters, resumable with Last-Event-ID).
 *
 * Owns: reading watch requests off a streamed body as they arrive (etcd's gateway answers only
 * once the body is closed; Concord answers each at once), the SSE query parameters, heartbeats,
 * and closing streams when their clients go. Never: delivers events itself (the hub and the
 * stream do).
 */
import { DEFAULT_SSE_HEARTBEAT_MS } from "../../config/defaults.ts";
import { EtcdError, GrpcCode } from "../../etcd/errors.ts";
import { prefixEnd } from "../../etcd/keys.ts";
import { EMPTY_BYTES } from "../../etcd/types.ts";
import type { ApiMember } from "../../member/client_api.ts";
import { decodeGoBase64 } from "../compat/go_base64.ts";
import { errorResponse, streamErrorLine, streamErrorResponse } from "../http.ts";
import { jsonValues, type StreamedValue } from "../compat/json_stream.ts";
import { watchRequestSize } from "../compat/proto_size.ts";
import { checkMessageSize } from "../../etcd/request_checks.ts";
import { decodeWith } from "../compat/proto_json.ts";
import { toWatchRequest, type WatchRequest, watchRequestSchema } from "../schemas/watch_lease.ts";
import type { WatchCreate, WatchPermission } from "../../watch/session.ts";
import { tokenOf } from "../handler.ts";
import { gatewayFraming, sseFraming, WatchStream } from "../watch_stream.ts";


const invalid = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message);

function decodeRequest(value: Parameters<typeof decodeWith>[1]): WatchRequest | EtcdError {
  const decoded = decodeWith(watchRequestSchema, value);
  return decoded.ok ? toWatchRequest(decoded.value) : invalid(decoded.error);
}

function handle(stream: WatchStream, request: WatchRequest): void {
  switch (request.kind) {
    case "create": return void stream.create(request.create);
    case "cancel": return stream.cancel(request.watchId);
    case "progress": return stream.requestProgress();
    case "none": return;
  }
}

/** The stream's response; a client going away cancels its body, which closes the stream. */
function streamResponse(stream: WatchStream, headers: Record<string, string>): Response {
  return new Response(stream.body, { headers });
}

/**
 * A request read from the stream: one to handle, one the gateway could not read (UNKNOWN), or one
 * gRPC refused for its size (RESOURCE_EXHAUSTED, measured as protobuf as etcd does).
 */
type ReadRequest = { request: WatchRequest } | { unreadable: EtcdError } | { refused: EtcdError };

function readRequest(value: StreamedValue): ReadRequest {
  if (!value.ok) return value.error.code === GrpcCode.RESOURCE_EXHAUSTED ? { refused: value.error } : { unreadable: value.error };
  const decoded = decodeRequest(value.value);
  if (decoded instanceof EtcdError) return { unreadable: new EtcdError(GrpcCode.UNKNOWN, decoded.message) };
  const tooLarge = checkMessageSize(watchRequestSize(decoded));
  return tooLarge ? { refused: tooLarge } : { request: decoded };
}

/**
 * POST /v3/watch. As etcd's gateway: a first request that does not decode is answered with the
 * error alone (code UNKNOWN, 500); a later one ends the reading of requests (the stream goes on).
 * A request over gRPC's size limit fails the stream: alone (429) when it is the first, else as an
 * error line that ends it.
 */
export async function gatewayWatch(member: ApiMember, request: Request): Promise<Response> {
  const permitted = await watchPermission(member, request);
  if (permitted instanceof EtcdError) return errorResponse(permitted);
  const values = jsonValues(request.body);
  const first = await values.next();
  let firstRequest: WatchRequest | undefined;
  if (!first.done) {
    const read = readRequest(first.value);
    if ("unreadable" in read) return errorResponse(read.unreadable);
    if ("refused" in read) {
      member.refusals.count("GATEWAY_BODY_BYTES_MAX");
      return streamErrorResponse(read.refused);
    }
    firstRequest = read.request;
  }
  const stream = new WatchStream(member, gatewayFraming, permitted);
  if (firstRequest) handle(stream, firstRequest);
  (async () => {
    for await (const value of values) {
      await stream.whenWritable();
      if (stream.closed) return;
      const read = readRequest(value);
      if ("unreadable" in read) return;
      if ("refused" in read) {
        member.refusals.count("GATEWAY_BODY_BYTES_MAX");
        stream.write(streamErrorLine(read.refused));
        return stream.close();
      }
      handle(stream, read.request);
    }
  })().catch(() => {});
  return streamResponse(stream, { "Content-Type": gatewayFraming.contentType });
}

/**
 * What the request's caller may watch (auth): undefined while auth is off and it carries no
 * token; etcd's error for a token that names no one.
 */
async function watchPermission(member: ApiMember, request: Request): Promise<WatchPermission | undefined | EtcdError> {
  const caller = await member.auth.caller(tokenOf(request));
  if (caller instanceof EtcdError) return caller;
  return caller && ((key, rangeEnd) => member.auth.check(caller, [{ kind: "read", key, rangeEnd }]));
}

/** The watch an SSE request asks for, from its query and Last-Event-ID. */
export function sseWatchOf(request: Request): WatchCreate | EtcdError {
  const query = new URL(request.url).searchParams;
  const bytesParam = (name: string): Uint8Array | EtcdError => {
    const text = query.get(name);
    if (text === null) return EMPTY_BYTES;
    const decoded = decodeGoBase64(text);
    return decoded.ok ? decoded.bytes : invalid(`${name}: ${decoded.error}`);
  };
  const flagParam = (name: string): boolean | EtcdError => {
    const text = query.get(name);
    if (text === null || text === "false" || text === "0") return false;
    if (text === "" || text === "true" || text === "1") return true;
    return invalid(`${name}: want true or false, got ${JSON.stringify(text)}`);
  };
  const revisionParam = (name: string, text: string | null): number | EtcdError => {
    if (text === null) return 0;
    return /^\d{1,15}$/.test(text) ? Number(text) : invalid(`${name}: want a revision (a non-negative integer), got ${JSON.stringify(text)}`);
  };
  let key = bytesParam("key");
  let rangeEnd = bytesParam("range_end");
  const prefix = query.get("prefix");
  if (prefix !== null) {
    if (query.has("key") || query.has("range_end")) return invalid("prefix: give either prefix or key and range_end, not both");
    key = new TextEncoder().encode(prefix);
    rangeEnd = prefixEnd(key);
  }
  let startRevision = revisionParam("start_revision", query.get("start_revision"));
  const lastEventId = request.headers.get("last-event-id");
  if (lastEventId !== null && lastEventId !== "") {
    const last = revisionParam("Last-Event-ID", lastEventId);
    // A reconnect resumes right after the last revision the client saw.
    startRevision = last instanceof EtcdError ? last : last + 1;
  }
  const prevKv = flagParam("prev_kv");
  const progressNotify = flagParam("progress_notify");
  const filters = query.getAll("filters").flatMap((f) => f.split(",")).filter((f) => f !== "");
  const unknown = filters.find((f) => f !== "NOPUT" && f !== "NODELETE");
  if (unknown !== undefined) return invalid(`filters: unknown value ${JSON.stringify(unknown)} (want NOPUT or NODELETE)`);
  for (const value of [key, rangeEnd, startRevision, prevKv, progressNotify]) if (value instanceof EtcdError) return value;
  return {
    key: key as Uint8Array,
    rangeEnd: rangeEnd as Uint8Array,
    startRevision: startRevision as number,
    prevKv: prevKv as boolean,
    progressNotify: progressNotify as boolean,
    noPut: filters.includes("NOPUT"),
    noDelete: filters.includes("NODELETE"),
    watchId: 0,
  };
}

/** SSE streams of one app, and the one timer that sends their heartbeats while there are any. */
export class SseStreams {
  readonly #streams = new Set<WatchStream>();
  readonly #heartbeatMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(heartbeatMs = DEFAULT_SSE_HEARTBEAT_MS) {
    this.#heartbeatMs = heartbeatMs;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** GET /v3/watch. */
  async open(member: ApiMember, request: Request): Promise<Response> {
    const create = sseWatchOf(request);
    if (create instanceof EtcdError) return errorResponse(create);
    const permitted = await watchPermission(member, request);
    if (permitted instanceof EtcdError) return errorResponse(permitted);
    const stream = new WatchStream(member, sseFraming, permitted);
    this.#streams.add(stream);
    stream.onClose = () => {
      this.#streams.delete(stream);
      if (this.#streams.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
    this.#timer ??= setInterval(() => {
      for (const s of this.#streams) s.heartbeat();
    }, this.#heartbeatMs);
    // Reconnect a second after a drop, and tell the proxy in front not to buffer.
    stream.write("retry: 1000\n\n");
    stream.create(create);
    return streamResponse(stream, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    });
  }
}
