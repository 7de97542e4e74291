/**
 * Test support: one scenario of etcd's lock and election services — contended locks, a lock on a
 * lease that is gone, campaigns that wait, proclamations and resignations by a leader and by one
 * that lost, observers — run against one server over one transport (the JSON gateway or gRPC),
 * its transcript the answers in order with what differs by nature masked. Run against etcd and
 * against Concord, the two transcripts must be equal.
 *
 * Owns: the scenario and the two transports' encodings of its requests. Never: asserts.
 */
import { jsonLines } from "../client/lines.ts";
import { EtcdGrpcClient, type GrpcAnswer, type Message } from "./grpc_client.ts";
import { eventually } from "./eventually.ts";
import { maskFields } from "./json.ts";

/** A request as the scenario writes it: bytes fields as text, int64s as decimal strings. */
type Request = { [field: string]: string | Request };
const BYTES_FIELDS = new Set(["name", "key", "value"]);
/** What differs between two servers by nature; `key` and `lease` too where a lease was made by the server. */
const VARYING = new Set(["cluster_id", "member_id", "raft_term"]);
const MADE_LEASE = new Set([...VARYING, "key", "lease"]);

/** A call the scenario waits on, and an observer it reads. */
export interface Transport {
  call(service: "Lock" | "Election" | "Lease", method: string, request: Request): Promise<unknown>;
  observe(name: string): Observer;
  close(): void;
}

export interface Observer {
  /** Until `count` messages came (or `timeoutMs` passed): all that came, as the transcript shows them. */
  received(count: number, timeoutMs: number): Promise<unknown[]>;
  cancel(): void;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const text = (b: unknown) => (typeof b === "string" ? Buffer.from(b, "base64").toString() : Buffer.from(b as Uint8Array).toString());

/** The JSON gateway: bodies as etcd's gateway takes them; answers as status and parsed body. */
export function gatewayTransport(url: string): Transport {
  const encode = (r: Request): Record<string, unknown> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "object" ? encode(v) : BYTES_FIELDS.has(k) ? b64(v) : v]));
  const paths: Record<string, string> = {
    "Lock.Lock": "/v3/lock/lock", "Lock.Unlock": "/v3/lock/unlock", "Lease.LeaseGrant": "/v3/lease/grant",
    "Election.Campaign": "/v3/election/campaign", "Election.Proclaim": "/v3/election/proclaim", "Election.Leader": "/v3/election/leader",
    "Election.Resign": "/v3/election/resign",
  };
  const controllers = new Set<AbortController>();
  return {
    async call(service, method, request) {
      const r = await fetch(`${url}${paths[`${service}.${method}`]}`, { method: "POST", body: JSON.stringify(encode(request)), signal: AbortSignal.timeout(10_000) });
      return { status: r.status, body: JSON.parse(await r.text()) };
    },
    observe(name) {
      const controller = new AbortController();
      controllers.add(controller);
      const lines: unknown[] = [];
      let wake = () => {};
      const reading = (async () => {
        const r = await fetch(`${url}/v3/election/observe`, { method: "POST", body: JSON.stringify({ name: b64(name) }), signal: controller.signal });
        for await (const line of jsonLines(r.body!)) {
          lines.push(line);
          wake();
        }
      })().catch(() => {});
      return {
        async received(count, timeoutMs) {
          const deadline = Date.now() + timeoutMs;
          while (lines.length < count && Date.now() < deadline) {
            await Promise.race([new Promise<void>((r) => (wake = r)), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
          }
          return lines.slice();
        },
        cancel() {
          controller.abort();
          void reading;
        },
      };
    },
    close() {
      for (const c of controllers) c.abort();
    },
  };
}

/** gRPC with grpc-js: bytes as Buffers; answers as the message or the status code and details. */
export function grpcTransport(address: string): Transport {
  const client = new EtcdGrpcClient(address);
  const encode = (r: Request): Record<string, unknown> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "object" ? encode(v) : BYTES_FIELDS.has(k) ? Buffer.from(v) : v]));
  /** Bytes fields as text, so transcripts read alike whatever the transport. */
  const readable = (m: unknown): unknown =>
    m instanceof Uint8Array ? `bytes:${text(m)}` : Array.isArray(m) ? m.map(readable) : m !== null && typeof m === "object"
      ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, readable(v)]))
      : m;
  return {
    async call(service, method, request) {
      return readable(await client.call(service, method, encode(request)) as GrpcAnswer);
    },
    observe(name) {
      const opened = client.open("Election", "Observe", { name: Buffer.from(name) });
      return {
        async received(count, timeoutMs) {
          await opened.until(count, timeoutMs);
          return opened.messages.map((m: Message) => readable(m));
        },
        cancel: () => opened.cancel(),
      };
    },
    close: () => client.close(),
  };
}

