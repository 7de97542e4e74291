/**
 * Serving HTTP on Bun or Deno: the one place that knows which runtime it is on.
 *
 * Owns: binding a fetch handler to a host and port, with Bun's idle timeout off so long streams
 * live, and closing it. Never: routes or application logic.
 */

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

type BunServer = { port: number; stop(closeActive?: boolean): Promise<void> | void };
type BunRuntime = { serve(options: { hostname: string; port: number; fetch: FetchHandler; idleTimeout: number }): BunServer };
type DenoServer = { addr: { port: number }; shutdown(): Promise<void> };
type DenoRuntime = {
  serve(options: { hostname: string; port: number; onListen?: () => void }, handler: FetchHandler): DenoServer;
};

export function serve(hostname: string, port: number, fetch: FetchHandler): Listener {
  const bun = (globalThis as { Bun?: BunRuntime }).Bun;
  if (bun) {
    const server = bun.serve({ hostname, port, fetch, idleTimeout: 0 });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  const deno = (globalThis as { Deno?: DenoRuntime }).Deno;
  if (deno) {
    const server = deno.serve({ hostname, port, onListen: () => {} }, fetch);
    return { port: server.addr.port, close: () => server.shutdown() };
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
