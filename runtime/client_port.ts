/**
 * The client port: etcd serves gRPC (HTTP/2 without TLS) and its JSON gateway (HTTP/1.1) on one
 * port, and so does a member — `etcdctl --endpoints=127.0.0.1:2379`, curl, SSE and the console
 * all on 2379.
 *
 * How: a worker thread accepts the port (client_port_worker.ts, port_splitter.ts) and pipes each
 * connection to one of two unix sockets in a directory only this user can enter: HTTP/1.1 to the
 * runtime's own server (serve.ts) running the fetch handler, HTTP/2 to a unix listener whose
 * connections go to the sink (byte_stream.ts: the runtime's own sockets where it has them). The main thread's work per request is
 * what it was with Bun.serve or Deno.serve on the port itself; the pipe's is on the worker. Each
 * client connection holds three descriptors (its own, the pipe's, the inner server's): the ports
 * of a process together take no more connections than its open-file limit leaves room for.
 *
 * Owns: the inner servers, the worker, the socket directory, and closing all of them. Never:
 * routes or gRPC — the sink is only something that takes a connection.
 */
import { startWorker } from "./workers.ts";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_PORT_DESCRIPTORS_RESERVED, CLIENT_PORT_PEEK_TIMEOUT_MS } from "../config/limits.ts";
import { type ByteStream, listenUnix } from "./byte_stream.ts";
import type { FromWorker, ToWorker } from "./client_port_worker.ts";
import type { SplitterTls } from "./port_splitter.ts";
import { type FetchHandler, type Listener, serveUnix } from "./serve.ts";

/** Takes over a connection that speaks HTTP/2, its first bytes (the preface) unread — grpc/server.ts's grpcConnections is one. */
export interface ConnectionSink {
  injectConnection(socket: ByteStream): void;
}

export interface ClientPortOptions {
  /** Where HTTP/2 connections go; without a sink they are closed as soon as they are recognised. */
  h2?: ConnectionSink;
  /** Called once if the acceptor's thread dies: the port serves no new connection after it. */
  onFailure?: (error: Error) => void;
  /** Tests turn it down. */
  peekTimeoutMs?: number;
  /** Serve TLS (HTTP/1.1 and gRPC alike) with this. */
  tls?: SplitterTls;
}

/** Descriptors one client connection holds: the client's socket, the pipe's, the inner server's. */
const DESCRIPTORS_PER_CONNECTION = 3;

/**
 * How many client connections this process can hold: its open-file limit (Linux's
 * /proc/self/limits; elsewhere no bound is known, and none is kept) less the reserve, over three.
 */
function connectionsMax(): number {
  let limits = "";
  try {
    limits = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return 2 ** 31 - 1;
  }
  const files = /^Max open files\s+(\d+)/m.exec(limits);
  if (!files) return 2 ** 31 - 1;
  return Math.max(0, Math.floor((Number(files[1]) - CLIENT_PORT_DESCRIPTORS_RESERVED) / DESCRIPTORS_PER_CONNECTION));
}

/** Client connections open on every client port of the process, counted by their acceptors' threads … */
const connectionsOpen = new Int32Array(new SharedArrayBuffer(4));
/** … and those closed at once because the process could hold no more. */
const connectionsRefused = new Int32Array(new SharedArrayBuffer(4));

/** Client connections refused so far because the process could hold no more (its descriptors, less the reserve). */
export const clientConnectionsRefused = (): number => Atomics.load(connectionsRefused, 0);

/** The directories of the inner servers' sockets: the prefix, then the process id, then random letters. */
const SOCKET_DIR_PREFIX = "concord-client-port-";

/**
 * Removes what processes that were killed before they could close their ports left in the
 * temporary directory (a test suite kills members with SIGKILL by the hundred): a directory whose
 * process is gone. Once per process.
 */
let swept = false;
function sweepSocketDirs(): void {
  if (swept) return;
  swept = true;
  for (const name of readdirSync(tmpdir())) {
    const pid = name.startsWith(SOCKET_DIR_PREFIX) ? Number(name.slice(SOCKET_DIR_PREFIX.length).split("-")[0]) : NaN;
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH"; // EPERM: someone else's, alive
  }
}

/** Serves `fetch` (HTTP/1.1) and `options.h2` (HTTP/2) on one port; throws when it cannot be bound. */
export async function serveClientPort(hostname: string, port: number, fetch: FetchHandler, options: ClientPortOptions = {}): Promise<Listener> {
  sweepSocketDirs();
  const dir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
  const http1Path = join(dir, "http1.sock");
  const h2Path = options.h2 ? join(dir, "h2.sock") : undefined;
  const http1 = serveUnix(http1Path, fetch);
  const sink = options.h2;
  const h2 = h2Path && sink ? await listenUnix(h2Path, (stream) => sink.injectConnection(stream)) : undefined;
  const worker = startWorker(new URL("./client_port_worker.ts", import.meta.url), "client-port");
  const send = (message: ToWorker) => worker.postMessage(message);
  let closing = false;
  let dead = false;
  let answered: ((message: FromWorker) => void) | undefined;
  const answer = () => new Promise<FromWorker>((resolve) => (answered = resolve));
  worker.onmessage = (e: MessageEvent<FromWorker>) => answered?.(e.data);
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault?.();
    dead = true;
    const error = new Error(`the client port's acceptor on ${hostname}:${port} failed: ${e.message}`);
    if (answered) answered({ failed: error.message });
    else if (!closing) options.onFailure?.(error);
  };
  const closeInner = async () => {
    worker.terminate();
    h2?.close();
    await http1.close();
    rmSync(dir, { recursive: true, force: true });
  };

  const listening = answer();
  send({
    start: {
      hostname, port, http1Path, h2Path, peekTimeoutMs: options.peekTimeoutMs ?? CLIENT_PORT_PEEK_TIMEOUT_MS,
      connectionsOpen, connectionsMax: connectionsMax(), connectionsRefused, ...(options.tls ? { tls: options.tls } : {}),
    },
  });
  const started = await listening;
  answered = undefined;
  if (!("listening" in started)) {
    await closeInner();
    throw new Error(`cannot serve clients on ${hostname}:${port}: ${"failed" in started ? started.failed : "no answer"}`);
  }
  return {
    port: started.listening,
    close: async () => {
      if (closing) return;
      closing = true;
      // The acceptor closes the clients' sockets first, so every pipe ends before the servers stop
      // (a dead one closed them as it died).
      if (!dead) {
        const closed = answer();
        send({ close: true });
        await closed;
        answered = undefined;
      }
      await closeInner();
    },
  };
}
