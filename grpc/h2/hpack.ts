/**
 * HPACK (RFC 7541) for Concord's HTTP/2 server: a decoder for the header blocks a client sends,
 * with that connection's dynamic table, and an encoder for the headers we send, which never uses
 * one.
 *
 * Names and values are latin1 strings, one char per byte, both ways: sizes (an entry's, the
 * table's, a header list's) are then byte counts as the RFC counts them, and binary metadata
 * (`-bin` values, before base64 decoding) survives untouched. A caller wanting UTF-8 converts.
 *
 * Owns: the static table, the decoder's dynamic table and its eviction, prefix integers, string
 * literals (raw or Huffman, decoding through huffman.ts), and the bound on a decoded header list.
 * Never: throws on what a peer sent (a bad block is an HpackError), lets the dynamic table grow
 * past the size we advertise (SETTINGS_HEADER_TABLE_SIZE), builds a header list past its bound,
 * or Huffman-encodes or indexes what it sends (so the peer's decoder keeps no table for us).
 */
import { Buffer } from "node:buffer";
import { huffmanDecode } from "./huffman.ts";

/**
 * A header block that could not be decoded. `compression`: the block broke HPACK's rules, so the
 * connection's dynamic table is no longer known; answer with the connection error
 * COMPRESSION_ERROR (RFC 9113 §4.3). The decoder then refuses every later block with the same
 * error. Otherwise the block was valid but its header list exceeded the bound: the table is still
 * in step with the client's, and only this stream need be refused.
 */
export interface HpackError {
  readonly error: string;
  readonly compression: boolean;
}

/** A decoded header list in the order sent; names and values are latin1 (see the header). */
export type HeaderList = Array<[string, string]>;

/** The table size both ends assume until SETTINGS say otherwise (RFC 9113 §6.5.2). */
const TABLE_BYTES_DEFAULT = 4096;
/**
 * Room for any etcd client's metadata (an auth token included) while keeping a hostile list
 * small; gRPC suggests 8 KiB for responses, grpc-go (etcd's server) accepts 16 MiB.
 */
const HEADER_LIST_BYTES_DEFAULT = 16 * 1024;

/** What an entry costs beyond its name and value (RFC 7541 §4.1); the header list counts it too. */
const ENTRY_OVERHEAD_BYTES = 32;
/** Integers beyond this are refused, as are those longer than five continuation bytes. */
const INTEGER_MAX = 0x7fffffff;
const CONTINUATION_SHIFT_MAX = 28;

/** RFC 7541 Appendix A; index i + 1 is STATIC_TABLE[i]. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""], ["etag", ""],
  ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""], ["if-modified-since", ""],
  ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""],
  ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_ENTRIES = STATIC_TABLE.length;

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * Decodes one connection's header blocks, in the order they arrive; its dynamic table follows the
 * client's encoder. Use one per connection, never shared.
 */
export class HpackDecoder {
  readonly #tableBytesMax: number;
  readonly #headerListBytesMax: number;
  /** The table's size limit: #tableBytesMax until the client sets a smaller one. */
  #tableBytesLimit: number;
  #tableBytes = 0;
  // The dynamic table: a ring of #count entries, the newest in slot #newest; a power of two long,
  // doubled when full (the limit keeps it under #tableBytesMax / 32 entries).
  #names: string[] = new Array<string>(16).fill("");
  #values: string[] = new Array<string>(16).fill("");
  #newest = 0;
  #count = 0;
  /** Set by the first compression error; every later block gets it. */
  #broken: HpackError | undefined;
  // The block being decoded, as bytes and as a Buffer (for latin1 strings), and where we are in it.
  #block: Uint8Array = EMPTY;
  #buffer: Buffer = EMPTY_BUFFER;
  #pos = 0;
  /** Why the last integer or string read failed. */
  #problem = "";

  /**
   * `tableBytesMax`: the SETTINGS_HEADER_TABLE_SIZE we advertise; a client's table size update
   * above it is an error. `headerListBytesMax`: the most a header list may add up to (each field's
   * name and value bytes plus 32, as SETTINGS_MAX_HEADER_LIST_SIZE counts).
   */
  constructor(tableBytesMax: number = TABLE_BYTES_DEFAULT, headerListBytesMax: number = HEADER_LIST_BYTES_DEFAULT) {
    if (!Number.isSafeInteger(tableBytesMax) || tableBytesMax < 0 || tableBytesMax > INTEGER_MAX) {
      throw new Error(`hpack: table size ${tableBytesMax} is not an integer in [0, ${INTEGER_MAX}]`);
    }
    if (!Number.isSafeInteger(headerListBytesMax) || headerListBytesMax < 0) {
      throw new Error(`hpack: header list bound ${headerListBytesMax} is not a non-negative integer`);
    }
    this.#tableBytesMax = tableBytesMax;
    this.#tableBytesLimit = tableBytesMax;
    this.#headerListBytesMax = headerListBytesMax;
  }

