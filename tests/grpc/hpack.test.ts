/**
 * HPACK against its RFC and a real client: RFC 7541 Appendix C's examples (requests sharing one
 * decoder, so its dynamic table is exercised; responses with a 256-byte table, so entries are
 * evicted), every byte through the Huffman code, the ways a hostile block can be wrong (bad
 * Huffman padding, table size updates, indices, truncation, huge integers, too long a header list),
 * our encoder's blocks read back, and the header blocks node:http2's client sends (Huffman and
 * dynamic table in use), caught raw from a socket and decoded.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import net from "node:net";
import { test } from "node:test";
import { encodeHeaders, type HeaderList, HpackDecoder, type HpackError } from "../../grpc/h2/hpack.ts";
import { HUFFMAN_CODE_BITS, HUFFMAN_CODES, huffmanDecode } from "../../grpc/h2/huffman.ts";

const dehex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const latin1 = (bytes: ArrayLike<number>): string => String.fromCharCode(...Array.from(bytes));
const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The Huffman encoding of `bytes`, padded with ones (RFC 7541 §5.2). */
function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let pending = 0; // the low `bits` bits not yet written
  let bits = 0;
  for (const byte of bytes) {
    pending = pending * 2 ** HUFFMAN_CODE_BITS[byte] + HUFFMAN_CODES[byte];
    bits += HUFFMAN_CODE_BITS[byte];
    while (bits >= 8) {
      bits -= 8;
      out.push(Math.floor(pending / 2 ** bits));
      pending %= 2 ** bits;
    }
  }
  if (bits > 0) out.push(pending * 2 ** (8 - bits) + 2 ** (8 - bits) - 1);
  return Uint8Array.from(out);
}

/** A decode that must succeed. */
function decoded(decoder: HpackDecoder, block: Uint8Array): HeaderList {
  const result = decoder.decode(block);
  assert.ok(Array.isArray(result), `decode failed: ${(result as HpackError).error}`);
  return result;
}

/** A decode that must fail, and how. */
function failed(decoder: HpackDecoder, block: Uint8Array, compression = true): HpackError {
  const result = decoder.decode(block);
  assert.ok(!Array.isArray(result), `decoded ${JSON.stringify(result)}; want an error`);
  assert.equal(result.compression, compression, result.error);
  return result;
}

/** An indexed header field (§6.1) for `index` < 127. */
const indexed = (index: number): Uint8Array => Uint8Array.of(0x80 | index);

/** `value` as a prefix integer (§5.1), the first byte's high bits `first`. */
function integer(first: number, prefixBits: number, value: number): number[] {
  const mask = 2 ** prefixBits - 1;
  if (value < mask) return [first | value];
  const out = [first | mask];
  for (value -= mask; value >= 0x80; value = Math.floor(value / 0x80)) out.push((value % 0x80) | 0x80);
  return [...out, value];
}

/** A string literal (§5.2), raw or Huffman. */
function literalString(s: string, huffman: boolean): number[] {
  const bytes = huffman ? huffmanEncode(bytesOf(s)) : bytesOf(s);
  return [...integer(huffman ? 0x80 : 0x00, 7, bytes.length), ...bytes];
}

/** A literal with incremental indexing (§6.2.1) and a new name. */
const adding = (name: string, value: string, huffman = false): number[] => [0x40, ...literalString(name, huffman), ...literalString(value, huffman)];

/**
 * The dynamic table, newest first, after `blocks` on a decoder allowing `tableBytes`: read through
 * indices 62, 63, … on fresh replays (an index beyond the table breaks the decoder that reads it).
 */
function tableAfter(tableBytes: number, blocks: Uint8Array[]): HeaderList {
  const entries: HeaderList = [];
  for (let index = 62; index < 127; index++) {
    const decoder = new HpackDecoder(tableBytes);
    for (const block of blocks) decoded(decoder, block);
    const result = decoder.decode(indexed(index));
    if (!Array.isArray(result)) return entries;
    entries.push(result[0]);
  }
  throw new Error("tableAfter: more entries than a probe reaches");
}

const sizeOf = (table: HeaderList): number => table.reduce((n, [name, value]) => n + name.length + value.length + 32, 0);

interface Step {
  block: string;
  want: HeaderList;
  table: HeaderList;
  tableBytes: number;
}

