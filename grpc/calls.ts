/**
 * gRPC over our HTTP/2 streams (gRPC's PROTOCOL-HTTP2): a request's path picks the method, its
 * body is length-prefixed protobuf messages, the answer is headers, messages, and trailers holding
 * grpc-status and grpc-message (or, for an error before any message, one trailers-only block).
 * Errors the transport finds are said as grpc-go's server says them, so etcd's clients print what
 * they print against etcd: a message over the limit ("grpc: received message larger than max (N
 * vs. M)", RESOURCE_EXHAUSTED), bytes that are not the request ("grpc: error unmarshalling
 * request: …", INTERNAL), a method that does not exist ("unknown method M for service S",
 * UNIMPLEMENTED).
 *
 * Owns: the method shapes (unary, server streaming, bidirectional), a call's life (metadata,
 * reading messages with pause and resume, sending with flow control, ending with a status), and
 * a connection's bounds: request bytes it holds, calls it runs at once (past GRPC_CONNECTION_CALLS_IN_FLIGHT_MAX
 * a call waits, in order, until one ends — its answer written, not merely made). Never: what any method does, or a frame (the
 * connection has those).
 */
import type { RefusingLimit } from "../metrics/limit_refusals.ts";
import { GRPC_CONNECTION_BUFFERED_BYTES_MAX, GRPC_CONNECTION_CALLS_IN_FLIGHT_MAX } from "../config/limits.ts";
import { EtcdError, GrpcCode, isEtcdError } from "../etcd/errors.ts";
import type { H2Stream, StreamEvents, StreamOpener } from "./h2/connection.ts";
import { encodeHeaders, type HeaderList } from "./h2/hpack.ts";
import type { ProtoMessage } from "./protos.ts";
import type { ProtoObject } from "./responses.ts";

/** A call's metadata: its headers but HTTP/2's own (":path"…), names lower-case. */
export interface Metadata {
  get(name: string): string | undefined;
}

/** Metadata read off the request's header list when asked (most calls ask once, for `hasleader`). */
class HeaderMetadata implements Metadata {
  constructor(readonly headers: HeaderList) {}
  get(name: string): string | undefined {
    if (name[0] === ":") return undefined;
    let found: string | undefined;
    for (const [n, v] of this.headers) if (n === name) found = v;
    return found;
  }
}

/** A response already encoded (a long one, encoded a slice at a time by its method). */
export class EncodedMessage {
  constructor(readonly bytes: Uint8Array) {}
}

export type Answer = ProtoObject | EtcdError | EncodedMessage;

/** A streaming call as its method drives it. */
export interface ServerCall {
  readonly metadata: Metadata;
  /** Sends a message; false once the client is owed more than it has room for (onDrain says when). */
  send(message: ProtoObject | EncodedMessage): boolean;
  /** Ends the call: OK, or etcd's error as its status. Nothing is sent or heard after. */
  end(error?: EtcdError): void;
  /** Ended by the server, or cancelled by the client (or its connection went). */
  readonly ended: boolean;
  /** Stops delivering messages (they wait, their bytes holding the call's window) until resume(). */
  pause(): void;
  resume(): void;
  onMessage?: (message: ProtoMessage) => void;
  /** The client has sent its last message. */
  onHalfClose?: () => void;
  /** The client cancelled, or its connection went, before the call ended. */
  onGone?: () => void;
  /** Room to send again after send() answered false. */
  onDrain?: () => void;
}

/**
 * A method. `waits`: its answer may be long in coming (a lock, a campaign, an observation) while
 * it holds no answer — it does not count among the connection's calls in flight, or a client
 * waiting on a lock could hold up its own other calls.
 */
export type Method =
  | { kind: "unary"; handle: (request: ProtoMessage, metadata: Metadata, signal: AbortSignal) => Answer | Promise<Answer>; waits?: boolean }
  | { kind: "serverStream"; start: (call: ServerCall, request: ProtoMessage) => void; waits?: boolean }
  | { kind: "bidiStream"; start: (call: ServerCall) => void };

export type ServiceImplementation = Record<string, Method>;

