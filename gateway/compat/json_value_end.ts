/**
 * Whether the JSON value at the head of a growing text has ended, found by looking at each piece
 * of it once as it arrives: so a streamed body is parsed when a value is whole, not again with
 * every piece of a long one.
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
  #depth = 0;
  #inString = false;
  #escaped = false;

  /** A new value begins with the next piece. */
  reset(): void {
    this.#kind = Kind.Unknown;
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
  }

  /**
   * Looks at the value's next piece, `text` from `from` on: whether the value ends in it (or is no
   * value at all: the parser will say which). Once it has, what follows is not looked at.
   */
  endsIn(text: string, from = 0): boolean {
    for (let at = from; at < text.length; at++) {
      const c = text.charCodeAt(at);
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
