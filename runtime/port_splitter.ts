/**
 * The client port's acceptor, run on its own thread (client_port_worker.ts): accepts each
 * connection, reads its first bytes until they tell HTTP/2 from HTTP/1.1 (h2_preface.ts), then
 * pipes it whole — those bytes first, unchanged — to the member's HTTP/1.1 server or its HTTP/2
 * sink, each listening on a unix socket. With the runtime's own sockets (Bun.listen / Deno.listen),
 * not node:net: a pipe costs a third as much CPU that way.
 *
 * Why a pipe at all: Bun.serve and Deno.serve parse HTTP/1.1 best but cannot be handed a socket
 * someone else accepted, and neither can send gRPC's trailers, so the port must be accepted here.
 *
 * With TLS the handshake happens here too (ALPN prefers http/1.1, so a client offering both —
 * curl, a browser — gets the JSON gateway, while gRPC clients offer only h2; with a CA, a client
 * without a certificate it signed fails the handshake) and the inner servers see plain bytes: on
 * Bun Bun.listen's own TLS; on Deno node:tls, whose server can ask for client certificates
 * (Deno.listenTls cannot). Over TLS on Bun a client's half-close ends the connection (Bun's TLS
 * sockets close on close_notify), so a client that half-closes before its answer loses it there.
 *
 * Owns: accepting, classifying, piping both ways with backpressure (a side that cannot take more
 * stops the other being read), half-closes passed on, an end on either side ending both, and
 * closing every connection when closed. A connection over the process's budget is closed at
 * once; one that has not told what it speaks within the peek timeout is closed; one the inner
 * server cannot take yet (its accept queue full) waits and tries again. Never: parses HTTP, or
 * lets one connection's failure reach another.
 */
import {
  CLIENT_PORT_CONNECT_RETRY_MS_MAX,
  CLIENT_PORT_CONNECT_RETRY_MS_MIN,
  CLIENT_PORT_CONNECT_TIMEOUT_MS,
  CLIENT_PORT_READ_BYTES_MAX,
  CLIENT_PORT_READ_BYTES_MIN,
} from "../config/limits.ts";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { classify, type Protocol } from "./h2_preface.ts";

/** PEM text to serve TLS with; a client must present a certificate `ca` signed when `requireCertificate`. */
export interface SplitterTls {
  cert: string;
  key: string;
  ca?: string;
  requireCertificate: boolean;
}

export interface SplitterOptions {
  hostname: string;
  port: number;
  /** Where HTTP/1.1 connections go (a unix socket). */
  http1Path: string;
  /** Where HTTP/2 connections go (a unix socket); without one they are closed at once. */
  h2Path?: string;
  peekTimeoutMs: number;
  /** Client connections open (element 0), shared by every splitter of the process … */
  connectionsOpen: Int32Array;
  /** … and how many may be; one more is closed at once … */
  connectionsMax: number;
  /** … and counted here (element 0), shared the same way. */
  connectionsRefused: Int32Array;
  /** Serve TLS with this; plain TCP without. */
  tls?: SplitterTls;
}

export interface Splitter {
  readonly port: number;
  /** Stops accepting and closes every connection, both of its sides. */
  close(): void;
}

/** Starts accepting; throws when the port cannot be bound. */
export function listenSplitter(options: SplitterOptions): Promise<Splitter> {
  const bun = (globalThis as { Bun?: BunSockets }).Bun;
  if (bun) return Promise.resolve(bunSplitter(bun, options));
  const deno = (globalThis as { Deno?: DenoSockets }).Deno;
  if (deno) return denoSplitter(deno, options);
  throw new Error("concord runs on Bun or Deno");
}

/** Counts a new connection in, unless the budget is spent (then it is not counted: close it). */
function admit(options: SplitterOptions): boolean {
  if (Atomics.add(options.connectionsOpen, 0, 1) < options.connectionsMax) return true;
  Atomics.sub(options.connectionsOpen, 0, 1);
  Atomics.add(options.connectionsRefused, 0, 1);
  return false;
}

