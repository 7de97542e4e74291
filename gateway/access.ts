/**
 * Who may use the client port's HTTP/1.1 side (etcd's accessController): the Host allow-list
 * against DNS rebinding, the refusal of requests a page on another origin makes, the CORS headers
 * an allowed origin gets, and OPTIONS answered before any route.
 *
 * Concord's defaults are narrower than etcd 3.4's (which allows every host and every origin):
 * - Hosts: with no --host-whitelist, a request must name the member by an IP address, `localhost`,
 *   or a host name in its own client URLs — a rebinding page's name is none of these. With the
 *   flag, etcd's rule: the names listed (an IP address too), `*` or nothing for any. As in etcd,
 *   only plain HTTP is checked (a name an HTTPS client reached is one the certificate vouches
 *   for), and never gRPC (browsers do not speak it).
 * - Origins: with no --cors, only the cluster's own pages (the console, served by any member, asks
 *   every member for its status and sends leadership moves to the leader). A request a browser marks
 *   as coming from another origin (its Origin header, or Sec-Fetch-Site when a browser sends no
 *   Origin) is refused with etcd's permission-denied error and changes nothing — not merely its
 *   answer hidden from the page, as CORS alone would do. A top-level GET navigation (a link to the
 *   console: Sec-Fetch-Dest document) is let through: it carries no body and shows the page to no
 *   other page.
 * With `--cors '*'` and `--host-whitelist '*'` a member answers as etcd does by default.
 *
 * Owns: the decision per request and the headers it adds. Never: routes, or what a call does.
 */
import { EtcdError, GrpcCode } from "../etcd/errors.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { FetchHandler } from "../runtime/serve.ts";
import { errorResponse } from "./http.ts";

export interface AccessRules {
  /** --cors: origins (as `URL.origin` writes them) whose pages may call the API, or `*`. Empty: same-origin only. */
  corsOrigins: readonly string[];
  /** --host-whitelist: host names a request may name, `*` for any. Undefined: Concord's default. */
  hostWhitelist: readonly string[] | undefined;
  /** The origins of every member's client URLs now: the console on any of them may call this one. */
  clusterOrigins: () => ReadonlySet<string>;
  /** Host names in the member's own client URLs (allowed by the default rule). */
  ownHosts: readonly string[];
  /** The client port's scheme: its own origin, and whether hosts are checked (plain HTTP only). */
  scheme: "http:" | "https:";
}

/** etcd's answer to a Host it does not recognise (CVE-2018-5702), status 421, as Go's http.Error writes it. */
export function unrecognisedHostText(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${goQuote(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).

`;
}

/** Go's %q of a host name: quotes and backslashes escaped, anything unprintable as \x. */
function goQuote(s: string): string {
  const escaped = s.replace(/["\\]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `"${escaped}"`;
}

const CORS_METHODS = "POST, GET, OPTIONS, PUT, DELETE";
const CORS_ALLOWED_HEADERS = "accept, content-type, authorization";
const TEXT = { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" };

/** The host name a request names, without its port or an IPv6 address's brackets (Go's SplitHostPort, else the whole Host). */
function hostName(request: Request): string {
  const host = request.headers.get("host") ?? "";
  const bracketed = /^\[([^\]]*)\]:\d*$/.exec(host);
  if (bracketed) return bracketed[1];
  const colon = host.indexOf(":");
  return colon >= 0 && colon === host.lastIndexOf(":") ? host.slice(0, colon) : host;
}

const isIpAddress = (name: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || (name.includes(":") && /^[0-9a-f:.]+$/i.test(name));

/** The origins of every member's client URLs, as the member knows its cluster now. */
export function clusterOrigins(member: Pick<ApiMember, "members">): Set<string> {
  return new Set(member.members().flatMap((m) => m.clientUrls.map((u) => new URL(u).origin)));
}

/** The rules made into one handler in front of `fetch`. */
export function accessGuard(rules: AccessRules, fetch: FetchHandler): FetchHandler {
  const anyOrigin = rules.corsOrigins.includes("*");
  const origins = new Set(rules.corsOrigins);
  const listed = rules.hostWhitelist;
  const anyHost = rules.scheme === "https:" || listed === undefined ? false : listed.length === 0 || listed.includes("*");
  const hosts = new Set((listed ?? ["localhost", ...rules.ownHosts]).map((h) => h.toLowerCase()));
  const hostAllowed = (name: string) =>
    rules.scheme === "https:" || anyHost || hosts.has(name.toLowerCase()) || (listed === undefined && isIpAddress(name));
  const refusals = new RefusalLog();

  return (request) => {
    const name = hostName(request);
    if (!hostAllowed(name)) {
      refusals.note(`concord: rejecting HTTP request from ${goQuote(name)} to prevent DNS rebinding attacks`);
      return new Response(unrecognisedHostText(name), { status: 421, headers: TEXT });
    }
    const origin = request.headers.get("origin");
    const allowed = anyOrigin || (origin !== null && (origins.has(origin) || rules.clusterOrigins().has(origin)));
    if (!allowed && fromAnotherOrigin(request, origin, rules.scheme)) {
      refusals.note(`concord: refusing ${request.method} ${new URL(request.url).pathname} from a page at ${origin ?? "another site"}`);
      return errorResponse(new EtcdError(GrpcCode.PERMISSION_DENIED, `concord: a request from a page at ${origin ?? "another site"} is refused (allow its origin with --cors)`));
    }
    const answer = request.method === "OPTIONS" ? new Response(null, { status: 200 }) : fetch(request);
    return allowed ? withCors(answer, anyOrigin ? "*" : origin!) : answer;
  };
}

/**
 * Whether a browser says the request comes from a page on another origin: an Origin that is not
 * this member's own, or — for requests a browser sends without Origin — Sec-Fetch-Site naming
 * another site, unless it is a top-level GET navigation.
 */
function fromAnotherOrigin(request: Request, origin: string | null, scheme: string): boolean {
  if (origin !== null) return origin !== `${scheme}//${request.headers.get("host") ?? ""}`;
  const site = request.headers.get("sec-fetch-site");
  if (site === null || site === "same-origin" || site === "none") return false;
  const topLevel = request.headers.get("sec-fetch-mode") === "navigate" && request.headers.get("sec-fetch-dest") === "document";
  return !(request.method === "GET" && topLevel);
}

async function withCors(answer: Response | Promise<Response>, origin: string): Promise<Response> {
  const response = await answer;
  response.headers.set("Access-Control-Allow-Methods", CORS_METHODS);
  response.headers.set("Access-Control-Allow-Origin", origin);
  response.headers.set("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS);
  // An answer that names one origin is not the answer for another: caches must keep them apart.
  if (origin !== "*") response.headers.append("Vary", "Origin");
  return response;
}

/** Logs refusals as etcd does, but at most one line a second (and how many it left out): a flood of them must not flood the log. */
class RefusalLog {
  #lastMs = -Infinity;
  #leftOut = 0;

  note(line: string): void {
    const now = performance.now();
    if (now - this.#lastMs < 1_000) {
      this.#leftOut++;
      return;
    }
    this.#lastMs = now;
    console.warn(this.#leftOut > 0 ? `${line} (and ${this.#leftOut} more refused since the last such line)` : line);
    this.#leftOut = 0;
  }
}
