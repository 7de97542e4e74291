/**
 * HTTP/2's frame layer (RFC 9113 §4, §6): the numbers a frame carries — types, flags, settings,
 * error codes — and writing a frame's 9-byte header.
 *
 * Owns: those constants and the frame header's layout. Never: state (connection.ts keeps it).
 */

/** The client's first 24 bytes on every HTTP/2 connection (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FRAME_HEADER_BYTES = 9;

export enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export enum Setting {
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

export enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  FLOW_CONTROL_ERROR = 0x3,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  COMPRESSION_ERROR = 0x9,
  ENHANCE_YOUR_CALM = 0xb,
}

/** The frame size every endpoint must accept, and the least it may announce (RFC 9113 §4.2). */
export const FRAME_BYTES_DEFAULT = 16_384;
export const FRAME_BYTES_LARGEST = 16_777_215;
/** Flow-control windows start at this and may not exceed 2^31 − 1 (RFC 9113 §6.9). */
export const WINDOW_BYTES_DEFAULT = 65_535;
export const WINDOW_BYTES_LARGEST = 2 ** 31 - 1;

/** A frame's 9-byte header written at `at` in `into`. */
export function writeFrameHeader(into: Uint8Array, at: number, length: number, type: FrameType, flags: number, streamId: number): void {
  into[at] = length >>> 16;
  into[at + 1] = (length >>> 8) & 0xff;
  into[at + 2] = length & 0xff;
  into[at + 3] = type;
  into[at + 4] = flags;
  into[at + 5] = (streamId >>> 24) & 0x7f;
  into[at + 6] = (streamId >>> 16) & 0xff;
  into[at + 7] = (streamId >>> 8) & 0xff;
  into[at + 8] = streamId & 0xff;
}

/** A whole frame: header and payload in one buffer. */
export function frame(type: FrameType, flags: number, streamId: number, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

const EMPTY = new Uint8Array(0);

/** A frame whose payload is one 32-bit number (WINDOW_UPDATE's increment, RST_STREAM's code). */
export function frame32(type: FrameType, streamId: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, type, 0, streamId);
  out.writeUInt32BE(value >>> 0, FRAME_HEADER_BYTES);
  return out;
}
