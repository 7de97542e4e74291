/**
 * The server side of one HTTP/2 connection without TLS (RFC 9113), as much as gRPC needs: the
 * preface and settings, streams opened by HEADERS (with CONTINUATION), DATA both ways under flow
 * control, trailers, RST_STREAM, PING, GOAWAY and WINDOW_UPDATE. What the streams mean is the
 * opener's (grpc/calls.ts).
 *
 * Flow control: a client's data is acknowledged to the connection as it arrives, and to its stream
 * as the opener reports it consumed (a paused call holds its stream's window). Answers wait for the
 * client's windows; frames written in one turn of the event loop go out in one write. A client that
 * does not read its socket stops being read once GRPC_CONNECTION_UNSENT_BYTES_MAX wait in it (the
 * rest of what it sent waits unparsed), and its streams see no room while that much, or that much
 * waiting for its windows, is unsent. Frames are otherwise always read: a WINDOW_UPDATE must never
 * wait behind answers that wait for it.
 *
 * Owns: frames, stream states, windows, the socket. Never: gRPC's framing or any call's meaning,
 * and never throws at the socket: a client's protocol error ends its connection with GOAWAY.
 */
import type { RefusingLimit } from "../../metrics/limit_refusals.ts";
import {
  GRPC_CONCURRENT_STREAMS_MAX, GRPC_CONNECTION_UNSENT_BYTES_MAX, GRPC_CONNECTION_WINDOW_BYTES, GRPC_HEADER_LIST_BYTES_MAX,
  GRPC_STREAM_WINDOW_BYTES,
} from "../../config/limits.ts";
import {
  CLIENT_PREFACE, ErrorCode, Flag, frame, frame32, FRAME_BYTES_DEFAULT, FRAME_BYTES_LARGEST, FRAME_HEADER_BYTES, FrameType,
  Setting, WINDOW_BYTES_DEFAULT, WINDOW_BYTES_LARGEST, writeFrameHeader,
} from "./frames.ts";
import type { ByteStream } from "../../runtime/byte_stream.ts";
import { type HeaderList, HpackDecoder } from "./hpack.ts";

/** What a stream's opener hears from it; nothing after the stream has closed. */
export interface StreamEvents {
  /** The payload of a DATA frame, padding removed. */
  data(bytes: Buffer): void;
  /** The client has sent everything it will (END_STREAM). */
  halfClose(): void;
  /** The client reset the stream, or the connection went, before the server ended it. */
  reset(): void;
  /** There is room to send again after send() answered false. */
  drain(): void;
  /** The stream is over: its last frame is written, or it was reset. Said once, last. */
  closed(): void;
}

export type StreamOpener = (stream: H2Stream, headers: HeaderList) => StreamEvents;

/** The settings a client is told at once: a window for the largest request, our limits. */
function ourSettings(): Buffer {
  const settings: [Setting, number][] = [
    [Setting.MAX_CONCURRENT_STREAMS, GRPC_CONCURRENT_STREAMS_MAX],
    [Setting.INITIAL_WINDOW_SIZE, GRPC_STREAM_WINDOW_BYTES],
    [Setting.MAX_HEADER_LIST_SIZE, GRPC_HEADER_LIST_BYTES_MAX],
  ];
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return Buffer.concat([
    frame(FrameType.SETTINGS, 0, 0, payload),
    frame32(FrameType.WINDOW_UPDATE, 0, GRPC_CONNECTION_WINDOW_BYTES - WINDOW_BYTES_DEFAULT),
  ]);
}

const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);

/** One stream of a connection, as its opener sends on it. */
export class H2Stream {
  /** Bytes the client lets us send on this stream. */
  sendWindow: number;
  /** DATA waiting for the client's windows, then trailers waiting behind it. */
  readonly queued: Uint8Array[] = [];
  queuedTrailers: Uint8Array | undefined;
  remoteClosed = false;
  localClosed = false;
  /** Forgotten by its connection: its last frame written, or reset. */
  over = false;
  /** Received bytes consumed but not yet given back to the client as window. */
  unacknowledged = 0;
  events: StreamEvents | undefined;

  constructor(readonly id: number, readonly connection: H2Connection, sendWindow: number) {
    this.sendWindow = sendWindow;
  }

  /** Sends the response's headers (a HEADERS frame, not ending the stream). */
  headers(block: Uint8Array): void {
    if (!this.localClosed) this.connection.headers(this, block, false);
  }

  /** Queues DATA; false once the client is owed more than it has room for (wait for drain). */
  send(bytes: Uint8Array): boolean {
    if (this.localClosed) return false;
    return this.connection.data(this, bytes);
  }

