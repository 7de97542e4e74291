/**
 * A streamed request body as etcd's gateway reads one: successive JSON values (watch and
 * keep-alive requests), each handed on as soon as it is complete.
 *
 * Owns: buffering the body's text and cutting it into values with Go's syntax errors, and the
 * bound on one value's length. Never: what the values mean.
 */
import { EtcdError, GrpcCode } from "../../etcd/errors.ts";
import { decodeNext, type JsonValue, type NextValue } from "./go_json.ts";
import { GATEWAY_BODY_BYTES_MAX } from "../../config/limits.ts";
import { ValueEnd } from "./json_value_end.ts";
import { messageTooLarge } from "../../etcd/request_checks.ts";

/** A value, or why the body stops: a syntax error (UNKNOWN, as the gateway's) or a value too long. */
export type StreamedValue = { ok: true; value: JsonValue } | { ok: false; error: EtcdError };

/**
 * Yields each value of the body; an error is the last thing yielded. A value is buffered up to
 * `maxChars` (as long as the largest unary body read) and refused past it, with gRPC's error,
 * measured by what was read of it.
 */
export async function* jsonValues(body: ReadableStream<Uint8Array> | null, maxChars = GATEWAY_BODY_BYTES_MAX): AsyncGenerator<StreamedValue> {
  if (body === null) return;
  const decoder = new TextDecoder();
  // The text from the value being read on (earlier values are dropped as they are handed on).
  let text = "";
  let pos = 0;
  let ended = false;
  // The value is parsed when its end has arrived, or when it has doubled since it was last tried
  // (a syntax error inside a long value is found soon, and parsing costs at most twice its length).
  const end = new ValueEnd();
  let whole = false;
  let tried = 0;
  const tooLarge = (length: number): StreamedValue => ({ ok: false, error: messageTooLarge(length) });
  const reader = body.getReader();
  try {
    while (true) {
      let next: NextValue = "more";
      if (ended || whole || text.length - pos >= 2 * tried) {
        next = decodeNext(text, pos, ended);
        tried = text.length - pos;
      }
      if (next === "none") return;
      if (next === "more") {
        if (text.length - pos > maxChars) {
          yield tooLarge(text.length - pos);
          return;
        }
        whole = false;
        const { done, value } = await reader.read();
        if (done) {
          text += decoder.decode();
          ended = true;
        } else {
          const piece = decoder.decode(value, { stream: true });
          whole = end.endsIn(piece);
          text = text.slice(pos) + piece;
          pos = 0;
        }
        continue;
      }
      if (!next.ok) {
        yield { ok: false, error: new EtcdError(GrpcCode.UNKNOWN, next.error) };
        return;
      }
      // Bounded however the body was cut: a value that arrived whole in one piece too.
      if (next.end - pos > maxChars) {
        yield tooLarge(next.end - pos);
        return;
      }
      pos = next.end;
      end.reset();
      whole = end.endsIn(text, pos);
      tried = 0;
      yield { ok: true, value: next.value };
    }
  } finally {
    reader.releaseLock();
  }
}