/** Decodes `steps` in order on one decoder, checking each list, and the table after each step. */
function decodeSeries(tableBytes: number, steps: Step[]): void {
  const decoder = new HpackDecoder(tableBytes);
  const blocks: Uint8Array[] = [];
  for (const [i, step] of steps.entries()) {
    blocks.push(dehex(step.block));
    assert.deepEqual(decoded(decoder, blocks[i]), step.want, `step ${i}`);
    const table = tableAfter(tableBytes, blocks);
    assert.deepEqual(table, step.table, `table after step ${i}`);
    assert.equal(sizeOf(table), step.tableBytes, `table size after step ${i}`);
  }
}

test("hpack > the Huffman table is RFC 7541's shape: a complete canonical code, EOS thirty ones", () => {
  assert.equal(HUFFMAN_CODES.length, 257);
  assert.equal(HUFFMAN_CODE_BITS.length, 257);
  // Canonical: sorted by length then symbol, each code is the previous plus one, shifted to length.
  const order = [...HUFFMAN_CODE_BITS.keys()].sort((a, b) => HUFFMAN_CODE_BITS[a] - HUFFMAN_CODE_BITS[b] || a - b);
  let code = 0;
  let bits = HUFFMAN_CODE_BITS[order[0]];
  for (const symbol of order) {
    code *= 2 ** (HUFFMAN_CODE_BITS[symbol] - bits);
    bits = HUFFMAN_CODE_BITS[symbol];
    assert.equal(HUFFMAN_CODES[symbol], code, `symbol ${symbol}`);
    code++;
  }
  assert.equal(HUFFMAN_CODE_BITS.reduce((sum, b) => sum + 2 ** -b, 0), 1, "Kraft sum: the code is complete");
  // Spot checks against Appendix B: '0' 00000, 'a' 00011, ' ' 010100, 0x00 1111111111000, EOS.
  assert.deepEqual([HUFFMAN_CODES[0x30], HUFFMAN_CODE_BITS[0x30]], [0x0, 5]);
  assert.deepEqual([HUFFMAN_CODES[0x61], HUFFMAN_CODE_BITS[0x61]], [0x3, 5]);
  assert.deepEqual([HUFFMAN_CODES[0x20], HUFFMAN_CODE_BITS[0x20]], [0x14, 6]);
  assert.deepEqual([HUFFMAN_CODES[0x00], HUFFMAN_CODE_BITS[0x00]], [0x1ff8, 13]);
  assert.deepEqual([HUFFMAN_CODES[256], HUFFMAN_CODE_BITS[256]], [0x3fffffff, 30]);
});

test("hpack > every byte value round-trips through Huffman, alone, together and in random strings", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const byte of all) {
    const encoded = huffmanEncode(Uint8Array.of(byte));
    assert.equal(huffmanDecode(encoded, 0, encoded.length), String.fromCharCode(byte), `byte ${byte}`);
  }
  const encoded = huffmanEncode(all);
  assert.equal(huffmanDecode(encoded, 0, encoded.length), latin1(all));
  // A window into a larger array, as strings sit inside a block.
  const framed = Uint8Array.of(0xaa, ...encoded, 0x55);
  assert.equal(huffmanDecode(framed, 1, framed.length - 1), latin1(all));
  assert.equal(huffmanDecode(framed, 1, 1), "");
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 500; i++) {
    const s = Uint8Array.from({ length: next() % 64 }, () => next() % 256);
    const e = huffmanEncode(s);
    assert.equal(huffmanDecode(e, 0, e.length), latin1(s));
  }
});

test("hpack > invalid Huffman is rejected: EOS inside, padding over seven bits, padding not all ones", () => {
  const invalid = [
    [0xff], // padding of eight bits
    [0x1f, 0xff], // "a", then eleven bits of padding
    [0x1f, 0xff, 0xff],
    [0xff, 0x9f, 0xff, 0xff, 0xff], // "a" and 29 bits of padding
    [0x52, 0xbc, 0x30, 0xff, 0xff, 0xff, 0xff], // padding that ends inside a symbol
    [0xff, 0xff, 0xff, 0xff, 0xfc], // EOS, then "?"
    [0x00], // "0", then padding of zeros
    [0x1e], // "a", then padding 110
  ];
  for (const bytes of invalid) assert.equal(huffmanDecode(Uint8Array.from(bytes), 0, bytes.length), undefined, `${bytes}`);
  assert.equal(huffmanDecode(Uint8Array.of(0x1f), 0, 1), "a");
  // A bad string inside a block breaks the block.
  failed(new HpackDecoder(), Uint8Array.of(0x00, 0x81, 0x1e, 0x81, 0x1f)); // name: "a" with bad padding
});