  /** Ends the stream with trailers, after any DATA still waiting for window. */
  trailers(block: Uint8Array): void {
    if (this.localClosed) return;
    if (this.queued.length > 0) this.queuedTrailers = block;
    else this.connection.headers(this, block, true);
  }

  /** The opener has taken `bytes` of what arrived: the client may send that much more. */
  consumed(bytes: number): void {
    this.connection.consumed(this, bytes);
  }

  /** Whether a send now would find room. */
  get writable(): boolean {
    return !this.localClosed && this.queued.length === 0 && this.connection.unsentBytes() < GRPC_CONNECTION_UNSENT_BYTES_MAX;
  }
}

export class H2Connection {
  readonly #socket: ByteStream;
  readonly #open: StreamOpener;
  readonly #decoder = new HpackDecoder(4096, GRPC_HEADER_LIST_BYTES_MAX);
  readonly #streams = new Map<number, H2Stream>();
  /** Streams with DATA waiting for window, and streams waiting to hear there is room. */
  readonly #blocked = new Set<H2Stream>();
  readonly #waitingForRoom = new Set<H2Stream>();
  #input: Buffer | undefined;
  #prefaceRead = false;
  #lastStreamId = 0;
  /** A header block arriving in CONTINUATION frames: its stream, flags and pieces so far. */
  #continuing: { streamId: number; endStream: boolean; pieces: Buffer[]; bytes: number } | undefined;
  #sendWindow = WINDOW_BYTES_DEFAULT;
  #peerStreamWindow = WINDOW_BYTES_DEFAULT;
  #peerFrameBytes = FRAME_BYTES_DEFAULT;
  #connectionUnacknowledged = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  /** Bytes of DATA in streams' queues, waiting for the client's windows. */
  #queuedBytes = 0;
  #flushScheduled = false;
  #closed = false;
  #readingPaused = false;
  /** Inside #read: frames are being handled (a handler's answer must not start another read). */
  #parsing = false;

  /** `onClosed` hears once that the connection is over; `onRefused`, of each stream or header block a limit refused. */
  constructor(socket: ByteStream, open: StreamOpener, readonly onClosed?: () => void, readonly onRefused?: (limit: RefusingLimit) => void) {
    this.#socket = socket;
    this.#open = open;
    socket.onData = (chunk) => this.#read(chunk);
    socket.onDrain = () => this.#drained();
    socket.onClose = () => this.#gone();
    this.#write(ourSettings());
  }

