/**
 * Closed-loop HTTP load: N clients, each sending its next request when the last one answered,
 * for a fixed time. Bounded in time and in requests. Given several URLs (a cluster's members),
 * client c talks to URL c mod n, as etcd's clients spread over endpoints.
 *
 * Owns: measuring throughput and latency percentiles of one workload against one URL.
 * Never: starts servers or decides what is compared.
 */

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Makes the body of client `client`'s `i`-th request. */
export type BodyMaker = (client: number, i: number) => string;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function runLoad(
  url: string | readonly string[],
  path: string,
  body: BodyMaker,
  clients: number,
  seconds: number,
  maxRequests = 2_000_000,
  headers: Record<string, string> = {},
  /** Ends the load early once it answers true (checked before each request). */
  stopped: () => boolean = () => false,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const urls = typeof url === "string" ? [url] : url;
  const client = async (c: number) => {
    const target = `${urls[c % urls.length]}${path}`;
    for (let i = 0; performance.now() < deadline && sent < maxRequests && !stopped(); i++) {
      sent++;
      const t0 = performance.now();
      try {
        const r = await fetch(target, { method: "POST", body: body(c, i), headers: { "content-type": "application/json", ...headers } });
        await r.arrayBuffer();
        if (r.status === 200) latencies.push(performance.now() - t0);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops: latencies.length,
    errors,
    seconds: elapsed,
    opsPerSecond: latencies.length / elapsed,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}
