/**
 * A connection as bytes in and bytes out, for protocol code the member runs itself (gRPC's
 * HTTP/2): the runtime's cheapest socket behind one small interface. On Bun, its native sockets
 * (Bun.listen): measured under gRPC load, node:net's write path on Bun took ~15% of the main
 * thread. Elsewhere (Deno), node:net.
 *
 * Owns: listening on a unix socket, writes queued until the kernel takes them (in order, none
 * lost), pause and resume of reading, ending once everything written has gone, and saying once
 * when the connection is over. Never: parses what it carries.
 */
import { createServer, type Socket } from "node:net";

export interface ByteStream {
  /** Sends `bytes` after everything written before; what the kernel does not take yet waits here. */
  write(bytes: Uint8Array): void;
  /** Bytes written and not yet taken by the kernel. */
  readonly unsentBytes: number;
  /** Stops reading (onData is not called) until resume(). */
  pause(): void;
  resume(): void;
  /** Ends the connection once everything written has gone. */
  end(): void;
  /** Each piece read; valid only during the call. */
  onData?: (bytes: Buffer) => void;
  /** Everything written has gone. */
  onDrain?: () => void;
  /** The connection is over (either side ended it, or it failed); said once. */
  onClose?: () => void;
}

export interface UnixListener {
  /** Stops listening and ends every connection at once. */
  close(): void;
}

/** Listens on a unix socket; each connection is handed over before any byte is read. */
export function listenUnix(path: string, onConnection: (stream: ByteStream) => void): Promise<UnixListener> {
  const bun = (globalThis as { Bun?: BunSockets }).Bun;
  if (bun) return Promise.resolve(listenBun(bun, path, onConnection));
  return listenNode(path, onConnection);
}

// ---- Bun: native sockets; write() takes what the kernel takes, the rest waits here ----

interface BunSocket {
  data: BunStream;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}
interface BunSockets {
  listen(options: {
    unix: string;
    socket: {
      open(socket: BunSocket): void;
      data(socket: BunSocket, data: Buffer): void;
      drain(socket: BunSocket): void;
      end(socket: BunSocket): void;
      close(socket: BunSocket): void;
      error(socket: BunSocket, error: Error): void;
    };
  }): { stop(closeActive?: boolean): void };
}

class BunStream implements ByteStream {
  onData?: (bytes: Buffer) => void;
  onDrain?: () => void;
  onClose?: () => void;
  readonly #socket: BunSocket;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #ending = false;
  #closed = false;

  constructor(socket: BunSocket) {
    this.#socket = socket;
  }

  get unsentBytes(): number {
    return this.#queued;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || this.#ending || bytes.length === 0) return;
    if (this.#queue.length === 0) {
      const written = Math.max(0, this.#socket.write(bytes));
      if (written === bytes.length) return;
      bytes = bytes.subarray(written);
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
  }

  pause(): void {
    if (!this.#closed) this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (this.#queue.length === 0) this.#socket.end();
  }

  /** The kernel has room: what waited goes; then the end, or the news that all has gone. */
  drained(): void {
    while (this.#queue.length > 0) {
      const next = this.#queue[0];
      const written = Math.max(0, this.#socket.write(next));
      this.#queued -= written;
      if (written < next.length) {
        this.#queue[0] = next.subarray(written);
        return;
      }
      this.#queue.shift();
    }
    if (this.#ending) return this.#socket.end();
    this.onDrain?.();
  }

  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.onClose?.();
  }

  terminate(): void {
    this.#socket.terminate();
    this.closed();
  }
}

function listenBun(bun: BunSockets, path: string, onConnection: (stream: ByteStream) => void): UnixListener {
  const open = new Set<BunStream>();
  const server = bun.listen({
    unix: path,
    socket: {
      open(socket) {
        const stream = new BunStream(socket);
        socket.data = stream;
        open.add(stream);
        onConnection(stream);
      },
      data: (socket, data) => socket.data.onData?.(data),
      drain: (socket) => socket.data.drained(),
      // The client has ended its side: ours ends too (HTTP/2 has no use for half a connection).
      end: (socket) => socket.data.end(),
      close(socket) {
        open.delete(socket.data);
        socket.data.closed();
      },
      error: (socket) => socket.data.terminate(),
    },
  });
  return {
    close() {
      server.stop(true);
      for (const stream of open) stream.terminate();
      open.clear();
    },
  };
}

// ---- elsewhere: node:net ----

/** A node:net socket as a ByteStream (Deno's listener, and tests that accept with node:net). */
export function fromNodeSocket(socket: Socket): ByteStream {
  let closed = false;
  const stream: ByteStream = {
    write: (bytes) => {
      if (!closed && !socket.writableEnded) socket.write(bytes);
    },
    get unsentBytes() {
      return socket.writableLength;
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      if (!socket.writableEnded) socket.end();
    },
  };
  const close = () => {
    if (closed) return;
    closed = true;
    stream.onClose?.();
  };
  socket.on("data", (bytes: Buffer) => stream.onData?.(bytes));
  socket.on("drain", () => stream.onDrain?.());
  socket.on("end", () => stream.end());
  socket.on("error", () => socket.destroy());
  socket.on("close", close);
  return stream;
}

async function listenNode(path: string, onConnection: (stream: ByteStream) => void): Promise<UnixListener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    onConnection(fromNodeSocket(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  // An accept that fails (descriptors ran out) loses that connection alone: it must not throw.
  server.on("error", () => {});
  return {
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
