/**
 * Where the JSON value at the head of a growing text ends, found by looking at each character
 * once however the text arrives in pieces: so a streamed body is parsed when a value is whole, not
 * again with every piece of a long one.
 *
 * Owns: brackets, strings and bare words (numbers, literals) as far as their ends. Never: whether
 * the value is valid — the parser decides that, at the end this finds.
 */

const enum Kind { Unknown, Container, Text, Bare }

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
/** What a number or literal is made of. */
const isBare = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2b || c === 0x2d || c === 0x2e;

export class ValueEnd {
  #kind = Kind.Unknown;
  /** The next character to look at. */
  #at = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  /** A new value begins at `at`. */
  reset(at: number): void {
    this.#kind = Kind.Unknown;
    this.#at = at;
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
  }

  /** The text lost its first `n` characters. */
  shift(n: number): void {
    this.#at -= n;
  }

  /** Whether the value reaches its end within `text` (or is not a value at all: the parser will say). */
  endsWithin(text: string): boolean {
    while (this.#at < text.length) {
      const c = text.charCodeAt(this.#at++);
      switch (this.#kind) {
        case Kind.Unknown:
          if (isSpace(c)) continue;
          if (c === 0x7b || c === 0x5b) {
            this.#kind = Kind.Container;
            this.#depth = 1;
          } else if (c === 0x22) {
            this.#kind = Kind.Text;
            this.#inString = true;
          } else if (isBare(c)) this.#kind = Kind.Bare;
          else return true;
          continue;
        case Kind.Bare:
          if (!isBare(c)) return true;
          continue;
        default:
          if (this.#inString) {
            if (this.#escaped) this.#escaped = false;
            else if (c === 0x5c) this.#escaped = true;
            else if (c === 0x22) {
              this.#inString = false;
              if (this.#kind === Kind.Text) return true;
            }
          } else if (c === 0x22) this.#inString = true;
          else if (c === 0x7b || c === 0x5b) this.#depth++;
          else if ((c === 0x7d || c === 0x5d) && --this.#depth === 0) return true;
      }
    }
    return false;
  }
}
