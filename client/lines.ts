/**
 * A streamed JSON answer (etcd's gateway streams watch, observe and keep-alive answers as one
 * JSON object per line) read object by object.
 *
 * Owns: splitting the bytes into lines and parsing them. Never: what the objects mean.
 */
import type { Json } from "./transport.ts";

/** The objects of a newline-delimited JSON body, as they arrive; ends with the body. */
export async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<Json> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        const line = buffered.slice(0, at).trim();
        buffered = buffered.slice(at + 1);
        if (line) yield JSON.parse(line);
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
