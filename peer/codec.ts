/**
 * The wire encoding of Raft messages between members: a batch of messages in one binary body.
 *
 * Owns: the byte layout (little-endian; numbers as float64, exact for every index and term a log
 * can reach; strings and bytes as u32 length + bytes) of message batches and stream frames
 * (Raft messages, forwarded proposals and their placements). Decoding checks every
 * length against the body and answers an error instead of throwing.
 * Never: decides where messages go or what they mean.
 */
import type { Entry, Message, MessageType, Snapshot } from "../raft/types.ts";
import type { StreamFrame } from "./types.ts";

const TYPES: readonly MessageType[] = [
  "app", "appResp", "vote", "voteResp", "preVote", "preVoteResp", "heartbeat", "heartbeatResp", "readIndex",
  "readIndexResp", "timeoutNow", "snap",
];
const TYPE_CODE = new Map(TYPES.map((t, i) => [t, i]));

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Room for a message's fixed fields and ids, and for an entry's beside its data, bytes (a guess: the buffer grows if short). */
const MESSAGE_BYTES_GUESS = 128;
const ENTRY_BYTES_GUESS = 32;

/** The bytes a batch will likely take, so the writer allocates once. */
const messagesBytesGuess = (messages: readonly Message[]) =>
  messages.reduce((n, m) => n + MESSAGE_BYTES_GUESS + m.entries.reduce((k, e) => k + ENTRY_BYTES_GUESS + e.data.length, 0), 8);

class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #at = 0;

  constructor(bytesGuess = 4096) {
    this.#buf = new Uint8Array(bytesGuess);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#at + n));
    next.set(this.#buf.subarray(0, this.#at));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.#room(1);
    this.#view.setUint8(this.#at, v);
    this.#at += 1;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#at, v, true);
    this.#at += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#at, v, true);
    this.#at += 8;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#room(b.length);
    this.#buf.set(b, this.#at);
    this.#at += b.length;
  }

  str(s: string): void {
    this.bytes(encoder.encode(s));
  }

  done(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #need(n: number): void {
    if (this.#at + n > this.#buf.length) throw new RangeError("truncated message batch");
  }

  u8(): number {
    this.#need(1);
    return this.#view.getUint8(this.#at++);
  }

  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#at, true);
    this.#at += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.#at, true);
    this.#at += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    // A copy: entries outlive the request body they arrived in.
    const b = this.#buf.slice(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }

  str(): string {
    const n = this.u32();
    this.#need(n);
    const s = decoder.decode(this.#buf.subarray(this.#at, this.#at + n));
    this.#at += n;
    return s;
  }

  /** A count of items that each take at least one byte: more than the bytes left is corrupt. */
  count(): number {
    const n = this.u32();
    if (n > this.#buf.length - this.#at) throw new RangeError("message batch count beyond its length");
    return n;
  }

  get done(): boolean {
    return this.#at === this.#buf.length;
  }
}

function writeEntry(w: Writer, e: Entry): void {
  w.f64(e.index);
  w.f64(e.term);
  w.u8(e.type === "confChange" ? 1 : 0);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const index = r.f64();
  const term = r.f64();
  const type = r.u8();
  const data = r.bytes();
  return type === 1 ? { index, term, data, type: "confChange" } : { index, term, data };
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.f64(s.index);
  w.f64(s.term);
  w.u32(s.conf.voters.length);
  for (const v of s.conf.voters) w.str(v);
  w.u32(s.conf.learners.length);
  for (const l of s.conf.learners) w.str(l);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.f64();
  const term = r.f64();
  const voters = Array.from({ length: r.count() }, () => r.str());
  const learners = Array.from({ length: r.count() }, () => r.str());
  return { index, term, conf: { voters, learners }, data: r.bytes() };
}

export function encodeMessages(messages: readonly Message[]): Uint8Array {
  const w = new Writer(messagesBytesGuess(messages));
  writeMessages(w, messages);
  return w.done();
}

function writeMessages(w: Writer, messages: readonly Message[]): void {
  w.u32(messages.length);
  for (const m of messages) {
    w.u8(TYPE_CODE.get(m.type)!);
    w.str(m.from);
    w.str(m.to);
    w.f64(m.term);
    w.f64(m.logTerm);
    w.f64(m.index);
    w.f64(m.commit);
    w.u8(m.reject ? 1 : 0);
    w.f64(m.rejectHint);
    w.str(m.context);
    w.u32(m.entries.length);
    for (const e of m.entries) writeEntry(w, e);
    w.u8(m.snapshot ? 1 : 0);
    if (m.snapshot) writeSnapshot(w, m.snapshot);
  }
}

export function decodeMessages(body: Uint8Array): Message[] | { error: string } {
  const r = new Reader(body);
  try {
    const messages = readMessages(r);
    if (!r.done) return { error: "trailing bytes after message batch" };
    return messages;
  } catch (e) {
    if (e instanceof RangeError) return { error: e.message };
    throw e;
  }
}

function readMessages(r: Reader): Message[] {
  return Array.from({ length: r.count() }, (): Message => {
    const type = TYPES[r.u8()];
    if (type === undefined) throw new RangeError("unknown message type");
    const m: Message = {
      type, from: r.str(), to: r.str(), term: r.f64(), logTerm: r.f64(), index: r.f64(), commit: r.f64(),
      reject: r.u8() === 1, rejectHint: r.f64(), context: r.str(), entries: [],
    };
    m.entries = Array.from({ length: r.count() }, () => readEntry(r));
    if (r.u8() === 1) m.snapshot = readSnapshot(r);
    return m;
  });
}


const FRAME_KINDS = ["raft", "propose", "placed"] as const;

export function encodeFrame(frame: StreamFrame): Uint8Array {
  const w = new Writer(frame.kind === "raft" ? messagesBytesGuess(frame.messages) : undefined);
  w.u8(FRAME_KINDS.indexOf(frame.kind));
  switch (frame.kind) {
    case "raft":
      writeMessages(w, frame.messages);
      break;
    case "propose":
      w.u32(frame.proposals.length);
      for (const p of frame.proposals) {
        w.str(p.rid);
        w.bytes(p.data);
      }
      break;
    case "placed":
      w.u32(frame.placements.length);
      for (const p of frame.placements) {
        w.str(p.rid);
        w.f64(p.index);
        w.f64(p.term);
      }
      break;
  }
  return w.done();
}

export function decodeFrame(body: Uint8Array): StreamFrame | { error: string } {
  const r = new Reader(body);
  try {
    const kind = FRAME_KINDS[r.u8()];
    let frame: StreamFrame;
    switch (kind) {
      case "raft":
        frame = { kind, messages: readMessages(r) };
        break;
      case "propose":
        frame = { kind, proposals: Array.from({ length: r.count() }, () => ({ rid: r.str(), data: r.bytes() })) };
        break;
      case "placed":
        frame = { kind, placements: Array.from({ length: r.count() }, () => ({ rid: r.str(), index: r.f64(), term: r.f64() })) };
        break;
      default:
        return { error: "unknown frame kind" };
    }
    return r.done ? frame : { error: "trailing bytes after frame" };
  } catch (e) {
    if (e instanceof RangeError) return { error: e.message };
    throw e;
  }
}
