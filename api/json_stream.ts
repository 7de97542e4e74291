/**
 * A streamed request body as etcd's gateway reads one: successive JSON values (watch and
 * keep-alive requests), each handed on as soon as it is complete.
 *
 * Owns: buffering the body's text and cutting it into values with Go's syntax errors. Never: what
 * the values mean.
 */
import { decodeNext, type JsonValue } from "./go_json.ts";

export type StreamedValue = { ok: true; value: JsonValue } | { ok: false; error: string };

/** Yields each value of the body; a syntax error is the last thing yielded. */
export async function* jsonValues(body: ReadableStream<Uint8Array> | null): AsyncGenerator<StreamedValue> {
  if (body === null) return;
  const decoder = new TextDecoder();
  let text = "";
  let pos = 0;
  let ended = false;
  const reader = body.getReader();
  try {
    while (true) {
      const next = decodeNext(text, pos, ended);
      if (next === "none") return;
      if (next === "more") {
        const { done, value } = await reader.read();
        if (done) {
          text += decoder.decode();
          ended = true;
        } else {
          // Drop what was consumed so the buffer holds only the value being read.
          text = text.slice(pos) + decoder.decode(value, { stream: true });
          pos = 0;
        }
        continue;
      }
      if (!next.ok) {
        yield next;
        return;
      }
      pos = next.end;
      yield { ok: true, value: next.value };
    }
  } finally {
    reader.releaseLock();
  }
}
