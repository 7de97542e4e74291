/**
 * The chaos harness's lease clients and their checker. Each client, over and over: grants a short
 * lease through some member, attaches a key to it, keeps it alive for a while (a keep-alive a
 * second, through whichever member runs), then lets it go. The rule checked: a lease kept alive is
 * never gone early — a keep-alive answering TTL 0 (etcd's answer for a lease that no longer exists)
 * must not arrive before the TTL has run from the sending of the last keep-alive that was answered
 * (that renewal happened after it was sent, so the lease was good until at least then).
 *
 * Owns: granting, keeping alive and the early-expiry check. Never: faults.
 */
import type { ClusterMember } from "../cluster.ts";
import type { Json } from "../json.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function post(url: string, path: string, body: unknown, timeoutMs: number): Promise<Json | undefined> {
  try {
    const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    if (r.status !== 200) return undefined;
    // A keep-alive answers a stream of lines; the first is this request's.
    const text = await r.text();
    return JSON.parse(text.split("\n")[0]);
  } catch {
    return undefined;
  }
}

export interface LeaseReport {
  granted: number;
  keepAlives: number;
  /** Leases let go after being kept alive. */
  released: number;
  anomalies: string[];
}

export interface LeaseClientsOptions {
  clients: number;
  ttlSeconds: number;
  targets: () => ClusterMember[];
  random: () => number;
  requestTimeoutMs: number;
  /** When the run began (performance.now()), to say when an anomaly happened. */
  started: number;
}

export function startLeaseClients(opts: LeaseClientsOptions): { stop(): Promise<LeaseReport> } {
  const report: LeaseReport = { granted: 0, keepAlives: 0, released: 0, anomalies: [] };
  let stopping = false;
  const pick = () => {
    const targets = opts.targets();
    return targets[Math.floor(opts.random() * targets.length)];
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const client = async (c: number) => {
    for (let n = 0; !stopping; n++) {
      const target = pick();
      if (!target) {
        await sleep(200);
        continue;
      }
      const grantSent = performance.now();
      const granted = await post(target.clientUrl, "/v3/lease/grant", { TTL: opts.ttlSeconds }, opts.requestTimeoutMs);
      if (!granted?.ID) {
        await sleep(200);
        continue;
      }
      report.granted++;
      const id = granted.ID as string;
      // The grant counts as the first renewal: it was sent before the lease began.
      let renewedFrom = grantSent;
      await post(target.clientUrl, "/v3/kv/put", { key: b64(`chaos-lease/${c}/${n}`), value: b64("x"), lease: id }, opts.requestTimeoutMs);
      const keepForMs = 2_000 + opts.random() * 6_000;
      const until = performance.now() + keepForMs;
      while (!stopping && performance.now() < until) {
        const member = pick();
        if (!member) break;
        const sent = performance.now();
        const answer = await post(member.clientUrl, "/v3/lease/keepalive", { ID: id }, opts.requestTimeoutMs);
        const received = performance.now();
        const result = answer?.result as { TTL?: string } | undefined;
        if (result) {
          report.keepAlives++;
          if (Number(result.TTL ?? 0) > 0) renewedFrom = Math.max(renewedFrom, sent);
          else if (received < renewedFrom + opts.ttlSeconds * 1_000) {
            report.anomalies.push(
              `lease ${id} (client ${c}) kept alive, gone after ${Math.round(received - renewedFrom)} ms with a TTL of ${opts.ttlSeconds} s ` +
                `(granted through ${target.name}, the keep-alive answered by ${member.name}, ${Math.round(sent - opts.started)} ms into the run)`,
            );
            break;
          } else break;
        }
        await sleep(Math.max(0, 1_000 - (performance.now() - sent)));
      }
      report.released++;
    }
  };
  const running = Promise.all(Array.from({ length: opts.clients }, (_, c) => client(c)));
  return {
    async stop() {
      stopping = true;
      await running;
      return report;
    },
  };
}