  /** The header list of one complete header block (HEADERS plus any CONTINUATION payloads). */
  decode(block: Uint8Array): HeaderList | HpackError {
    if (this.#broken !== undefined) return this.#broken;
    this.#block = block;
    this.#buffer = block instanceof Buffer ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.#pos = 0;
    const result = this.#decodeBlock();
    // Not kept: the block may be a view of a much larger read buffer.
    this.#block = EMPTY;
    this.#buffer = EMPTY_BUFFER;
    return result;
  }

  #decodeBlock(): HeaderList | HpackError {
    const block = this.#block;
    const fields: HeaderList = [];
    let listBytes = 0;
    let sizeUpdateAllowed = true;
    while (this.#pos < block.length) {
      const start = this.#pos;
      const first = block[start];
      let name: string | undefined;
      let value: string | undefined;
      if ((first & 0x80) !== 0) {
        // Indexed header field (§6.1).
        const index = this.#integer(7);
        if (index < 0) return this.#fail(start, this.#problem);
        if (index === 0) return this.#fail(start, "index 0");
        if (index <= STATIC_ENTRIES) {
          name = STATIC_TABLE[index - 1][0];
          value = STATIC_TABLE[index - 1][1];
        } else {
          const slot = this.#slotOf(index);
          if (slot < 0) return this.#fail(start, `index ${index} is beyond the tables (${this.#count} dynamic entries)`);
          name = this.#names[slot];
          value = this.#values[slot];
        }
      } else if ((first & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the block's first field.
        if (!sizeUpdateAllowed) return this.#fail(start, "a table size update after a header field");
        const size = this.#integer(5);
        if (size < 0) return this.#fail(start, this.#problem);
        if (size > this.#tableBytesMax) {
          return this.#fail(start, `table size update to ${size} above the ${this.#tableBytesMax} we allow`);
        }
        this.#tableBytesLimit = size;
        this.#evictTo(size);
        continue;
      } else {
        // A literal (§6.2): with incremental indexing (01), without indexing (0000), never
        // indexed (0001); the name indexed, or a literal string when the index is 0.
        const indexing = (first & 0x40) !== 0;
        const index = this.#integer(indexing ? 6 : 4);
        if (index < 0) return this.#fail(start, this.#problem);
        if (index === 0) {
          name = this.#string();
          if (name === undefined) return this.#fail(start, `name: ${this.#problem}`);
        } else if (index <= STATIC_ENTRIES) {
          name = STATIC_TABLE[index - 1][0];
        } else {
          const slot = this.#slotOf(index);
          if (slot < 0) return this.#fail(start, `name index ${index} is beyond the tables (${this.#count} dynamic entries)`);
          name = this.#names[slot];
        }
        value = this.#string();
        if (value === undefined) return this.#fail(start, `value of ${JSON.stringify(name)}: ${this.#problem}`);
        if (indexing) this.#add(name, value);
      }
      sizeUpdateAllowed = false;
      // Past the bound, decoding goes on (the table must stay in step) but the list stops growing.
      listBytes += name.length + value.length + ENTRY_OVERHEAD_BYTES;
      if (listBytes <= this.#headerListBytesMax) fields.push([name, value]);
    }
    if (listBytes > this.#headerListBytesMax) {
      return { error: `hpack: header list of ${listBytes} bytes exceeds ${this.#headerListBytesMax}`, compression: false };
    }
    return fields;
  }

  #fail(offset: number, what: string): HpackError {
    this.#broken = { error: `hpack: ${what} (field at byte ${offset} of a ${this.#block.length}-byte block)`, compression: true };
    return this.#broken;
  }

  /** The ring slot of HPACK index `index` (> 61), or -1 if the dynamic table has no such entry. */
  #slotOf(index: number): number {
    const i = index - STATIC_ENTRIES - 1;
    return i < this.#count ? (this.#newest - i) & (this.#names.length - 1) : -1;
  }

