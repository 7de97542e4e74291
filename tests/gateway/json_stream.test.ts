/**
 * A streamed request body is cut into the same values (and the same syntax error) however it is
 * cut into pieces on the way — inside strings, escapes, numbers and multi-byte characters — and a
 * value still arriving is refused once it is longer than the bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonValues, type StreamedValue } from "../../gateway/compat/json_stream.ts";
import { prng } from "../../testkit/prng.ts";

const enc = new TextEncoder();

function bodyOf(pieces: Uint8Array[], open = false): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(p);
      if (!open) c.close();
    },
  });
}

/** What a reader sees: values as JSON text, errors as code and message. */
async function read(body: ReadableStream<Uint8Array>, maxChars?: number): Promise<string[]> {
  const seen: string[] = [];
  const show = (v: StreamedValue) => (v.ok ? JSON.stringify(v.value) : `error ${v.error.code}: ${v.error.message}`);
  for await (const v of jsonValues(body, maxChars)) seen.push(show(v));
  return seen;
}

const BODIES = [
  `{"create_request":{"key":"YQ==","range_end":"Yg=="}}{"cancel_request":{"watch_id":"3"}} {"progress_request":{}}`,
  `{"ID":1}\n{"ID":"2"}\r\n\t{"ID":-3}  `,
  `{"a":"}]{[\\"\\\\","b":[1,[2,{"c":"é€𝄞"}]],"d":true,"e":null}[1,2]"text"12.5e3 true null`,
  `{"key":"\\u00e9\\ud834\\udd1e","x":[]}{}[]`,
  `{"create_request":{"key":"YQ=="}} nonsense`,
  `{"a":1,}`,
  `{"a":[1,2}`,
  `{"a":"unterminated`,
  `{"a":1}]`,
  `12 13 tru`,
  `"a string" "another`,
  ``,
  `   `,
];

test("json stream > values and errors are the same however the body is cut", async () => {
  const random = prng(7);
  for (const body of BODIES) {
    const bytes = enc.encode(body);
    const whole = await read(bodyOf([bytes]));
    for (let trial = 0; trial < 60; trial++) {
      const cuts = [0];
      while (cuts[cuts.length - 1] < bytes.length) cuts.push(cuts[cuts.length - 1] + 1 + Math.floor(random() * 6));
      const pieces = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], Math.min(end, bytes.length)));
      assert.deepEqual(await read(bodyOf(pieces)), whole, `${JSON.stringify(body)} cut at ${cuts.join(",")}`);
    }
  }
});

/**
 * A body that gives its pieces only when asked, and then stays open: `starved` settles if the
 * reader asks for more once every piece is given.
 */
function openBody(pieces: Uint8Array[]): { body: ReadableStream<Uint8Array>; starved: Promise<"starved"> } {
  let starve!: (s: "starved") => void;
  const starved = new Promise<"starved">((resolve) => (starve = resolve));
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (next < pieces.length) c.enqueue(pieces[next++]);
      else starve("starved");
    },
  }, { highWaterMark: 0 });
  return { body, starved };
}

test("json stream > each whole value is handed on at once, while the body stays open", async () => {
  const random = prng(11);
  for (const body of [BODIES[0], BODIES[1], BODIES[2] + " ", BODIES[3]]) {
    const bytes = enc.encode(body);
    const expected = await read(bodyOf([bytes]));
    for (let trial = 0; trial < 30; trial++) {
      const cuts = [0];
      while (cuts[cuts.length - 1] < bytes.length) cuts.push(cuts[cuts.length - 1] + 1 + Math.floor(random() * 9));
      const { body: open, starved } = openBody(cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], Math.min(end, bytes.length))));
      const values = jsonValues(open);
      for (const want of expected) {
        const got = await Promise.race([values.next(), starved]);
        assert.notEqual(got, "starved", `${JSON.stringify(body)} cut at ${cuts.join(",")}: waited for more instead of handing on ${want}`);
        const v = (got as IteratorResult<StreamedValue>).value as StreamedValue;
        assert.equal(v.ok ? JSON.stringify(v.value) : "error", want);
      }
    }
  }
});

test("json stream > a value that goes on and on is refused past the bound, without waiting for its end", async () => {
  const pieces = [enc.encode(`{"ID":1}{"create_request":{"key":"`), ...Array.from({ length: 20 }, () => enc.encode("A".repeat(1_000)))];
  // The body stays open: the refusal cannot be waiting for its end.
  const seen = await read(bodyOf(pieces, true), 8_000);
  assert.equal(seen.length, 2);
  assert.match(seen[0], /^\{"ID":/);
  assert.match(seen[1], /^error 8: grpc: received message larger than max \(\d+ vs\. \d+\)$/);
  // The same value arriving whole, in one piece.
  const whole = await read(bodyOf([enc.encode(`{"key":"${"A".repeat(9_000)}"}`)]), 8_000);
  assert.equal(whole.length, 1);
  assert.match(whole[0], /^error 8: grpc: received message larger than max \(9010 vs\. \d+\)$/);
});
