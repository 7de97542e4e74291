/**
 * The thread the client port's acceptor runs on (port_splitter.ts), so that piping each
 * connection costs the member's main thread nothing: the main thread sees only its own HTTP/1.1
 * server's and HTTP/2 sink's sockets, as it would without the shared port.
 *
 * Owns: the messages between the main thread and this one (below). Never: anything but the
 * splitter — no member state lives on this thread.
 */
import { listenSplitter, type Splitter, type SplitterOptions } from "./port_splitter.ts";

/** From the main thread: start with these options, then (once) close. */
export type ToWorker = { start: SplitterOptions } | { close: true };
/** To the main thread: listening on a port or failed to; closed (every connection ended). */
export type FromWorker = { listening: number } | { failed: string } | { closed: true };

const scope = globalThis as unknown as { onmessage: (e: MessageEvent<ToWorker>) => void; postMessage(m: FromWorker): void };
let splitter: Splitter | undefined;

scope.onmessage = async (e) => {
  const message = e.data;
  if ("start" in message) {
    try {
      splitter = await listenSplitter(message.start);
      scope.postMessage({ listening: splitter.port });
    } catch (error) {
      scope.postMessage({ failed: (error as Error).message });
    }
    return;
  }
  splitter?.close();
  scope.postMessage({ closed: true });
};
