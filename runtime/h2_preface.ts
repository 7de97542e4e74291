/**
 * Telling an HTTP/2 connection from an HTTP/1.1 one by its first bytes, as etcd's cmux does on
 * its client port: an HTTP/2 client without TLS (gRPC, etcdctl) opens with the 24-byte preface
 * `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`; anything else is HTTP/1.1 (or garbage, which the HTTP/1.1
 * server refuses).
 *
 * Owns: the decision. Never: reads or writes a socket.
 */
import { CLIENT_PORT_PEEK_BYTES_MAX } from "../config/limits.ts";

export const H2_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
if (H2_PREFACE.length !== CLIENT_PORT_PEEK_BYTES_MAX) {
  throw new Error(`CLIENT_PORT_PEEK_BYTES_MAX (${CLIENT_PORT_PEEK_BYTES_MAX}) must be the preface's length, ${H2_PREFACE.length}`);
}

export type Protocol = "h2" | "http1";

/**
 * What a connection speaks, given the bytes it sent first (all of them so far): HTTP/1.1 from the
 * first byte that differs from the preface, HTTP/2 once the whole preface is there, undefined
 * while the bytes are a proper beginning of it (wait for more).
 */
export function classify(head: Uint8Array): Protocol | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) if (head[i] !== H2_PREFACE[i]) return "http1";
  return n === H2_PREFACE.length ? "h2" : undefined;
}
