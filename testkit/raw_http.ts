/**
 * One HTTP/1.1 request written by hand over a socket: for what fetch will not send (a Host header
 * of the test's choosing) and for answers compared header by header.
 *
 * Owns: writing the request, reading the answer to the connection's end (Connection: close), and
 * undoing chunked encoding. Never: retries, redirects or anything else a client library would do.
 */
import { connect } from "node:net";

export interface RawAnswer {
  status: number;
  /** Header names in lower case; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(url: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawAnswer> {
  const { hostname, port, host } = new URL(url);
  const body = request.body ?? "";
  const headers: Record<string, string> = { Host: host, Connection: "close", ...request.headers };
  if (body.length > 0 || request.method === "POST") headers["Content-Length"] = String(Buffer.byteLength(body));
  const head = `${request.method} ${request.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ""), () => socket.write(head + body));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`${url}${request.path}: no answer within 10 s`)));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`${url}${request.path}: no complete answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        parsed[name] = parsed[name] === undefined ? value : `${parsed[name]}, ${value}`;
      }
      const raw = text.slice(split + 4);
      const decoded = parsed["transfer-encoding"] === "chunked" ? unchunk(raw) : raw;
      resolve({ status: Number(statusLine.split(" ")[1]), headers: parsed, body: Buffer.from(decoded, "latin1").toString("utf8") });
    });
  });
}

function unchunk(raw: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const end = raw.indexOf("\r\n", at);
    const size = parseInt(raw.slice(at, end), 16);
    if (!(size > 0)) return out;
    out += raw.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}