/** The answer's field at `path` (JSON gateway: under body; gRPC: under ok). */
function field(answer: unknown, ...path: string[]): unknown {
  let at = answer as Record<string, unknown>;
  at = (at.body ?? at.ok) as Record<string, unknown>;
  for (const p of path) at = at?.[p] as Record<string, unknown>;
  return at;
}

/** A leader key from a campaign's answer, as a request writes it again. */
function leaderOf(answer: unknown): Request {
  const l = field(answer, "leader") as Record<string, unknown>;
  const asText = (v: unknown) => (typeof v === "string" && v.startsWith("bytes:") ? v.slice(6) : typeof v === "string" ? text(v) : "");
  return { name: asText(l.name), key: asText(l.key), rev: String(l.rev), lease: String(l.lease) };
}

/** Runs the scenario against one server (`url`: its JSON gateway, for the scenario's own waits); the transcript. */
export async function runCoordinationScenario(t: Transport, url: string): Promise<{ step: string; answer: unknown }[]> {
  const transcript: { step: string; answer: unknown }[] = [];
  const note = (step: string, answer: unknown, varying = VARYING) => transcript.push({ step, answer: maskFields(answer, varying) });
  const keysUnder = async (prefix: string) => {
    const r = await fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: b64(prefix), range_end: b64(prefix.slice(0, -1) + "0"), count_only: true }) });
    return Number((await r.json()).count ?? 0);
  };
  const waiting = (prefix: string, count: number) => eventually(`${count} keys under ${prefix}`, 10_000, async () => ((await keysUnder(prefix)) >= count ? true : undefined));

  for (const id of ["1000", "2000", "3000"]) note(`grant ${id}`, await t.call("Lease", "LeaseGrant", { ID: id, TTL: "60" }));

  // Locks: the first holder answers at once; a second waits for it; unlock lets it in.
  const first = await t.call("Lock", "Lock", { name: "lk", lease: "1000" });
  note("lock lk with lease 1000", first);
  const second = t.call("Lock", "Lock", { name: "lk", lease: "2000" });
  await waiting("lk/", 2);
  note("the same session locks again at once", await t.call("Lock", "Lock", { name: "lk", lease: "1000" }));
  note("unlock the first holder's key", await t.call("Lock", "Unlock", { key: "lk/3e8" }));
  note("the waiting lock is granted", await second);
  note("lock with a lease that does not exist", await t.call("Lock", "Lock", { name: "lk", lease: "12345" }));
  note("lock with no lease makes one", await t.call("Lock", "Lock", { name: "solo" }), MADE_LEASE);
  note("lock with no name", await t.call("Lock", "Lock", { lease: "3000" }));
  note("unlock with no key", await t.call("Lock", "Unlock", {}));
  note("unlock a key that is not there", await t.call("Lock", "Unlock", { key: "nothing" }));

  // Elections: an observer from the start sees each leader and each proclamation once, in order.
  const observer = t.observe("el");
  note("no leader yet", await t.call("Election", "Leader", { name: "el" }));
  const won = await t.call("Election", "Campaign", { name: "el", lease: "1000", value: "v1" });
  note("campaign with lease 1000", won);
  const leader1 = leaderOf(won);
  const rival = t.call("Election", "Campaign", { name: "el", lease: "2000", value: "v2" });
  await waiting("el/", 2);
  note("leader", await t.call("Election", "Leader", { name: "el" }));
  note("the leader proclaims", await t.call("Election", "Proclaim", { leader: leader1, value: "v1b" }));
  note("a proclamation by a wrong revision", await t.call("Election", "Proclaim", { leader: { ...leader1, rev: "1" }, value: "x" }));
  note("a proclamation without a leader", await t.call("Election", "Proclaim", { value: "x" }));
  note("the same session campaigns again with another value", await t.call("Election", "Campaign", { name: "el", lease: "1000", value: "v1c" }));
  note("a resignation by a wrong revision", await t.call("Election", "Resign", { leader: { ...leader1, rev: "1" } }));
  note("the leader resigns", await t.call("Election", "Resign", { leader: leader1 }));
  note("the rival wins", await rival);
  note("leader after", await t.call("Election", "Leader", { name: "el" }));
  note("a resignation without a leader", await t.call("Election", "Resign", {}));
  note("campaign with a lease that does not exist", await t.call("Election", "Campaign", { name: "el2", lease: "12345", value: "v" }));
  // When the observer first looked (before or after the first campaign) is a race: its headers' revisions are masked.
  note("the observer saw", await observer.received(4, 5_000), new Set([...VARYING, "revision"]));
  observer.cancel();
  return transcript;
}