  /** Ends the connection: GOAWAY, then the socket; every open stream hears reset. */
  close(): void {
    if (this.#closed) return;
    this.#write(goAway(this.#lastStreamId, ErrorCode.NO_ERROR, ""));
    this.#flush();
    this.#socket.end();
    this.#gone();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes of answers the client has not taken: in the socket, not yet written, waiting for windows. */
  unsentBytes(): number {
    return this.#socket.unsentBytes + this.#outBytes + this.#queuedBytes;
  }


  // ---- sending (H2Stream calls these) ----

  headers(stream: H2Stream, block: Uint8Array, end: boolean): void {
    const endFlag = end ? Flag.END_STREAM : 0;
    if (block.length <= this.#peerFrameBytes) {
      this.#writeFrame(FrameType.HEADERS, Flag.END_HEADERS | endFlag, stream.id, block);
    } else {
      let at = 0;
      while (at < block.length) {
        const piece = block.subarray(at, at + this.#peerFrameBytes);
        const last = at + piece.length === block.length;
        this.#writeFrame(at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, (at === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0), stream.id, piece);
        at += piece.length;
      }
    }
    if (end) this.#endLocal(stream);
  }

  data(stream: H2Stream, bytes: Uint8Array): boolean {
    const sent = stream.queued.length > 0 ? 0 : this.#sendWithinWindows(stream, bytes);
    if (sent < bytes.length) {
      stream.queued.push(sent === 0 ? bytes : bytes.subarray(sent));
      this.#queuedBytes += bytes.length - sent;
      this.#blocked.add(stream);
    }
    if (stream.writable) return true;
    this.#waitingForRoom.add(stream);
    return false;
  }

  consumed(stream: H2Stream, bytes: number): void {
    if (stream.remoteClosed || this.#closed) return;
    stream.unacknowledged += bytes;
    if (stream.unacknowledged >= GRPC_STREAM_WINDOW_BYTES / 2) {
      this.#write(frame32(FrameType.WINDOW_UPDATE, stream.id, stream.unacknowledged));
      stream.unacknowledged = 0;
    }
  }

  /** Sends as much of `bytes` as the windows allow, in frames the client accepts; how much. */
  #sendWithinWindows(stream: H2Stream, bytes: Uint8Array): number {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, stream.sendWindow, this.#sendWindow, this.#peerFrameBytes);
      if (n <= 0) break;
      this.#writeFrame(FrameType.DATA, 0, stream.id, at === 0 && n === bytes.length ? bytes : bytes.subarray(at, at + n));
      stream.sendWindow -= n;
      this.#sendWindow -= n;
      at += n;
    }
    return at;
  }

  /** After a window grew: sends what waited, and trailers behind it. */
  #sendQueued(): void {
    for (const stream of this.#blocked) {
      while (stream.queued.length > 0) {
        const next = stream.queued[0];
        const sent = this.#sendWithinWindows(stream, next);
        this.#queuedBytes -= sent;
        if (sent < next.length) {
          stream.queued[0] = next.subarray(sent);
          break;
        }
        stream.queued.shift();
      }
      if (stream.queued.length > 0) {
        if (this.#sendWindow <= 0) break;
        continue;
      }
      this.#blocked.delete(stream);
      const trailers = stream.queuedTrailers;
      stream.queuedTrailers = undefined;
      if (trailers) this.headers(stream, trailers, true);
    }
    this.#drained();
  }

  /** Tells streams waiting for room that there is some, and reads again if nothing holds it. */
  #drained(): void {
    if (this.#readingPaused && !this.#parsing && !this.#holdReading()) {
      this.#readingPaused = false;
      this.#read();
      if (!this.#readingPaused) this.#socket.resume();
    }
    for (const stream of this.#waitingForRoom) {
      if (!stream.writable) {
        if (stream.localClosed) this.#waitingForRoom.delete(stream);
        continue;
      }
      this.#waitingForRoom.delete(stream);
      stream.events?.drain();
    }
  }

  #endLocal(stream: H2Stream): void {
    stream.localClosed = true;
    // A client still sending is told to stop: the answer is complete (as grpc-go's server does).
    if (!stream.remoteClosed) this.#write(frame32(FrameType.RST_STREAM, stream.id, ErrorCode.NO_ERROR));
    this.#forget(stream);
  }

  /** The stream is over: nothing more is sent or heard on it. */
  #forget(stream: H2Stream): void {
    if (stream.over) return;
    stream.over = true;
    stream.localClosed = true;
    stream.remoteClosed = true;
    for (const bytes of stream.queued) this.#queuedBytes -= bytes.length;
    stream.queued.length = 0;
    stream.queuedTrailers = undefined;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    this.#waitingForRoom.delete(stream);
    stream.events?.closed();
  }