/** A method as served: what it does, and its messages' codec. */
export interface ServedMethod {
  method: Method;
  decode: (bytes: Buffer) => ProtoMessage;
  encode: (message: ProtoObject) => Buffer;
}

/** Looks a path up: the method, or the status for a path that names none. */
export type Router = (path: string) => ServedMethod | EtcdError;

/** What a connection's calls hold, against its bounds. */
interface ConnectionBudget {
  /** Request bytes not yet handed to a call. */
  bufferedBytes: number;
  /** Unary and server-streaming calls started and not yet over (their last frame written) … */
  callsInFlight: number;
  /** … and those read whole, waiting for one of them to end before they start, oldest first. */
  waiting: Call[];
  /** Counts a call a limit ended. */
  refused(limit: RefusingLimit): void;
  counted: CallCounter;
}

/** A call as go-grpc-prometheus labels it: grpc_type (unary, server_stream, bidi_stream), grpc_service, grpc_method. */
export type CallLabels = { grpc_type: string; grpc_service: string; grpc_method: string };

/** Where calls are counted as they start and as they end with a status (etcd's grpc_server_*_total). */
export interface CallCounter {
  started(call: CallLabels): void;
  handled(call: CallLabels, code: GrpcCode): void;
}

const CALL_TYPES = { unary: "unary", serverStream: "server_stream", bidiStream: "bidi_stream" } as const;

const MESSAGE_PREFIX_BYTES = 5;
const TOO_MUCH_BUFFERED = new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, "grpc: connection holds too many request bytes not yet served");
const EMPTY = Buffer.alloc(0);
const RESPONSE_HEADERS = encodeHeaders([[":status", "200"], ["content-type", "application/grpc"]]);
const OK_TRAILERS = encodeHeaders([["grpc-status", "0"]]);

