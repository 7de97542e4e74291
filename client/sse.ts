/**
 * Server-Sent Events read from a fetch body, as EventSource parses them (fields `id`, `data`,
 * `retry`; comments; events dispatched on a blank line; CR, LF or CRLF line ends) — for runtimes
 * without EventSource (Node, Bun, Deno, edge functions) and to control reconnecting ourselves.
 *
 * Owns: the parsing. Never: what the events mean.
 */

export interface SseEvent {
  /** The event's id (`id:`), or the last one seen before it. */
  id: string;
  data: string;
}

/** The events of an SSE body, as they arrive; ends with the body. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let lastId = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      for (let at = buffered.search(/\r\n|\r|\n/); at >= 0; at = buffered.search(/\r\n|\r|\n/)) {
        // A CR that ends what has come may be half of a CRLF: wait for the next bytes.
        if (buffered[at] === "\r" && at === buffered.length - 1) break;
        const line = buffered.slice(0, at);
        buffered = buffered.slice(buffered.startsWith("\r\n", at) ? at + 2 : at + 1);
        if (line === "") {
          if (data.length > 0) yield { id: lastId, data: data.join("\n") };
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(text);
        else if (field === "id" && !text.includes("\0")) lastId = text;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