/** How long to wait before connecting to the inner server again after `attempt` refusals, ms; undefined: give up. */
function retryWaitMs(attempt: number, waitedMs: number): number | undefined {
  if (waitedMs >= CLIENT_PORT_CONNECT_TIMEOUT_MS) return undefined;
  return Math.min(CLIENT_PORT_CONNECT_RETRY_MS_MIN * 2 ** attempt, CLIENT_PORT_CONNECT_RETRY_MS_MAX);
}

const concat = (a: Uint8Array, b: Uint8Array) => {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
};

// ---- Bun: callbacks on native sockets; write() takes what the kernel takes, the rest waits here ----

interface BunSocket<T> {
  data: T;
  write(data: Uint8Array): number;
  end(): void;
  shutdown(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}
interface BunHandlers<T> {
  open?(socket: BunSocket<T>): void;
  data(socket: BunSocket<T>, data: Uint8Array): void;
  drain?(socket: BunSocket<T>): void;
  end?(socket: BunSocket<T>): void;
  close?(socket: BunSocket<T>): void;
  error?(socket: BunSocket<T>, error: Error): void;
}
/** ALPN's wire form (each name after its length), which Bun.listen takes; the server's preference first. */
const ALPN_PROTOCOLS = new TextEncoder().encode("\x08http/1.1\x02h2");

type BunTls = { cert: string; key: string; ca?: string; requestCert: boolean; rejectUnauthorized: boolean; ALPNProtocols: Uint8Array };
interface BunSockets {
  listen<T>(options: { hostname: string; port: number; tls?: BunTls; socket: BunHandlers<T> }): { port: number; stop(closeActive?: boolean): void };
  connect<T>(options: { unix: string; data: T; socket: BunHandlers<T> }): Promise<BunSocket<T>>;
}

/** One accepted connection and, once it is classified and connected, its inner side. */
class BunPipe {
  /** Bytes read before the connection was classified; undefined after. */
  head: Uint8Array | undefined = new Uint8Array(0);
  inner: BunSocket<BunPipe> | undefined;
  /** Bytes the inner socket has not taken yet, and bytes the client's has not; while either holds any, the side feeding it is paused. */
  readonly toInner: Uint8Array[] = [];
  readonly toClient: Uint8Array[] = [];
  clientEnded = false;
  innerEnded = false;
  clientClosed = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly client: BunSocket<BunPipe>, readonly admitted: boolean) {}
}

/** Writes what `queue` holds until the socket takes no more; true when all went. */
function flush(socket: BunSocket<BunPipe>, queue: Uint8Array[]): boolean {
  while (queue.length > 0) {
    const chunk = queue[0];
    const written = Math.max(0, socket.write(chunk));
    if (written < chunk.length) {
      queue[0] = chunk.subarray(written);
      return false;
    }
    queue.shift();
  }
  return true;
}

/** Writes `data` now, or queues what the socket did not take (a copy, in case the runtime reuses its buffer) and pauses `source`. */
function forward(to: BunSocket<BunPipe>, queue: Uint8Array[], data: Uint8Array, source: BunSocket<BunPipe>) {
  if (queue.length === 0) {
    const written = Math.max(0, to.write(data));
    if (written === data.length) return;
    data = data.subarray(written);
  }
  queue.push(data.slice());
  source.pause();
}

