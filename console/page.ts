/**
 * The admin console on the client port: GET / (and any /ui/ path, for deep links) answers the
 * page, GET /ui/console.js the bundle scripts/build-ui.ts made. Everything the console shows it
 * asks of the public API, like any other client.
 *
 * Both are served with a Content-Security-Policy that lets the page run only this member's bundle,
 * talk only to the cluster's members (as they are when the page is served: it asks each for its
 * status), and be framed by no one (no clickjacking of its remove buttons).
 *
 * Owns: the page shell, its security headers and finding the bundle. Never: data — the console
 * fetches its own.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Hono } from "hono";

const BUNDLE = join(resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, ".."), "ui/dist/console.js");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Concord</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/console.js"></script>
</body>
</html>
`;

const MISSING = "// The console is not built: run `npm run build:ui` (or start with `npm start`).\n" +
  `document.body.textContent = "The console is not built: run npm run build:ui, then reload.";\n`;

/** The bundle the single file carries (concord.ts embeds it); from a checkout, none. */
let embedded: string | undefined;

export function embedConsoleBundle(text: string): void {
  embedded = text;
}

/** The bundle embedded, or as it is on disk now, or undefined while it is not built. */
function bundle(): string | undefined {
  if (embedded !== undefined) return embedded;
  try {
    return readFileSync(BUNDLE, "utf8");
  } catch {
    return undefined;
  }
}

/** Sent with the page and the bundle; `origins` are the members' client origins the page may call. */
function securityHeaders(origins: Iterable<string>): Record<string, string> {
  const connect = ["'self'", ...origins].join(" ");
  return {
    "Content-Security-Policy":
      `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${connect}; img-src 'self' data:; ` +
      "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}

export function addConsolePage(app: Hono, clusterOrigins: () => Iterable<string>): void {
  // Read once it exists; until then every request looks again, so building it and reloading works.
  let built = bundle();
  const js = () => (built ??= bundle()) ?? MISSING;
  const page = () => new Response(PAGE, { headers: { ...securityHeaders(clusterOrigins()), "Content-Type": "text/html; charset=utf-8" } });
  app.get("/", page);
  app.get("/ui", page);
  app.get("/ui/console.js", () => new Response(js(), { headers: { ...securityHeaders([]), "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" } }));
}
