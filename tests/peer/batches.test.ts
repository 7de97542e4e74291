/**
 * What the sender puts in one frame or request: a batch is cut by messages, entries and bytes of
 * entries, never to nothing — and however large the values, every frame it makes fits in what a
 * member accepts (issue 12: a whole queue of appends went out as one frame of up to ~96 MiB against
 * a 64 MiB cap, and the receiver closed the stream).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  PEER_BATCH_BYTES_MAX, PEER_BATCH_ENTRIES_MAX, PEER_BATCH_MESSAGES_MAX, PEER_FRAME_BYTES_MAX, RAFT_APPEND_BYTES_MAX, REQUEST_BYTES_MAX,
} from "../../config/limits.ts";
import { decodeFrame, encodeFrame } from "../../peer/codec.ts";
import { batchLength } from "../../peer/sender.ts";
import type { Entry, Message } from "../../raft/types.ts";

const MiB = 1024 * 1024;

function append(index: number, data: Uint8Array[]): Message {
  const entries: Entry[] = data.map((d, i) => ({ index: index + i + 1, term: 2, data: d }));
  return { type: "app", from: "a", to: "b", term: 2, logTerm: 2, index, entries, commit: index, reject: false, rejectHint: 0, context: "" };
}
const heartbeat = (): Message => ({
  type: "heartbeat", from: "a", to: "b", term: 2, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: "",
});

test("peer batches > cut once their entries' data reach the bound, at least one message each", () => {
  const mib = new Uint8Array(MiB);
  // 40 appends of 1 MiB each: the batch stops at the message that reaches the bound.
  const queue = Array.from({ length: 40 }, (_, i) => append(i, [mib]));
  assert.equal(batchLength(queue), PEER_BATCH_BYTES_MAX / MiB);
  // One message larger than the bound still goes, alone.
  const huge = append(0, [new Uint8Array(PEER_BATCH_BYTES_MAX + 1)]);
  assert.equal(batchLength([huge, ...queue]), 1);
  // Messages without entries are bounded by count only.
  assert.equal(batchLength(Array.from({ length: PEER_BATCH_MESSAGES_MAX + 5 }, heartbeat)), PEER_BATCH_MESSAGES_MAX);
  const tiny = Array.from({ length: PEER_BATCH_ENTRIES_MAX }, () => new Uint8Array(1));
  assert.equal(batchLength([append(0, tiny), append(0, tiny)]), 1, "the entry bound holds too");
  assert.equal(batchLength([]), 0);
});

test("peer batches > a backlog of the largest appends goes out in frames a member accepts, every message once, in order", () => {
  // Appends as the core makes them for the largest requests: as many as fit in RAFT_APPEND_BYTES_MAX.
  const largest = new Uint8Array(REQUEST_BYTES_MAX);
  const perAppend = Math.max(1, Math.floor(RAFT_APPEND_BYTES_MAX / REQUEST_BYTES_MAX));
  const queue = Array.from({ length: 16 }, (_, i) => append(i * perAppend, Array(perAppend).fill(largest)));
  const sent: number[] = [];
  let frames = 0;
  while (queue.length > 0) {
    const batch = queue.splice(0, batchLength(queue));
    const frame = encodeFrame({ kind: "raft", messages: batch });
    assert.ok(frame.byteLength <= PEER_FRAME_BYTES_MAX, `a frame of ${frame.byteLength} bytes`);
    const decoded = decodeFrame(frame);
    assert.ok(!("error" in decoded) && decoded.kind === "raft");
    sent.push(...decoded.messages.map((m) => m.index));
    frames++;
  }
  assert.deepEqual(sent, Array.from({ length: 16 }, (_, i) => i * perAppend));
  assert.ok(frames > 1, "the backlog needed more than one frame");
});
