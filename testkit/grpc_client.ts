/**
 * Test support: a grpc-js client of etcd's services, built from the same protos Concord serves
 * (grpc/protos.ts), its answers as values — the response message, or the status code and details
 * it failed with — so a test can send one request to etcd and to Concord and compare.
 *
 * Owns: connecting, bounding every call in time, and closing. Never: asserts or normalises.
 */
import { type Client, credentials, makeGenericClientConstructor, Metadata, type ServiceError } from "@grpc/grpc-js";
import { type EtcdServiceName, etcdServices, loadEtcdServices } from "../grpc/protos.ts";

export type ServiceName = EtcdServiceName;
/** A decoded response: etcd's field names, int64 as strings, bytes as Buffers, unset fields absent. */
export type Message = Record<string, unknown>;
export type GrpcAnswer = { ok: Message } | { code: number; details: string };

const CALL_TIMEOUT_MS = 10_000;

/** A stream left open: what it sent so far, waiting for more (bounded), and cancelling it. */
export interface OpenStream {
  readonly messages: Message[];
  until(count: number, timeoutMs: number): Promise<void>;
  cancel(): void;
}

type UnaryMethod = (request: object, metadata: Metadata, options: { deadline: Date }, done: (err: ServiceError | null, res?: Message) => void) => void;
type StreamMethod = (request: object, metadata: Metadata, options: { deadline: Date }) => NodeJS.ReadableStream;

// The clients are made from the same protos the member serves, loaded once.
await loadEtcdServices();

/** One address's clients, a service at a time, on one channel each. */
export class EtcdGrpcClient {
  readonly #address: string;
  readonly #clients = new Map<ServiceName, Client>();

  constructor(address: string) {
    this.#address = address;
  }

  #client(service: ServiceName): Client {
    let client = this.#clients.get(service);
    if (client === undefined) {
      const Ctor = makeGenericClientConstructor(etcdServices()[service], service);
      // Send anything: the server's limits are what is tested.
      client = new Ctor(this.#address, credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
      this.#clients.set(service, client);
    }
    return client;
  }

  /** A unary call; `metadata` as gRPC metadata (e.g. clientv3's `hasleader: true`). */
  call(service: ServiceName, method: string, request: object, metadata: Record<string, string> = {}): Promise<GrpcAnswer> {
    const client = this.#client(service) as unknown as Record<string, UnaryMethod>;
    const md = new Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve) => {
      client[method].call(client, request, md, { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) }, (err, res) => {
        resolve(err ? { code: err.code, details: err.details } : { ok: res ?? {} });
      });
    });
  }

  /** A server-streaming call: every message it sent, and how it ended (code 0: OK). */
  stream(service: ServiceName, method: string, request: object): Promise<{ messages: Message[]; code: number; details: string }> {
    const client = this.#client(service) as unknown as Record<string, StreamMethod>;
    const call = client[method].call(client, request, new Metadata(), { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });
    const messages: Message[] = [];
    return new Promise((resolve) => {
      call.on("data", (m: Message) => messages.push(m));
      call.on("error", (e: ServiceError) => resolve({ messages, code: e.code, details: e.details }));
      call.on("end", () => resolve({ messages, code: 0, details: "" }));
    });
  }

  /**
   * A server-streaming call left open (no deadline): the messages so far, a wait for more, and
   * cancel — for streams that do not end by themselves (Observe).
   */
  open(service: ServiceName, method: string, request: object): OpenStream {
    const client = this.#client(service) as unknown as Record<string, (request: object, metadata: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
    const call = client[method].call(client, request, new Metadata());
    const messages: Message[] = [];
    let wake = () => {};
    call.on("data", (m: Message) => {
      messages.push(m);
      wake();
    });
    call.on("error", () => wake());
    return {
      messages,
      async until(count, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (messages.length < count && Date.now() < deadline) {
          await Promise.race([new Promise<void>((r) => (wake = r)), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
        }
      },
      cancel: () => call.cancel(),
    };
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