test("hpack > RFC 7541 C.2: each literal form and an indexed field, with the table each leaves", () => {
  const cases: Array<[string, HeaderList, HeaderList]> = [
    ["400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", [["custom-key", "custom-header"]], [["custom-key", "custom-header"]]],
    ["040c 2f73 616d 706c 652f 7061 7468", [[":path", "/sample/path"]], []],
    ["1008 7061 7373 776f 7264 0673 6563 7265 74", [["password", "secret"]], []],
    ["82", [[":method", "GET"]], []],
  ];
  for (const [hex, want, table] of cases) {
    assert.deepEqual(decoded(new HpackDecoder(4096), dehex(hex)), want, hex);
    assert.deepEqual(tableAfter(4096, [dehex(hex)]), table, hex);
  }
});

const REQUESTS: Array<Omit<Step, "block">> = [
  {
    want: [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
    table: [[":authority", "www.example.com"]],
    tableBytes: 57,
  },
  {
    want: [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"]],
    table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
    tableBytes: 110,
  },
  {
    want: [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]],
    table: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
    tableBytes: 164,
  },
];

test("hpack > RFC 7541 C.3: three requests without Huffman on one decoder", () => {
  decodeSeries(4096, [
    { block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", ...REQUESTS[0] },
    { block: "8286 84be 5808 6e6f 2d63 6163 6865", ...REQUESTS[1] },
    { block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", ...REQUESTS[2] },
  ]);
});

test("hpack > RFC 7541 C.4: the same requests with Huffman", () => {
  decodeSeries(4096, [
    { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", ...REQUESTS[0] },
    { block: "8286 84be 5886 a8eb 1064 9cbf", ...REQUESTS[1] },
    { block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", ...REQUESTS[2] },
  ]);
});

const DATE_21 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_22 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSES: Array<Omit<Step, "block">> = [
  {
    want: [[":status", "302"], ["cache-control", "private"], ["date", DATE_21], ["location", LOCATION]],
    table: [["location", LOCATION], ["date", DATE_21], ["cache-control", "private"], [":status", "302"]],
    tableBytes: 222,
  },
  {
    // ":status: 307" evicts ":status: 302".
    want: [[":status", "307"], ["cache-control", "private"], ["date", DATE_21], ["location", LOCATION]],
    table: [[":status", "307"], ["location", LOCATION], ["date", DATE_21], ["cache-control", "private"]],
    tableBytes: 222,
  },
  {
    // Three new entries evict four: the set-cookie entry alone is 98 bytes.
    want: [
      [":status", "200"], ["cache-control", "private"], ["date", DATE_22], ["location", LOCATION],
      ["content-encoding", "gzip"], ["set-cookie", COOKIE],
    ],
    table: [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE_22]],
    tableBytes: 215,
  },
];

test("hpack > RFC 7541 C.5: three responses without Huffman in a 256-byte table, with evictions", () => {
  decodeSeries(256, [
    {
      block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
              2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
              6c65 2e63 6f6d`,
      ...RESPONSES[0],
    },
    { block: "4803 3330 37c1 c0bf", ...RESPONSES[1] },
    {
      block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
              54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
              5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
              3d31`,
      ...RESPONSES[2],
    },
  ]);
});

test("hpack > RFC 7541 C.6: the same responses with Huffman", () => {
  decodeSeries(256, [
    {
      block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
              2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      ...RESPONSES[0],
    },
    { block: "4883 640e ffc1 c0bf", ...RESPONSES[1] },
    {
      block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
              77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
              9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ...RESPONSES[2],
    },
  ]);
});

test("hpack > table size updates: at most what we allow, only at the start, and they evict", () => {
  // Above the max: the block is refused, whatever comes after.
  failed(new HpackDecoder(4096), Uint8Array.of(...integer(0x20, 5, 4097), 0x82));
  failed(new HpackDecoder(100), Uint8Array.of(...integer(0x20, 5, 101)));
  assert.deepEqual(decoded(new HpackDecoder(100), Uint8Array.of(...integer(0x20, 5, 100), 0x82)), [[":method", "GET"]]);
  // After a field: refused.
  failed(new HpackDecoder(4096), Uint8Array.of(0x82, 0x20));
  // Two at the start (the smallest, then the final size, RFC 7541 §4.2) are fine; 0 empties the table.
  const decoder = new HpackDecoder(4096);
  assert.deepEqual(decoded(decoder, Uint8Array.of(...adding(":authority", "custom.host", true))), [[":authority", "custom.host"]]);
  assert.deepEqual(decoded(decoder, indexed(62)), [[":authority", "custom.host"]]);
  assert.deepEqual(decoded(decoder, Uint8Array.of(0x20, ...integer(0x20, 5, 4096), 0x82)), [[":method", "GET"]]);
  failed(decoder, indexed(62));
  // A smaller size holds for later entries: "x-a: one" (38 bytes) fits in 50, "x-b: two" evicts it.
  const twoEntries = Uint8Array.of(...adding("x-a", "one"), ...adding("x-b", "two"));
  assert.deepEqual(tableAfter(4096, [twoEntries]), [["x-b", "two"], ["x-a", "one"]]);
  assert.deepEqual(tableAfter(4096, [Uint8Array.of(...integer(0x20, 5, 50)), twoEntries]), [["x-b", "two"]]);
  assert.deepEqual(tableAfter(4096, [Uint8Array.of(...integer(0x20, 5, 86), ...twoEntries)]), [["x-b", "two"], ["x-a", "one"]]);
  // An entry larger than the whole table empties it and is not added (RFC 7541 §4.4).
  assert.deepEqual(tableAfter(50, [Uint8Array.of(...adding("x-a", "one")), Uint8Array.of(...adding("x-b", "sixteen-bytes-.."))]), []);
});

test("hpack > indices: 0 and beyond the static and dynamic tables are errors", () => {
  failed(new HpackDecoder(), indexed(0));
  failed(new HpackDecoder(), indexed(62));
  failed(new HpackDecoder(), Uint8Array.of(0x7f, 0x00, 0x01, 0x61)); // literal, name index 63
  failed(new HpackDecoder(), Uint8Array.of(0x0f, 0x30, 0x01, 0x61)); // without indexing, name index 63
  assert.deepEqual(decoded(new HpackDecoder(), indexed(61)), [["www-authenticate", ""]]);
  assert.deepEqual(decoded(new HpackDecoder(), Uint8Array.of(0x0f, 0x2e, 0x01, 0x61)), [["www-authenticate", "a"]]);
});

test("hpack > a truncated block is an error, never an exception, at every cut", () => {
  const blocks = [
    dehex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
    dehex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
    dehex("4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
  ];
  for (const block of blocks) {
    const whole = decoded(new HpackDecoder(), block);
    for (let cut = 1; cut < block.length; cut++) {
      const result = new HpackDecoder().decode(block.subarray(0, cut));
      // A cut between fields leaves a shorter valid block; any other cut is an error.
      if (Array.isArray(result)) assert.deepEqual(result, whole.slice(0, result.length), `cut at ${cut}`);
      else assert.equal(result.compression, true);
    }
  }
  failed(new HpackDecoder(), Uint8Array.of(0x40)); // a new name, missing
  failed(new HpackDecoder(), Uint8Array.of(0x40, 0x01, 0x61)); // its value, missing
  failed(new HpackDecoder(), Uint8Array.of(0x40, 0x05, 0x61)); // a name of 5 bytes with 1 there
  failed(new HpackDecoder(), Uint8Array.of(0xff, 0x80)); // an index whose integer goes on
});

test("hpack > integers: past 2^31 - 1 or longer than five continuation bytes are errors", () => {
  failed(new HpackDecoder(), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)); // six continuation bytes
  failed(new HpackDecoder(), Uint8Array.of(0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61)); // six, for name index 15
  failed(new HpackDecoder(), Uint8Array.of(0x0f, 0xf1, 0xff, 0xff, 0xff, 0x07)); // name index 2^31
  failed(new HpackDecoder(), Uint8Array.of(0x00, 0x7f, 0x81, 0xff, 0xff, 0xff, 0x07)); // a string of 2^31 bytes
  // Overlong but within five continuation bytes: name index 15 + 0, accept-charset.
  assert.deepEqual(decoded(new HpackDecoder(), Uint8Array.of(0x0f, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61)), [["accept-charset", "a"]]);
  // The largest integer allowed, as a table size update on a decoder allowing it.
  assert.deepEqual(decoded(new HpackDecoder(2 ** 31 - 1), Uint8Array.of(...integer(0x20, 5, 2 ** 31 - 1), 0x82)), [[":method", "GET"]]);
});

test("hpack > a compression error breaks the decoder for good: its table is no longer known", () => {
  const decoder = new HpackDecoder();
  const error = failed(decoder, indexed(70));
  assert.match(error.error, /index 70 is beyond the tables \(0 dynamic entries\)/);
  assert.equal(decoder.decode(indexed(2)), error);
});

test("hpack > the header list bound: an error past it, with the table kept in step for the next block", () => {
  // Each field costs name + value + 32: ":method: GET" 42, "x-a: one" 38.
  const decoder = new HpackDecoder(4096, 80);
  assert.deepEqual(decoded(decoder, Uint8Array.of(0x82, ...adding("x-a", "one"))), [[":method", "GET"], ["x-a", "one"]]); // 80
  const tooLong = Uint8Array.of(0x82, 0xbe, ...adding("x-b", "two")); // :method GET, x-a: one, x-b: two: 118
  const error = failed(decoder, tooLong, false);
  assert.match(error.error, /header list of 118 bytes exceeds 80/);
  // x-b was added all the same: the client's table has it, so ours must.
  assert.deepEqual(decoded(decoder, Uint8Array.of(0xbe, 0xbf)), [["x-b", "two"], ["x-a", "one"]]);
  // Many small indexed fields stop being kept at the bound, whatever their number.
  failed(new HpackDecoder(4096, 16 * 1024), new Uint8Array(100_000).fill(0x82), false);
});

test("hpack > names and values are latin1: binary bytes survive, raw and Huffman", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const block = Uint8Array.of(
    0x00, ...literalString("x-bin", false), ...literalString(latin1(all), false),
    0x00, ...literalString("y-bin", false), ...literalString(latin1(all), true),
  );
  assert.deepEqual(decoded(new HpackDecoder(), block), [["x-bin", latin1(all)], ["y-bin", latin1(all)]]);
  // A Buffer view into a larger buffer decodes the same.
  const inside = Buffer.concat([Buffer.from([1, 2, 3]), block]).subarray(3);
  assert.deepEqual(decoded(new HpackDecoder(), inside), [["x-bin", latin1(all)], ["y-bin", latin1(all)]]);
});

test("hpack > encodeHeaders: static matches indexed, static names indexed, the rest literal; reads back", () => {
  assert.deepEqual([...encodeHeaders([[":status", "200"]])], [0x88]);
  assert.deepEqual(
    [...encodeHeaders([[":status", "200"], ["content-type", "application/grpc"]])],
    [0x88, 0x0f, 0x10, 0x10, ...bytesOf("application/grpc")], // content-type is index 31 = 15 + 16
  );
  assert.deepEqual([...encodeHeaders([["grpc-status", "0"]])], [0x00, 0x0b, ...bytesOf("grpc-status"), 0x01, 0x30]);
  assert.deepEqual([...encodeHeaders([[":authority", "a"]])], [0x01, 0x01, 0x61]);
  assert.deepEqual([...encodeHeaders([])], []);
  const fields: HeaderList = [
    [":status", "200"], [":status", "418"], ["content-type", "application/grpc"], ["accept-encoding", "gzip, deflate"],
    ["accept-charset", ""], ["www-authenticate", "x"], ["grpc-status", "8"], ["grpc-message", "etcdserver: request is too large"],
    ["grpc-status-details-bin", latin1(Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256))], ["x-empty", ""],
    ["x-long", "v".repeat(20_000)],
  ];
  const block = encodeHeaders(fields);
  const decoder = new HpackDecoder(4096, 1 << 20);
  assert.deepEqual(decoded(decoder, block), fields);
  // Nothing was indexed: the next block sees an empty dynamic table.
  failed(decoder, indexed(62));
});

test("hpack > encodeHeaders throws on a caller's bug: an uppercase name or a char past latin1", () => {
  assert.throws(() => encodeHeaders([["Content-Type", "x"]]), /not lowercase latin1/);
  assert.throws(() => encodeHeaders([["grpc-message", "caf\u00e9 \u2603"]]), /not latin1/);
  assert.deepEqual(decoded(new HpackDecoder(), encodeHeaders([["grpc-message", "caf\u00e9"]])), [["grpc-message", "caf\u00e9"]]);
});

/**
 * The header blocks of the first `count` requests a client sends to a raw socket: the preface is
 * checked, SETTINGS answered, and HEADERS (with any CONTINUATION) collected; no request is answered.
 */
async function captureHeaderBlocks(count: number, send: (url: string) => void): Promise<Uint8Array[]> {
  const blocks: Uint8Array[] = [];
  const sockets = new Set<net.Socket>();
  let done!: () => void;
  let fail!: (e: Error) => void;
  const captured = new Promise<void>((resolve, reject) => [done, fail] = [resolve, reject]);
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.write(Uint8Array.of(0, 0, 0, 0x4, 0, 0, 0, 0, 0)); // our SETTINGS: all defaults
    let input = Buffer.alloc(0);
    let prefaceSeen = false;
    let pending: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      if (!prefaceSeen) {
        if (input.length < 24) return;
        if (input.subarray(0, 24).toString("latin1") !== "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") return fail(new Error("no client preface"));
        prefaceSeen = true;
        input = input.subarray(24);
      }
      while (input.length >= 9) {
        const length = input.readUIntBE(0, 3);
        if (input.length < 9 + length) return;
        const [type, flags] = [input[3], input[4]];
        let payload = input.subarray(9, 9 + length);
        input = input.subarray(9 + length);
        if (type === 0x4 && (flags & 0x1) === 0) socket.write(Uint8Array.of(0, 0, 0, 0x4, 0x1, 0, 0, 0, 0)); // SETTINGS ACK
        if (type !== 0x1 && type !== 0x9) continue;
        if (type === 0x1) {
          const padding = (flags & 0x8) !== 0 ? payload[0] : 0;
          if ((flags & 0x8) !== 0) payload = payload.subarray(1);
          if ((flags & 0x20) !== 0) payload = payload.subarray(5);
          payload = payload.subarray(0, payload.length - padding);
        }
        pending.push(payload);
        if ((flags & 0x4) === 0) continue; // END_HEADERS not yet
        blocks.push(Uint8Array.from(Buffer.concat(pending)));
        pending = [];
        if (blocks.length === count) done();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    send(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    await captured;
    return blocks;
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test("hpack > node:http2's client: its Huffman strings and dynamic table indices decode to what it sent", async () => {
  const token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + "abcdefghijklmnopqrstuvwxyz0123456789-_".repeat(6);
  const requests = [0, 1, 2, 3].map((i) => ({
    ":method": "POST",
    ":path": i < 2 ? "/etcdserverpb.KV/Range" : "/etcdserverpb.KV/Put",
    "content-type": "application/grpc",
    "te": "trailers",
    "grpc-accept-encoding": "identity,deflate,gzip",
    "user-agent": "grpc-node-js/1.14.7",
    "authorization": token,
    "x-request-id": `request-${i}-${"r".repeat(100)}`,
  }));
  let session: http2.ClientHttp2Session | undefined;
  let url = "";
  const blocks = await captureHeaderBlocks(requests.length, (u) => {
    url = u;
    session = http2.connect(u);
    session.on("error", () => {});
    for (const headers of requests) session.request(headers, { endStream: true }).on("error", () => {});
  }).finally(() => session?.destroy());
  const decoder = new HpackDecoder();
  for (const [i, block] of blocks.entries()) {
    const fields = decoded(decoder, block);
    const got = new Map(fields);
    assert.equal(got.size, fields.length, `request ${i}: no name twice`);
    for (const [name, value] of Object.entries(requests[i])) assert.equal(got.get(name), value, `request ${i}: ${name}`);
    assert.equal(got.get(":scheme"), "http");
    assert.equal(got.get(":authority"), new URL(url).host);
  }
  // The client used what this test is about: Huffman (the token is in the first block encoded so),
  // and the dynamic table (a repeat means nothing to a decoder that has not seen the first block).
  const huffmanToken = Buffer.from(huffmanEncode(bytesOf(token)));
  assert.ok(Buffer.from(blocks[0]).includes(huffmanToken), "the first block has the token Huffman-encoded");
  for (const repeat of blocks.slice(1)) failed(new HpackDecoder(), repeat);
});
