/**
 * Differential: the client port's access rules against Debian's etcd 3.4 given the same flags —
 * `--cors '*'` (etcd's default), one allowed origin, and a host allow-list — compared on status,
 * CORS headers and body, for calls, preflights and unknown paths. Then what Concord does where it
 * is deliberately stricter than etcd by default: another page's origin refused, an unlisted host
 * name refused while IP addresses, localhost and the member's own names pass.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { unrecognisedHostText } from "../../gateway/access.ts";
import { type ServerProcess, startConcord, startEtcd } from "../../testkit/processes.ts";
import { type RawAnswer, rawRequest } from "../../testkit/raw_http.ts";

const ACCESS_HEADERS = ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers"];
const RANGE = JSON.stringify({ key: Buffer.from("a").toString("base64") });

type Ask = { method: string; path: string; headers?: Record<string, string>; body?: string };

/** What must match: the status, the CORS headers, and the body where it says no more than etcd's own words. */
function seen(answer: RawAnswer, withBody: boolean) {
  return {
    status: answer.status,
    cors: Object.fromEntries(ACCESS_HEADERS.map((h) => [h, answer.headers[h]])),
    ...(withBody ? { body: answer.body } : {}),
  };
}

const FLAG_SETS: { name: string; flags: string[]; asks: (Ask & { withBody?: boolean })[] }[] = [
  {
    name: "--cors '*' (etcd's default)",
    flags: ["--cors", "*"],
    asks: [
      { method: "POST", path: "/v3/kv/range", body: RANGE },
      { method: "POST", path: "/v3/kv/range", body: RANGE, headers: { Origin: "http://elsewhere.example" } },
      { method: "OPTIONS", path: "/v3/kv/put", headers: { Origin: "http://elsewhere.example", "Access-Control-Request-Method": "POST" }, withBody: true },
      { method: "OPTIONS", path: "/no/such/path", withBody: true },
      { method: "GET", path: "/version", withBody: true },
      { method: "GET", path: "/no/such/path", withBody: true },
      { method: "GET", path: "/v3/no/such/call", withBody: true },
      { method: "GET", path: "/v3", withBody: true },
      { method: "POST", path: "/v3", withBody: true },
    ],
  },
  {
    name: "--cors with one origin",
    flags: ["--cors", "http://good.example:8080"],
    asks: [
      { method: "POST", path: "/v3/kv/range", body: RANGE, headers: { Origin: "http://good.example:8080" } },
      { method: "OPTIONS", path: "/v3/kv/put", headers: { Origin: "http://good.example:8080", "Access-Control-Request-Method": "POST" }, withBody: true },
      { method: "POST", path: "/v3/kv/range", body: RANGE },
      { method: "OPTIONS", path: "/v3/kv/put", withBody: true },
    ],
  },
  {
    name: "--host-whitelist",
    flags: ["--host-whitelist", "127.0.0.1,localhost", "--cors", "*"],
    asks: [
      { method: "GET", path: "/health", headers: { Host: "rebound.example:2379" }, withBody: true },
      { method: "POST", path: "/v3/kv/range", body: RANGE, headers: { Host: "rebound.example" }, withBody: true },
      { method: "OPTIONS", path: "/v3/kv/put", headers: { Host: "10.1.2.3:2379" }, withBody: true },
      { method: "GET", path: "/version", headers: { Host: "localhost:2379" }, withBody: true },
    ],
  },
];

for (const set of FLAG_SETS) {
  test(`access differential > ${set.name}`, async () => {
    const [etcd, concord] = await Promise.all([startEtcd("etcd", set.flags), startConcord({ name: "access", flags: set.flags })]);
    try {
      for (const ask of set.asks) {
        const [expected, actual] = await Promise.all([rawRequest(etcd.url, ask), rawRequest(concord.url, ask)]);
        assert.deepEqual(seen(actual, ask.withBody ?? false), seen(expected, ask.withBody ?? false), `${ask.method} ${ask.path} ${JSON.stringify(ask.headers ?? {})}`);
      }
    } finally {
      await Promise.all([etcd.stop(), concord.stop()]);
    }
  });
}

let concord: ServerProcess;
before(async () => {
  concord = await startConcord({ name: "strict" });
});
after(async () => {
  await concord?.stop();
});

test("access > by default another page's origin is refused and changes nothing; the member's own origin passes", async () => {
  const own = new URL(concord.url).host;
  const put = (origin: string, key: string) =>
    rawRequest(concord.url, { method: "POST", path: "/v3/kv/put", headers: { Origin: origin }, body: JSON.stringify({ key: btoa(key), value: btoa("v") }) });
  const refused = await put("http://elsewhere.example", "from-elsewhere");
  assert.equal(refused.status, 403);
  assert.equal(JSON.parse(refused.body).code, 7);
  assert.match(JSON.parse(refused.body).message, /--cors/);
  assert.equal(refused.headers["access-control-allow-origin"], undefined);
  // A browser that sends no Origin still says where the request came from.
  const bySite = await rawRequest(concord.url, { method: "GET", path: "/v3/watch?key=YQ", headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors" } });
  assert.equal(bySite.status, 403);
  // A link followed to the console is a navigation, not a call.
  const navigation = await rawRequest(concord.url, { method: "GET", path: "/", headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document" } });
  assert.equal(navigation.status, 200);
  // Not a frame on another site's page, though it navigates too.
  const framed = await rawRequest(concord.url, { method: "GET", path: "/v3/watch?key=YQ", headers: { "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe" } });
  assert.equal(framed.status, 403);
  assert.equal((await put(`http://${own}`, "from-console")).status, 200);
  const range = await rawRequest(concord.url, { method: "POST", path: "/v3/kv/range", body: JSON.stringify({ key: btoa("from"), range_end: btoa("fron") }) });
  assert.deepEqual(JSON.parse(range.body).kvs.map((kv: { key: string }) => atob(kv.key)), ["from-console"]);
});

test("access > by default hosts are IP addresses, localhost and the member's own names; any other is refused in etcd's words", async () => {
  const port = new URL(concord.url).port;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
    assert.equal((await rawRequest(concord.url, { method: "GET", path: "/health", headers: { Host: host } })).status, 200, host);
  }
  const rebound = await rawRequest(concord.url, { method: "GET", path: "/health", headers: { Host: `attacker.example:${port}` } });
  assert.equal(rebound.status, 421);
  assert.equal(rebound.body, unrecognisedHostText("attacker.example"));
});
