/**
 * A JSON reader that fails exactly as Go's encoding/json does, so Concord's 400s carry etcd's
 * words ("unexpected EOF", "invalid character 'x' looking for beginning of value", ...).
 *
 * Owns: syntax — turning request text into plain values, with every number kept as its source
 * text (a GoNumber) because etcd's int64s exceed what a double holds and "1.0" is not an int64.
 * Two modes, as in Go: `decode` reads the first value of a stream (trailing text is ignored, an
 * empty stream is "no value"), `unmarshal` wants exactly one value.
 * Never: knows any etcd message; field meaning lives in the schemas.
 */
import { JSON_DEPTH_MAX } from "../../config/limits.ts";

/** A JSON number as written, e.g. "7587862072907233800" or "1.5". */
export class GoNumber {
  constructor(readonly raw: string) {}
}

export type JsonValue = null | boolean | string | GoNumber | JsonValue[] | { [key: string]: JsonValue };

export type ParseOutcome = { ok: true; value: JsonValue } | { ok: false; error: string };

class SyntaxFault {
  constructor(readonly message: string) {}
}

/**
 * Go's quoteChar: how the offending byte is shown in "invalid character …". Go reads bytes, so a
 * non-ASCII character is reported by the first byte of its UTF-8 form, as the rune of that value.
 */
function quoteChar(codeUnit: number): string {
  const c = codeUnit < 0x80 ? codeUnit : codeUnit < 0x800 ? 0xc0 | (codeUnit >> 6) : 0xe0 | (codeUnit >> 12);
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const short: Record<number, string> = { 0x07: "\\a", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x0b: "\\v", 0x5c: "\\\\" };
  if (short[c] !== undefined) return `'${short[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  if ((c >= 0x80 && c < 0xa0) || c === 0xad) return `'\\u00${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);


class Reader {
  pos = 0;
  constructor(readonly text: string, readonly eofMessage: string) {}

  fail(context: string): never {
    if (this.pos >= this.text.length) throw new SyntaxFault(this.eofMessage);
    throw new SyntaxFault(`invalid character ${quoteChar(this.text.charCodeAt(this.pos))} ${context}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  /** `depth`: how many objects and arrays enclose this value. */
  value(depth: number): JsonValue {
    this.skipSpace();
    const c = this.text.charCodeAt(this.pos);
    if ((c === 0x7b || c === 0x5b) && depth + 1 > JSON_DEPTH_MAX) throw new SyntaxFault("exceeded max depth");
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal("true", true);
    if (c === 0x66) return this.literal("false", false);
    if (c === 0x6e) return this.literal("null", null);
    return this.fail("looking for beginning of value");
  }

  object(depth: number): JsonValue {
    this.pos++;
    const out: { [key: string]: JsonValue } = Object.create(null);
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail("looking for beginning of object key string");
      const key = this.string();
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("after object key");
      this.pos++;
      out[key] = this.value(depth + 1);
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return out;
      }
      this.fail("after object key:value pair");
    }
  }

  array(depth: number): JsonValue {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      this.fail("after array element");
    }
  }

  string(): string {
    const start = ++this.pos;
    const text = this.text;
    // Fast path: no escapes and no control characters up to the closing quote.
    const close = text.indexOf('"', start);
    if (close >= 0) {
      const slice = text.slice(start, close);
      // Go's decoder stops at a backslash or a control character: that is what is looked for.
      // deno-lint-ignore no-control-regex
      if (!/[\\\u0000-\u001f]/.test(slice)) {
        this.pos = close + 1;
        return slice;
      }
    }
    let out = "";
    for (;;) {
      if (this.pos >= text.length) this.fail("");
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail("in string literal");
      if (c !== 0x5c) {
        out += text[this.pos++];
        continue;
      }
      this.pos++;
      const e = text.charCodeAt(this.pos);
      const simple: Record<number, string> = { 0x22: '"', 0x5c: "\\", 0x2f: "/", 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t" };
      if (simple[e] !== undefined) {
        out += simple[e];
        this.pos++;
        continue;
      }
      if (e !== 0x75) this.fail("in string escape code");
      this.pos++;
      for (let i = 0; i < 4; i++) {
        if (!isHex(text.charCodeAt(this.pos))) this.fail("in \\u hexadecimal character escape");
        this.pos++;
      }
      out += String.fromCharCode(parseInt(text.slice(this.pos - 4, this.pos), 16));
    }
  }

  number(): GoNumber {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(this.pos) === 0x2d) {
      this.pos++;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail("in numeric literal");
    }
    if (text.charCodeAt(this.pos) === 0x30) this.pos++;
    else while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    if (text.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail("after decimal point in numeric literal");
      while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    }
    const e = text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const s = text.charCodeAt(this.pos);
      if (s === 0x2b || s === 0x2d) this.pos++;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail("in exponent of numeric literal");
      while (isDigit(text.charCodeAt(this.pos))) this.pos++;
    }
    return new GoNumber(text.slice(start, this.pos));
  }

  literal(word: string, value: JsonValue): JsonValue {
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      if (this.text.charCodeAt(this.pos) !== word.charCodeAt(i)) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return value;
  }
}

function run(reader: Reader, whole: boolean): ParseOutcome {
  try {
    const value = reader.value(0);
    if (whole) {
      reader.skipSpace();
      if (reader.pos < reader.text.length) reader.fail("after top-level value");
    }
    return { ok: true, value };
  } catch (e) {
    if (e instanceof SyntaxFault) return { ok: false, error: e.message };
    // Nesting deep enough to exhaust the stack before Go's limit: answer as Go does at its limit.
    if (e instanceof RangeError) return { ok: false, error: "exceeded max depth" };
    throw e;
  }
}

/**
 * Go's json.Decoder.Decode on a request body: the first value; `undefined` when the body holds
 * none (only white space), which the gateway takes as an empty request.
 */
export function decodeBody(text: string): ParseOutcome | undefined {
  const reader = new Reader(text, "unexpected EOF");
  reader.skipSpace();
  if (reader.pos >= text.length) return undefined;
  return run(reader, false);
}

/** Go's json.Unmarshal: exactly one value. */
export function unmarshal(text: string): ParseOutcome {
  return run(new Reader(text, "unexpected end of JSON input"), true);
}

/** How Go's json names a value's kind in "cannot unmarshal X into …". */
export function goKind(v: JsonValue): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (v instanceof GoNumber) return "number";
  return Array.isArray(v) ? "array" : "object";
}

export type NextValue = { ok: true; value: JsonValue; end: number } | { ok: false; error: string } | "more" | "none";

/**
 * Go's json.Decoder reading a stream of values (a streamed request body): the value starting at
 * `pos` and where it ends; "more" when the text so far ends inside it; "none" at the end of a
 * stream that holds no more values.
 */
export function decodeNext(text: string, pos: number, ended: boolean): NextValue {
  const reader = new Reader(text, "unexpected EOF");
  reader.pos = pos;
  reader.skipSpace();
  if (reader.pos >= text.length) return ended ? "none" : "more";
  const first = text.charCodeAt(reader.pos);
  try {
    const value = reader.value(0);
    // A number or literal running to the end of the text so far may go on in the next chunk.
    const open = first !== 0x7b && first !== 0x5b && first !== 0x22;
    if (open && reader.pos >= text.length && !ended) return "more";
    return { ok: true, value, end: reader.pos };
  } catch (e) {
    if (e instanceof SyntaxFault) return reader.pos >= text.length && !ended ? "more" : { ok: false, error: e.message };
    if (e instanceof RangeError) return { ok: false, error: "exceeded max depth" };
    throw e;
  }
}