/** grpc-message's encoding: percent-encoded outside printable ASCII, and '%' itself. */
function percentEncoded(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function statusFields(error: EtcdError): Array<[string, string]> {
  return [["grpc-status", String(error.code)], ["grpc-message", percentEncoded(error.message)]];
}

/** A Concord bug or a failed disk, said in etcd's shape (code UNKNOWN) rather than dropping the call. */
export function unexpected(e: unknown): EtcdError {
  console.error("concord: gRPC call failed:", e);
  return new EtcdError(GrpcCode.UNKNOWN, `concord: internal error: ${e instanceof Error ? e.message : String(e)}`);
}

/** gRPC calls on one connection's streams. */
/** `refused` counts each call a limit ends, `counted` each call started and ended (by default neither is counted). */
export function callOpener(
  route: Router,
  receiveBytesMax: number,
  counting: { refused?: (limit: RefusingLimit) => void; counted?: CallCounter } = {},
): StreamOpener {
  const budget: ConnectionBudget = {
    bufferedBytes: 0, callsInFlight: 0, waiting: [], refused: counting.refused ?? (() => {}),
    counted: counting.counted ?? { started: () => {}, handled: () => {} },
  };
  return (stream, headers) => new Call(stream, headers, route, receiveBytesMax, budget);
}

class Call implements ServerCall, StreamEvents {
  readonly metadata: Metadata;
  onMessage?: (message: ProtoMessage) => void;
  onHalfClose?: () => void;
  onGone?: () => void;
  onDrain?: () => void;
  #served: ServedMethod | undefined;
  /** How the call is counted, once its path named a method. */
  #labels: CallLabels | undefined;
  #ended = false;
  #headersSent = false;
  #paused = false;
  #halfClosed = false;
  #messages = 0;
  #inFlight = false;
  /** A unary or server-streaming call's request, read and not yet started. */
  #request: ProtoMessage | undefined;
  #waitingBytes = 0;
  /** Request bytes not yet read as messages: pieces, and their total. */
  #pieces: Buffer[] = [];
  #buffered = 0;

  constructor(
    readonly stream: H2Stream,
    headers: HeaderList,
    route: Router,
    readonly receiveBytesMax: number,
    readonly budget: ConnectionBudget,
  ) {
    this.metadata = new HeaderMetadata(headers);
    let path = "";
    let httpMethod = "";
    let contentType = "";
    for (const [name, value] of headers) {
      if (name === ":path") path = value;
      else if (name === ":method") httpMethod = value;
      else if (name === "content-type") contentType = value;
    }
    if (httpMethod !== "POST" || !contentType.startsWith("application/grpc")) {
      this.#ended = true;
      stream.trailers(encodeHeaders([[":status", "415"], ["content-type", "text/plain"], ["grpc-status", String(GrpcCode.INTERNAL)],
        ["grpc-message", percentEncoded(`invalid gRPC request content-type "${contentType}"`)]]));
      return;
    }
    const served = route(path);
    if (isEtcdError(served)) {
      this.end(served);
      return;
    }
    this.#served = served;
    const method = served.method;
    const slash = path.lastIndexOf("/");
    this.#labels = { grpc_type: CALL_TYPES[method.kind], grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
    budget.counted.started(this.#labels);
    if (method.kind === "bidiStream") this.#start(() => method.start(this));
  }

  get ended(): boolean {
    return this.#ended;
  }

  // ---- from the stream ----

  data(bytes: Buffer): void {
    if (this.#ended) return this.stream.consumed(bytes.length);
    if (this.budget.bufferedBytes + bytes.length > GRPC_CONNECTION_BUFFERED_BYTES_MAX) {
      this.budget.refused("GRPC_CONNECTION_BUFFERED_BYTES_MAX");
      return this.end(TOO_MUCH_BUFFERED);
    }
    // A copy: what a message keeps (its keys and values) must not hold the connection's whole read.
    this.#pieces.push(Buffer.from(bytes));
    this.#buffered += bytes.length;
    this.budget.bufferedBytes += bytes.length;
    this.#readMessages();
  }

  halfClose(): void {
    this.#halfClosed = true;
    this.#readMessages();
  }

  reset(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
    this.#hook(this.onGone);
  }

  drain(): void {
    if (!this.#ended) this.#hook(this.onDrain);
  }

  // ---- to the method ----

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#readMessages();
  }

  send(message: ProtoObject | EncodedMessage): boolean {
    if (this.#ended || !this.#served) return false;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.stream.headers(RESPONSE_HEADERS);
    }
    const body = message instanceof EncodedMessage ? message.bytes : this.#served.encode(message);
    const framed = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + body.length);
    framed[0] = 0;
    framed.writeUInt32BE(body.length, 1);
    framed.set(body, MESSAGE_PREFIX_BYTES);
    return this.stream.send(framed);
  }

  end(error?: EtcdError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
    if (this.#labels) this.budget.counted.handled(this.#labels, error?.code ?? GrpcCode.OK);
    if (!error) {
      if (!this.#headersSent) this.stream.headers(RESPONSE_HEADERS);
      return this.stream.trailers(OK_TRAILERS);
    }
    if (this.#headersSent) return this.stream.trailers(encodeHeaders(statusFields(error)));
    this.stream.trailers(encodeHeaders([[":status", "200"], ["content-type", "application/grpc"], ...statusFields(error)]));
  }

  // ---- inside ----

  /** Reads whole messages off what arrived and hands them on, while the method takes them. */
  #readMessages(): void {
    while (!this.#ended && !this.#paused && this.#buffered >= MESSAGE_PREFIX_BYTES) {
      const head = this.#peek(MESSAGE_PREFIX_BYTES);
      const length = head.readUInt32BE(1);
      if (length > this.receiveBytesMax) {
        this.budget.refused("GRPC_RECEIVE_BYTES_MAX");
        return this.end(new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${length} vs. ${this.receiveBytesMax})`));
      }
      if (this.#buffered < MESSAGE_PREFIX_BYTES + length) break;
      this.#take(MESSAGE_PREFIX_BYTES);
      const body = this.#take(length);
      if (head[0] !== 0) {
        return this.end(new EtcdError(GrpcCode.UNIMPLEMENTED,
          `grpc: Decompressor is not installed for grpc-encoding "${this.metadata.get("grpc-encoding") ?? ""}"`));
      }
      this.#message(body);
    }
    if (this.#ended || !this.#halfClosed || this.#buffered > 0 || this.#paused) return;
    if (this.#messages === 0 && this.#served?.method.kind !== "bidiStream") {
      return this.end(new EtcdError(GrpcCode.INTERNAL, "grpc: the client sent no request message"));
    }
    if (this.#served?.method.kind === "bidiStream") {
      const hook = this.onHalfClose;
      this.onHalfClose = undefined;
      this.#hook(hook);
    }
  }

  #message(body: Buffer): void {
    const served = this.#served!;
    let request: ProtoMessage;
    try {
      request = served.decode(body);
    } catch (e) {
      return this.end(new EtcdError(GrpcCode.INTERNAL, `grpc: error unmarshalling request: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.#messages++;
    const method = served.method;
    if (method.kind === "bidiStream") return this.#hook(this.onMessage, request);
    // A unary or server-streaming call reads one message; anything after it is not looked at.
    if (this.#messages > 1) return;
    this.#request = request;
    if (this.budget.callsInFlight < GRPC_CONNECTION_CALLS_IN_FLIGHT_MAX) return this.#run();
    // Waiting, its request counts as bytes the connection holds.
    if (this.budget.bufferedBytes + body.length > GRPC_CONNECTION_BUFFERED_BYTES_MAX) {
      this.budget.refused("GRPC_CONNECTION_BUFFERED_BYTES_MAX");
      return this.end(TOO_MUCH_BUFFERED);
    }
    this.#waitingBytes = body.length;
    this.budget.bufferedBytes += body.length;
    this.budget.waiting.push(this);
  }

  /** Starts the method on the request read. */
  #run(): void {
    const method = this.#served!.method;
    const request = this.#request!;
    this.#request = undefined;
    this.budget.bufferedBytes -= this.#waitingBytes;
    this.#waitingBytes = 0;
    if (method.kind === "bidiStream") return;
    if (!method.waits) {
      this.#inFlight = true;
      this.budget.callsInFlight++;
    }
    if (method.kind === "serverStream") return this.#start(() => method.start(this, request));
    // A unary call the client cancels (or whose connection goes) is told so.
    const cancelled = new AbortController();
    this.onGone = () => cancelled.abort();
    this.#start(() => {
      const answer = method.handle(request, this.metadata, cancelled.signal);
      if (answer instanceof Promise) answer.then((a) => this.#answer(a), (e) => this.#answer(unexpected(e)));
      else this.#answer(answer);
    });
  }

  closed(): void {
    if (!this.#inFlight) return;
    this.#inFlight = false;
    this.budget.callsInFlight--;
    const { waiting } = this.budget;
    while (waiting.length > 0 && this.budget.callsInFlight < GRPC_CONNECTION_CALLS_IN_FLIGHT_MAX && !this.stream.connection.isClosed) {
      const next = waiting.shift()!;
      if (!next.#ended) next.#run();
    }
  }

  #answer(answer: Answer): void {
    if (this.#ended) return;
    if (isEtcdError(answer)) return this.end(answer);
    this.send(answer);
    this.end();
  }

  /** Runs a method's code: an exception is a Concord bug, answered UNKNOWN; the connection goes on. */
  #start(run: () => void): void {
    try {
      run();
    } catch (e) {
      this.end(unexpected(e));
    }
  }

  #hook<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
    if (hook) this.#start(() => hook(...args));
  }

  /** The first `n` buffered bytes, not taken. */
  #peek(n: number): Buffer {
    const first = this.#pieces[0];
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.#pieces, this.#buffered);
    this.#pieces = [joined];
    return joined;
  }

  /** Takes the first `n` buffered bytes; the client may send that much more. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const joined = this.#peek(n);
    const taken = joined.subarray(0, n);
    if (joined.length === n) this.#pieces.shift();
    else this.#pieces[0] = joined.subarray(n);
    this.#buffered -= n;
    this.budget.bufferedBytes -= n;
    this.stream.consumed(n);
    return taken;
  }

  /** The call is over: what it held is given back. */
  #release(): void {
    this.budget.bufferedBytes -= this.#buffered;
    this.#pieces = [];
    this.#buffered = 0;
    this.#request = undefined;
    this.budget.bufferedBytes -= this.#waitingBytes;
    this.#waitingBytes = 0;
  }
}
