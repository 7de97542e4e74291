/**
 * The peer port, plain or TLS, on each runtime: Bun.serve serves TLS itself, asking for client
 * certificates when peers must present one; Deno.serve cannot ask for them, so on Deno a TLS peer
 * port is accepted by the client port's acceptor (node:tls, which can) and piped to Deno.serve as
 * plain HTTP/1.1 — without WebSocket streams, which members on Deno do not open (they POST).
 *
 * Owns: that choice. Never: routes.
 */
import { serveClientPort } from "./client_port.ts";
import { type FetchHandler, type Listener, serve, type ServeTls, type SocketHandler } from "./serve.ts";

export async function servePeerPort(hostname: string, port: number, fetch: FetchHandler, sockets: SocketHandler, tls: ServeTls | undefined): Promise<Listener> {
  if (!tls || (globalThis as { Bun?: unknown }).Bun) return serve(hostname, port, fetch, sockets, tls);
  return await serveClientPort(hostname, port, fetch, { tls });
}