function bunSplitter(bun: BunSockets, options: SplitterOptions): Splitter {
  const open = new Set<BunSocket<BunPipe>>();
  const inner: BunHandlers<BunPipe> = {
    open(socket) {
      const pipe = socket.data;
      open.add(socket);
      pipe.inner = socket;
      if (pipe.clientClosed) return socket.end();
      if (flush(socket, pipe.toInner)) {
        pipe.client.resume();
        if (pipe.clientEnded) socket.shutdown();
      }
    },
    data(socket, data) {
      forward(socket.data.client, socket.data.toClient, data, socket);
    },
    drain(socket) {
      const pipe = socket.data;
      if (!flush(socket, pipe.toInner)) return;
      pipe.client.resume();
      if (pipe.clientEnded) socket.shutdown();
    },
    end(socket) {
      socket.data.innerEnded = true;
      if (socket.data.toClient.length === 0) socket.data.client.shutdown();
    },
    close(socket) {
      open.delete(socket);
      const pipe = socket.data;
      pipe.innerEnded = true;
      // What the member answered last still goes out; the client's drain ends it.
      if (pipe.toClient.length === 0) pipe.client.end();
    },
  };
  /** Connects `pipe` to the inner server at `path`, retrying while it refuses (the client stays paused). */
  const connectInner = (pipe: BunPipe, path: string, attempt = 0, waitedMs = 0) => {
    bun.connect({ unix: path, data: pipe, socket: inner }).catch(() => {
      if (pipe.clientClosed) return;
      const waitMs = retryWaitMs(attempt, waitedMs);
      if (waitMs === undefined) return pipe.client.end();
      setTimeout(() => connectInner(pipe, path, attempt + 1, waitedMs + waitMs), waitMs);
    });
  };
  const tls = options.tls;
  const server = bun.listen<BunPipe>({
    hostname: options.hostname,
    port: options.port,
    ...(tls
      ? {
        tls: {
          cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}),
          requestCert: tls.requireCertificate, rejectUnauthorized: tls.requireCertificate, ALPNProtocols: ALPN_PROTOCOLS,
        },
      }
      : {}),
    socket: {
      open(client) {
        const pipe = new BunPipe(client, admit(options));
        client.data = pipe;
        if (!pipe.admitted) return client.terminate();
        open.add(client);
        pipe.timer = setTimeout(() => client.end(), options.peekTimeoutMs);
      },
      data(client, data) {
        const pipe = client.data;
        if (pipe.head === undefined) {
          if (pipe.inner === undefined || pipe.toInner.length > 0) {
            pipe.toInner.push(data.slice());
            client.pause();
          } else forward(pipe.inner, pipe.toInner, data, client);
          return;
        }
        const head = concat(pipe.head, data);
        const protocol = classify(head);
        if (protocol === undefined) {
          pipe.head = head;
          return;
        }
        clearTimeout(pipe.timer);
        pipe.head = undefined;
        const path = protocol === "h2" ? options.h2Path : options.http1Path;
        if (path === undefined) return client.end();
        pipe.toInner.push(head);
        client.pause();
        connectInner(pipe, path);
      },
      drain(client) {
        const pipe = client.data;
        if (!flush(client, pipe.toClient)) return;
        if (pipe.innerEnded) client.end();
        else pipe.inner?.resume();
      },
      end(client) {
        const pipe = client.data;
        pipe.clientEnded = true;
        if (pipe.inner && pipe.toInner.length === 0) pipe.inner.shutdown();
      },
      close(client) {
        const pipe = client.data;
        if (!pipe.admitted) return;
        Atomics.sub(options.connectionsOpen, 0, 1);
        open.delete(client);
        clearTimeout(pipe.timer);
        pipe.clientClosed = true;
        pipe.inner?.end();
      },
    },
  });
  return {
    port: server.port,
    close() {
      server.stop(true);
      for (const socket of open) socket.terminate();
      open.clear();
    },
  };
}

// ---- Deno: a read loop each way; a write is awaited, so a side that cannot take more stops the reads ----

interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}
interface DenoSockets {
  listen(options: { hostname: string; port: number }): AsyncIterable<DenoConn> & { addr: { port: number }; close(): void };
  connect(options: { transport: "unix"; path: string }): Promise<DenoConn>;
}

/** Connects to the inner server at `path`, retrying while it refuses; throws once the wait is over. */
async function connectInner(deno: DenoSockets, path: string): Promise<DenoConn> {
  for (let attempt = 0, waitedMs = 0;; attempt++) {
    try {
      return await deno.connect({ transport: "unix", path });
    } catch (error) {
      const waitMs = retryWaitMs(attempt, waitedMs);
      if (waitMs === undefined) throw error;
      await new Promise((r) => setTimeout(r, waitMs));
      waitedMs += waitMs;
    }
  }
}

