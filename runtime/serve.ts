/**
 * Serving HTTP on Bun or Deno with the runtime's own server (runtime/ is the one folder that knows
 * which runtime it is on; the client port, HTTP/1.1 and HTTP/2 on one port, is client_port.ts).
 *
 * Owns: binding a fetch handler to a host and port (or a unix socket), with Bun's idle timeout off
 * so long streams live, accepting WebSockets on one path, and closing it. Never: routes or
 * application logic.
 */
import { PEER_FRAME_BYTES_MAX } from "../config/limits.ts";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** WebSockets accepted on `path`: binary frames in, nothing out. */
export interface SocketHandler {
  path: string;
  /** Accepts the upgrade, naming who is on the other end, or answers instead. */
  accept(request: Request): { peer: string } | { refused: Response };
  onMessage(data: Uint8Array, peer: string): void;
}

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** TLS for Bun.serve: the member's certificate, and the CA a client's must be signed by when one is required. */
export interface ServeTls {
  cert: string;
  key: string;
  ca?: string;
  requireCertificate: boolean;
}

type BunServer = { port: number; stop(closeActive?: boolean): Promise<void> | void; upgrade(request: Request, options: { data: string }): boolean };
type BunRuntime = {
  serve(options: {
    hostname?: string;
    port?: number;
    unix?: string;
    tls?: { cert: string; key: string; ca?: string; requestCert: boolean; rejectUnauthorized: boolean };
    fetch: (request: Request, server: BunServer) => Response | Promise<Response> | undefined;
    idleTimeout: number;
    websocket?: { message(ws: { data: string }, data: string | Uint8Array): void; maxPayloadLength: number };
  }): BunServer;
};
type DenoServer = { addr: { port: number }; shutdown(): Promise<void> };
type DenoRuntime = {
  serve(
    options: { hostname: string; port: number; onListen?: () => void } | { path: string; transport: "unix"; onListen?: () => void },
    handler: FetchHandler,
  ): DenoServer;
  upgradeWebSocket(request: Request): { socket: WebSocket; response: Response };
};

const isUpgrade = (request: Request, sockets: SocketHandler | undefined) =>
  sockets !== undefined && request.headers.get("upgrade")?.toLowerCase() === "websocket" && new URL(request.url).pathname === sockets.path;


/** Serves `fetch` (and `sockets`) on a port; with `tls`, on Bun only (peer_port.ts serves TLS on Deno). */
export function serve(hostname: string, port: number, fetch: FetchHandler, sockets?: SocketHandler, tls?: ServeTls): Listener {
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (bun) {
    const secure = tls
      ? { tls: { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requireCertificate, rejectUnauthorized: tls.requireCertificate } }
      : {};
    // Only a server that takes WebSockets is told about them: the client port answers plain
    // requests with the handler itself, nothing in between.
    const server = sockets
      ? bun.serve({
        hostname, port, idleTimeout: 0, ...secure,
        fetch: (request, srv) => {
          if (!isUpgrade(request, sockets)) return fetch(request);
          const accepted = sockets.accept(request);
          if ("refused" in accepted) return accepted.refused;
          return srv.upgrade(request, { data: accepted.peer }) ? undefined : new Response("websocket upgrade failed\n", { status: 400 });
        },
        websocket: {
          maxPayloadLength: PEER_FRAME_BYTES_MAX,
          message: (ws, data) => {
            if (typeof data !== "string") sockets.onMessage(data, ws.data);
          },
        },
      })
      : bun.serve({ hostname, port, idleTimeout: 0, ...secure, fetch });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  const deno = (globalThis as { Deno?: DenoRuntime }).Deno;
  if (deno) {
    if (tls) throw new Error("Deno.serve cannot ask for client certificates: serve TLS through runtime/peer_port.ts");
    const server = deno.serve({ hostname, port, onListen: () => {} }, (request) => {
      if (!isUpgrade(request, sockets)) return fetch(request);
      const accepted = sockets!.accept(request);
      if ("refused" in accepted) return accepted.refused;
      const { socket, response } = deno.upgradeWebSocket(request);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) sockets!.onMessage(new Uint8Array(e.data), accepted.peer);
      };
      return response;
    });
    return { port: server.addr.port, close: () => server.shutdown() };
  }
  throw new Error("concord runs on Bun or Deno (run it with `bun server.ts` or `deno task start`)");
}

/** Serves `fetch` on a unix socket at `path` (the client port pipes its HTTP/1.1 connections here). */
export function serveUnix(path: string, fetch: FetchHandler): { close(): Promise<void> } {
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (bun) {
    const server = bun.serve({ unix: path, idleTimeout: 0, fetch });
    return { close: async () => void (await server.stop(true)) };
  }
  const deno = (globalThis as { Deno?: DenoRuntime }).Deno;
  if (deno) {
    const server = deno.serve({ path, transport: "unix", onListen: () => {} }, fetch);
    return { close: () => server.shutdown() };
  }
  throw new Error("concord runs on Bun or Deno (run it with `bun server.ts` or `deno task start`)");
}

export function args(): string[] {
  const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
  return deno ? deno.args : process.argv.slice(2);
}

export function env(): Record<string, string | undefined> {
  return process.env;
}

/** Calls `fn` once on SIGINT or SIGTERM. */
export function onShutdown(fn: () => void): void {
  process.once("SIGINT", fn);
  process.once("SIGTERM", fn);
}