  #writeFrame(type: FrameType, flags: number, streamId: number, payload: Uint8Array): void {
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, payload.length, type, flags, streamId);
    this.#write(header);
    if (payload.length > 0) this.#write(payload);
  }

  #write(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** Everything written this turn, in one write. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0 || this.#closed) return;
    const out = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    this.#socket.write(out);
    this.#pauseIfHeld();
  }

  /** Whether requests should wait unread: the client is not taking what its socket holds. */
  #holdReading(): boolean {
    return this.#socket.unsentBytes + this.#outBytes >= GRPC_CONNECTION_UNSENT_BYTES_MAX;
  }

  /** Pauses reading if it should be held; whether it is paused. */
  #pauseIfHeld(): boolean {
    if (this.#readingPaused) return true;
    if (this.#closed || !this.#holdReading()) return false;
    this.#readingPaused = true;
    this.#socket.pause();
    return true;
  }

  // ---- receiving ----

  /**
   * Frames off what arrived (and what waited), one at a time, while reading is not held: once it
   * is (answers pile up, or the handler is busy), the rest waits unparsed and the socket is paused.
   */
  #read(chunk?: Buffer): void {
    if (this.#closed) return;
    if (this.#parsing) return void (chunk && this.#keep(chunk));
    const input = chunk === undefined ? this.#input : this.#input ? Buffer.concat([this.#input, chunk]) : chunk;
    this.#input = undefined;
    if (input === undefined) return;
    let at = 0;
    if (!this.#prefaceRead) {
      if (input.length < CLIENT_PREFACE.length) return void (this.#input = Buffer.from(input));
      if (!input.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad client preface");
      this.#prefaceRead = true;
      at = CLIENT_PREFACE.length;
    }
    this.#parsing = true;
    try {
      while (input.length - at >= FRAME_HEADER_BYTES && !this.#pauseIfHeld()) {
        const length = (input[at] << 16) | (input[at + 1] << 8) | input[at + 2];
        if (length > FRAME_BYTES_DEFAULT) return this.#fail(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
        if (input.length - at - FRAME_HEADER_BYTES < length) break;
        const type = input[at + 3];
        const flags = input[at + 4];
        const streamId = input.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = input.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        at += FRAME_HEADER_BYTES + length;
        this.#frame(type, flags, streamId, payload);
        if (this.#closed) return;
      }
    } finally {
      this.#parsing = false;
    }
    if (at < input.length) this.#keep(input.subarray(at));
  }

  /** Keeps bytes not parsed yet (a copy: the runtime may reuse what it read into). */
  #keep(bytes: Buffer): void {
    this.#input = this.#input ? Buffer.concat([this.#input, bytes]) : Buffer.from(bytes);
  }

  #frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.#continuing && type !== FrameType.CONTINUATION) return this.#fail(ErrorCode.PROTOCOL_ERROR, "a header block was interrupted");
    switch (type) {
      case FrameType.DATA:
        return this.#dataFrame(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.#headersFrame(flags, streamId, payload);
      case FrameType.CONTINUATION:
        return this.#continuationFrame(flags, streamId, payload);
      case FrameType.RST_STREAM: {
        if (streamId === 0 || payload.length !== 4) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad RST_STREAM");
        const stream = this.#streams.get(streamId);
        if (!stream) return;
        stream.events?.reset();
        return this.#forget(stream);
      }
      case FrameType.SETTINGS:
        return this.#settingsFrame(flags, streamId, payload);
      case FrameType.PING:
        if (streamId !== 0 || payload.length !== 8) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad PING");
        if ((flags & Flag.ACK) === 0) this.#write(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdateFrame(streamId, payload);
      case FrameType.PUSH_PROMISE:
        return this.#fail(ErrorCode.PROTOCOL_ERROR, "a client may not push");
      case FrameType.GOAWAY:
      case FrameType.PRIORITY:
      default:
        // The client ends the connection itself after GOAWAY; priorities and unknown frames are ignored (RFC 9113 §5.5).
        return;
    }
  }

  #dataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) return this.#fail(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    // The connection's window is given back as data arrives, whatever becomes of it.
    this.#connectionUnacknowledged += payload.length;
    if (this.#connectionUnacknowledged >= GRPC_CONNECTION_WINDOW_BYTES / 2) {
      this.#write(frame32(FrameType.WINDOW_UPDATE, 0, this.#connectionUnacknowledged));
      this.#connectionUnacknowledged = 0;
    }
    let data = payload;
    if (flags & Flag.PADDED) {
      const padding = payload.length > 0 ? payload[0] : 256;
      if (padding >= payload.length) return this.#fail(ErrorCode.PROTOCOL_ERROR, "padding longer than its frame");
      data = payload.subarray(1, payload.length - padding);
    }
    const stream = this.#streams.get(streamId);
    if (!stream || stream.remoteClosed) {
      if (streamId > this.#lastStreamId) return this.#fail(ErrorCode.PROTOCOL_ERROR, "DATA on a stream never opened");
      return; // a stream already ended or reset: what was in flight is dropped
    }
    if (data.length < payload.length) this.consumed(stream, payload.length - data.length);
    if (data.length > 0) stream.events?.data(data);
    if (flags & Flag.END_STREAM) this.#remoteEnded(stream);
  }

  #remoteEnded(stream: H2Stream): void {
    if (stream.remoteClosed) return;
    stream.remoteClosed = true;
    stream.events?.halfClose();
  }

  #headersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) return this.#fail(ErrorCode.PROTOCOL_ERROR, "HEADERS on a stream a client cannot open");
    let start = 0;
    let end = payload.length;
    if (flags & Flag.PADDED) {
      if (payload.length < 1) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad padding");
      end -= payload[0];
      start = 1;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (start > end) return this.#fail(ErrorCode.PROTOCOL_ERROR, "padding longer than its frame");
    const fragment = payload.subarray(start, end);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) return this.#headerBlock(streamId, endStream, fragment);
    this.#continuing = { streamId, endStream, pieces: [Buffer.from(fragment)], bytes: fragment.length };
  }

  #continuationFrame(flags: number, streamId: number, payload: Buffer): void {
    const block = this.#continuing;
    if (!block || block.streamId !== streamId) return this.#fail(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without its HEADERS");
    block.bytes += payload.length;
    if (block.bytes > GRPC_HEADER_LIST_BYTES_MAX) {
      this.onRefused?.("GRPC_HEADER_LIST_BYTES_MAX");
      return this.#fail(ErrorCode.ENHANCE_YOUR_CALM, "a header block beyond the header list limit");
    }
    block.pieces.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#continuing = undefined;
    this.#headerBlock(streamId, block.endStream, Buffer.concat(block.pieces, block.bytes));
  }

  #headerBlock(streamId: number, endStream: boolean, block: Uint8Array): void {
    // Every block is decoded, even one for a stream that is gone: HPACK's table depends on it.
    const headers = this.#decoder.decode(block);
    if ("error" in headers) {
      if (headers.compression) return this.#fail(ErrorCode.COMPRESSION_ERROR, headers.error);
      // Headers beyond GRPC_HEADER_LIST_BYTES_MAX: that stream alone is refused.
      this.onRefused?.("GRPC_HEADER_LIST_BYTES_MAX");
      this.#lastStreamId = Math.max(this.#lastStreamId, streamId);
      const stream = this.#streams.get(streamId);
      if (stream) {
        stream.events?.reset();
        this.#forget(stream);
      }
      return void this.#write(frame32(FrameType.RST_STREAM, streamId, ErrorCode.ENHANCE_YOUR_CALM));
    }
    const open = this.#streams.get(streamId);
    if (open) {
      // Trailers from the client: they must end its side, and say nothing gRPC reads.
      if (!endStream) return this.#fail(ErrorCode.PROTOCOL_ERROR, "a second header block that does not end the stream");
      return this.#remoteEnded(open);
    }
    if (streamId <= this.#lastStreamId) return; // trailers for a stream already ended
    this.#lastStreamId = streamId;
    if (this.#streams.size >= GRPC_CONCURRENT_STREAMS_MAX) {
      this.onRefused?.("GRPC_CONCURRENT_STREAMS_MAX");
      return void this.#write(frame32(FrameType.RST_STREAM, streamId, ErrorCode.REFUSED_STREAM));
    }
    const stream = new H2Stream(streamId, this, this.#peerStreamWindow);
    this.#streams.set(streamId, stream);
    stream.events = this.#open(stream, headers);
    if (endStream && this.#streams.has(streamId)) this.#remoteEnded(stream);
  }

  #settingsFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0 || payload.length % 6 !== 0) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad SETTINGS");
    if (flags & Flag.ACK) return;
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > WINDOW_BYTES_LARGEST) return this.#fail(ErrorCode.FLOW_CONTROL_ERROR, "window beyond 2^31-1");
        const delta = value - this.#peerStreamWindow;
        this.#peerStreamWindow = value;
        for (const stream of this.#streams.values()) stream.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < FRAME_BYTES_DEFAULT || value > FRAME_BYTES_LARGEST) return this.#fail(ErrorCode.PROTOCOL_ERROR, "bad SETTINGS_MAX_FRAME_SIZE");
        this.#peerFrameBytes = value;
      }
      // Header table size: answers never use HPACK's dynamic table. Push: never sent. The rest bind the client.
    }
    this.#write(SETTINGS_ACK);
    this.#sendQueued();
  }

  #windowUpdateFrame(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) return this.#fail(ErrorCode.FRAME_SIZE_ERROR, "bad WINDOW_UPDATE");
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (this.#sendWindow + increment > WINDOW_BYTES_LARGEST) return this.#fail(ErrorCode.FLOW_CONTROL_ERROR, "window beyond 2^31-1");
      this.#sendWindow += increment;
    } else {
      const stream = this.#streams.get(streamId);
      if (!stream) return;
      stream.sendWindow += increment;
    }
    if (this.#blocked.size > 0) this.#sendQueued();
  }

  /** A client that broke the protocol: GOAWAY saying why, and the connection ends. */
  #fail(code: ErrorCode, why: string): void {
    if (this.#closed) return;
    this.#continuing = undefined;
    this.#write(goAway(this.#lastStreamId, code, why));
    this.#flush();
    this.#socket.end();
    this.#gone();
  }

  /** The connection is over: every stream still open hears reset. */
  #gone(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = [];
    this.#outBytes = 0;
    this.#queuedBytes = 0;
    for (const stream of [...this.#streams.values()]) {
      stream.localClosed = stream.remoteClosed = true;
      stream.events?.reset();
      this.#forget(stream);
    }
    this.#socket.end();
    this.onClosed?.();
  }
}

function goAway(lastStreamId: number, code: ErrorCode, why: string): Buffer {
  const debug = Buffer.from(why, "utf8");
  const payload = Buffer.allocUnsafe(8 + debug.length);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  payload.set(debug, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}