async function writeAll(conn: DenoConn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** Copies `from` to `to` until `from` ends, then half-closes `to`; throws when either fails. */
async function copy(from: DenoConn, to: DenoConn): Promise<void> {
  let buffer = new Uint8Array(CLIENT_PORT_READ_BYTES_MIN);
  for (;;) {
    const n = await from.read(buffer);
    if (n === null) break;
    await writeAll(to, buffer.subarray(0, n));
    if (n === buffer.length && buffer.length < CLIENT_PORT_READ_BYTES_MAX) buffer = new Uint8Array(buffer.length * 2);
  }
  await to.closeWrite();
}

function closeQuietly(conn: DenoConn) {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Accepted connections, handed to `onConn` as they come; plain from Deno.listen, TLS from node:tls. */
interface DenoAcceptor {
  port: number;
  close(): void;
}

async function denoAcceptor(deno: DenoSockets, options: SplitterOptions, onConn: (conn: DenoConn) => void): Promise<DenoAcceptor> {
  const tls = options.tls;
  if (!tls) {
    const listener = deno.listen({ hostname: options.hostname, port: options.port });
    (async () => {
      try {
        for await (const client of listener) onConn(client);
      } catch {
        // the listener was closed
      }
    })();
    return { port: listener.addr.port, close: () => listener.close() };
  }
  const server = createTlsServer({
    cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}),
    requestCert: tls.requireCertificate, rejectUnauthorized: tls.requireCertificate,
    ALPNProtocols: ["http/1.1", "h2"], handshakeTimeout: options.peekTimeoutMs,
    // A client that half-closes (sends its request, then FIN) still gets its answer.
    allowHalfOpen: true,
  }, (socket) => onConn(nodeConn(socket)));
  // A failed handshake ends that connection only.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => resolve());
  });
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** A node:tls socket in the shape of a Deno connection: reads awaited one chunk at a time (the socket paused in between), writes awaited until taken. */
function nodeConn(socket: TLSSocket): DenoConn {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  socket.on("data", (data: Uint8Array) => {
    chunks.push(data);
    socket.pause();
    wake?.();
  });
  socket.on("end", () => {
    ended = true;
    wake?.();
  });
  socket.on("close", () => {
    ended = true;
    wake?.();
  });
  socket.on("error", (e) => {
    failed = e;
    wake?.();
  });
  return {
    async read(buffer) {
      while (chunks.length === 0) {
        if (failed) throw failed;
        if (ended) return null;
        socket.resume();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      const chunk = chunks[0];
      const n = Math.min(chunk.length, buffer.length);
      buffer.set(chunk.subarray(0, n));
      if (n === chunk.length) chunks.shift();
      else chunks[0] = chunk.subarray(n);
      return n;
    },
    write: (data) => new Promise((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve(data.length)))),
    closeWrite: () => new Promise((resolve) => socket.end(() => resolve())),
    close: () => void socket.destroy(),
  };
}

async function denoSplitter(deno: DenoSockets, options: SplitterOptions): Promise<Splitter> {
  const open = new Set<DenoConn>();
  /** Reads until the bytes classify; undefined when the client ends or the peek time runs out first. */
  const peek = async (client: DenoConn): Promise<{ protocol: Protocol; head: Uint8Array } | undefined> => {
    const timer = setTimeout(() => closeQuietly(client), options.peekTimeoutMs);
    try {
      let head = new Uint8Array(0);
      const buffer = new Uint8Array(CLIENT_PORT_READ_BYTES_MIN);
      for (;;) {
        const n = await client.read(buffer);
        if (n === null) return undefined;
        head = concat(head, buffer.subarray(0, n));
        const protocol = classify(head);
        if (protocol) return { protocol, head };
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const splice = async (client: DenoConn) => {
    if (!admit(options)) return closeQuietly(client);
    open.add(client);
    let inner: DenoConn | undefined;
    try {
      const first = await peek(client);
      const path = first?.protocol === "h2" ? options.h2Path : options.http1Path;
      if (first === undefined || path === undefined) return;
      inner = await connectInner(deno, path);
      open.add(inner);
      await writeAll(inner, first.head);
      // Either way failing (a reset, a close) ends both; each ending cleanly half-closes the other.
      await Promise.all([copy(client, inner), copy(inner, client)]);
    } catch {
      // the connection is over; the finally below closes what is left of it
    } finally {
      Atomics.sub(options.connectionsOpen, 0, 1);
      closeQuietly(client);
      open.delete(client);
      if (inner) {
        closeQuietly(inner);
        open.delete(inner);
      }
    }
  };
  const acceptor = await denoAcceptor(deno, options, (client) => void splice(client));
  return {
    port: acceptor.port,
    close() {
      acceptor.close();
      for (const conn of open) closeQuietly(conn);
      open.clear();
    },
  };
}
