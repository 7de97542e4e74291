/**
 * Dialling peers, over TLS when the peer URLs are https://, in each runtime's words: Bun takes a
 * `tls` option on fetch and on its WebSocket client; Deno takes an HTTP client made with the CA and
 * the member's certificate. With auto TLS (self-signed, no CA) Bun verifies no peer, as etcd's auto
 * TLS does not; Deno's fetch cannot skip verification, so a member on Deno needs a peer CA.
 *
 * Owns: those options, and a client per peer on Deno (its pool keeps a connection whose request
 * timed out — a paused peer — and queues later requests behind it; a client of its own per peer,
 * replaced after a failure, avoids that). Never: what is sent.
 */

/** The member's peer certificate; the CA peers' certificates must be signed by (else the system's); whether to verify them at all (not with auto TLS). */
export interface DialTls {
  cert: string;
  key: string;
  ca?: string;
  verify: boolean;
}

type HttpClient = { close(): void };
type DenoFetch = { createHttpClient?(options: object): HttpClient };
const deno = (globalThis as { Deno?: DenoFetch }).Deno;

/** What requests to one peer add to their RequestInit; replace it after a failure. */
export interface PeerConnection {
  readonly init: Record<string, unknown>;
  close(): void;
}

export interface PeerDial {
  /** For one-off requests (forwarded calls, finding a cluster). */
  readonly init: Record<string, unknown>;
  /** For one peer's stream of requests (the sender's). */
  connection(): PeerConnection;
  /** For a WebSocket to a peer (Bun's client), beside its headers. */
  readonly socketOptions: Record<string, unknown>;
}

/** Why this runtime cannot dial with `tls`, or undefined. */
export function dialRefusal(tls: DialTls | undefined): string | undefined {
  if (tls && !tls.verify && deno) {
    return "on Deno, peers cannot be dialled without verifying their certificates: give --peer-trusted-ca-file (with --peer-cert-file and --peer-key-file) instead of --peer-auto-tls";
  }
  return undefined;
}

export function peerDial(tls: DialTls | undefined): PeerDial {
  const bunTls = tls ? { tls: { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: tls.verify } } : {};
  const denoClient = (): HttpClient | undefined =>
    deno?.createHttpClient?.(tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { caCerts: [tls.ca] } : {}) } : {});
  const connection = (): PeerConnection => {
    const client = denoClient();
    return client ? { init: { client }, close: () => client.close() } : { init: bunTls, close: () => {} };
  };
  const shared = connection();
  return { init: shared.init, connection, socketOptions: bunTls };
}
