/**
 * A client port with small services of its own, for tests/runtime/shared_port.test.ts: run as a
 * process on Bun or Deno (`server.ts`'s runtimes), so the test checks the runtime's own sockets.
 *
 * HTTP/1.1: GET /hello, POST /echo, GET /big?bytes=N (a pattern test can check), GET
 * /sse?every_ms=N (an event at once, then every N ms, 20 by default, until the client goes), GET
 * /stats (SSE streams open and ended, HTTP/2 connections handed to the sink), GET /block?ms=N (the
 * main thread busy for N ms). HTTP/2 (with
 * `--sink grpc`): the member's own gRPC server (grpc/h2, grpc/calls.ts) with a unary
 * `/test.Echo/Echo` and a server-streaming `/test.Echo/Count`, on raw bytes (no proto needed).
 *
 * Flags: --port N, --sink grpc|none, --peek-timeout-ms N. Prints "listening on N" once it serves.
 * On SIGTERM it closes the port and the gRPC server and does nothing else: the process must then
 * end by itself, which is what the test checks. Never: calls process.exit.
 */
import { EtcdError, GrpcCode } from "../../etcd/errors.ts";
import { callOpener, type ServedMethod } from "../../grpc/calls.ts";
import { H2Connection } from "../../grpc/h2/connection.ts";
import type { ProtoObject } from "../../grpc/responses.ts";
import type { ByteStream } from "../../runtime/byte_stream.ts";
import { serveClientPort } from "../../runtime/client_port.ts";

const flag = (name: string) => {
  const argv = process.argv;
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};

const stats = { sseOpen: 0, sseEnded: 0, injected: 0 };

/** `bytes` bytes of a repeating pattern (byte i is i % 251), sent whole with its length. */
function big(bytes: number): Response {
  return new Response(Uint8Array.from({ length: bytes }, (_, i) => i % 251));
}

function sse(request: Request, everyMs: number): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    stats.sseOpen--;
    stats.sseEnded++;
  };
  stats.sseOpen++;
  let n = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => {
        try {
          controller.enqueue(new TextEncoder().encode(`data: ${n++}\n\n`));
        } catch {
          end();
        }
      };
      send();
      timer = setInterval(send, everyMs);
      request.signal.addEventListener("abort", end);
    },
    cancel: end,
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/hello") return new Response("hello");
  if (path === "/echo") return new Response(await request.arrayBuffer());
  if (path === "/big") return big(Number(url.searchParams.get("bytes")));
  if (path === "/sse") return sse(request, Number(url.searchParams.get("every_ms") ?? 20));
  if (path === "/stats") return Response.json(stats);
  if (path === "/block") {
    // The main thread busy for a while, as a member's can be: nothing is accepted meanwhile.
    const until = Date.now() + Number(url.searchParams.get("ms"));
    while (Date.now() < until) { /* busy */ }
    return new Response("unblocked");
  }
  return new Response("not found", { status: 404 });
}

/** The two test methods on raw bytes: a message is `{ bytes }`. */
const raw = { decode: (bytes: Buffer) => ({ bytes }), encode: (m: ProtoObject) => m.bytes as Buffer };
const methods: Record<string, ServedMethod> = {
  "/test.Echo/Echo": { ...raw, method: { kind: "unary", handle: (request) => ({ bytes: request.bytes }) } },
  "/test.Echo/Count": {
    ...raw,
    method: {
      kind: "serverStream",
      start: (call, request) => {
        const count = (request.bytes as Buffer).readUInt8(0);
        for (let i = 0; i < count; i++) call.send({ bytes: Buffer.from([i]) });
        call.end();
      },
    },
  },
};
const route = (path: string) => methods[path] ?? new EtcdError(GrpcCode.UNIMPLEMENTED, `unknown method ${path}`);
const connections = new Set<H2Connection>();
const sink = flag("sink") === "grpc"
  ? {
    injectConnection(stream: ByteStream) {
      stats.injected++;
      const connection: H2Connection = new H2Connection(stream, callOpener(route, 1 << 20), () => connections.delete(connection));
      connections.add(connection);
    },
  }
  : undefined;
const port = await serveClientPort("127.0.0.1", Number(flag("port")), handle, {
  h2: sink,
  peekTimeoutMs: flag("peek-timeout-ms") ? Number(flag("peek-timeout-ms")) : undefined,
  onFailure: (e) => console.error(e.message),
});
// The handler is in place before the test hears "listening" and may send SIGTERM at once (on Deno,
// under load, a signal right after the line otherwise found none and killed the process).
process.once("SIGTERM", async () => {
  await port.close();
  for (const connection of connections) connection.close();
  console.log("closed");
});
await new Promise((resolve) => setTimeout(resolve, 0));
console.log(`listening on ${port.port}`);