  /** Adds an entry as the newest, evicting the oldest to make room (§4.4). */
  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD_BYTES;
    // An entry larger than the whole table empties it and is not added.
    this.#evictTo(Math.max(0, this.#tableBytesLimit - size));
    if (size > this.#tableBytesLimit) return;
    if (this.#count === this.#names.length) this.#grow();
    const mask = this.#names.length - 1;
    this.#newest = (this.#newest + 1) & mask;
    this.#names[this.#newest] = name;
    this.#values[this.#newest] = value;
    this.#count++;
    this.#tableBytes += size;
  }

  /** Evicts the oldest entries until the table holds at most `bytes`. */
  #evictTo(bytes: number): void {
    const mask = this.#names.length - 1;
    while (this.#tableBytes > bytes) {
      const oldest = (this.#newest - this.#count + 1) & mask;
      this.#tableBytes -= this.#names[oldest].length + this.#values[oldest].length + ENTRY_OVERHEAD_BYTES;
      this.#names[oldest] = "";
      this.#values[oldest] = "";
      this.#count--;
    }
  }

  /** Doubles the ring, laying the entries out oldest first from slot 0. */
  #grow(): void {
    const length = this.#names.length;
    const names = new Array<string>(2 * length).fill("");
    const values = new Array<string>(2 * length).fill("");
    for (let i = 0; i < this.#count; i++) {
      const slot = (this.#newest - this.#count + 1 + i) & (length - 1);
      names[i] = this.#names[slot];
      values[i] = this.#values[slot];
    }
    this.#names = names;
    this.#values = values;
    this.#newest = this.#count - 1;
  }

  /** A prefix integer (§5.1) at #pos, moving past it; -1 (and #problem) if truncated or too large. */
  #integer(prefixBits: number): number {
    const block = this.#block;
    const mask = (1 << prefixBits) - 1;
    let value = block[this.#pos++] & mask;
    if (value < mask) return value;
    for (let shift = 0; shift <= CONTINUATION_SHIFT_MAX; shift += 7) {
      if (this.#pos >= block.length) {
        this.#problem = "integer cut short by the end of the block";
        return -1;
      }
      const byte = block[this.#pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value <= INTEGER_MAX) return value;
        this.#problem = `integer ${value} above ${INTEGER_MAX}`;
        return -1;
      }
    }
    this.#problem = "integer longer than five continuation bytes";
    return -1;
  }

  /** A string literal (§5.2) at #pos, moving past it; undefined (and #problem) if invalid. */
  #string(): string | undefined {
    const block = this.#block;
    if (this.#pos >= block.length) {
      this.#problem = "string missing at the end of the block";
      return undefined;
    }
    const huffman = (block[this.#pos] & 0x80) !== 0;
    const length = this.#integer(7);
    if (length < 0) return undefined;
    const start = this.#pos;
    if (length > block.length - start) {
      this.#problem = `string of ${length} bytes cut short at ${block.length - start}`;
      return undefined;
    }
    this.#pos = start + length;
    if (!huffman) return length === 0 ? "" : this.#buffer.toString("latin1", start, start + length);
    const s = huffmanDecode(block, start, start + length);
    if (s === undefined) this.#problem = "invalid Huffman encoding";
    return s;
  }
}

/** Each static name's first index and, for each of its values in the static table, that index. */
const STATIC_BY_NAME = new Map<string, { index: number; byValue: Map<string, number> }>();
STATIC_TABLE.forEach(([name, value], i) => {
  let entry = STATIC_BY_NAME.get(name);
  if (entry === undefined) STATIC_BY_NAME.set(name, entry = { index: i + 1, byValue: new Map() });
  entry.byValue.set(value, i + 1);
});

/** The most a prefix integer below 2^31 takes: the prefix byte and five continuation bytes. */
const INTEGER_BYTES_MAX = 6;
/** Where blocks are written before being copied out at their size; grows to the largest seen. */
let encoded = new Uint8Array(1024);

/**
 * A header block for `fields` that leaves the client's dynamic table alone: a full static match
 * as an indexed field (`:status: 200` is 0x88), else a literal without indexing, its name indexed
 * when the static table has it; strings raw. Names must be lowercase (RFC 9113 §8.2.1) and names
 * and values latin1 (chars up to 0xff), or this throws: a caller's bug, never a peer's doing.
 */
export function encodeHeaders(fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  let bytesMax = 0;
  for (let i = 0; i < fields.length; i++) bytesMax += 3 * INTEGER_BYTES_MAX + fields[i][0].length + fields[i][1].length;
  if (encoded.length < bytesMax) encoded = new Uint8Array(Math.max(bytesMax, 2 * encoded.length));
  const out = encoded;
  let n = 0;
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i][0];
    const value = fields[i][1];
    const known = STATIC_BY_NAME.get(name);
    if (known !== undefined) {
      const full = known.byValue.get(value);
      if (full !== undefined) {
        n = writeInteger(out, n, 0x80, 7, full);
        continue;
      }
      n = writeInteger(out, n, 0x00, 4, known.index);
    } else {
      out[n++] = 0x00;
      n = writeString(out, n, name, true);
    }
    n = writeString(out, n, value, false);
  }
  return out.slice(0, n);
}

/** `value` as a prefix integer (§5.1) at out[n], the first byte's high bits `first`; the end. */
function writeInteger(out: Uint8Array, n: number, first: number, prefixBits: number, value: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out[n++] = first | value;
    return n;
  }
  out[n++] = first | mask;
  value -= mask;
  while (value >= 0x80) {
    out[n++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[n++] = value;
  return n;
}

/** `s` as a raw string literal (§5.2) at out[n]; the end. */
function writeString(out: Uint8Array, n: number, s: string, isName: boolean): number {
  n = writeInteger(out, n, 0x00, 7, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || (isName && c >= 0x41 && c <= 0x5a)) {
      const what = isName ? "name" : "value";
      throw new Error(`hpack: header ${what} ${JSON.stringify(s)} has ${JSON.stringify(s[i])} at ${i}: not ${isName ? "lowercase " : ""}latin1`);
    }
    out[n++] = c;
  }
  return n;
}
