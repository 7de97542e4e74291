/**
 * Test support: concurrent clients doing single-key puts, linearizable gets (ranges, and txns that
 * only range) and compare-and-sets (etcd txns) through whichever members run, each operation
 * recorded for the linearizability checker.
 *
 * Owns: the clients' loop, how each answer is classified — answered, failed without effect (etcd's
 * "no leader": nothing was proposed), or of unknown outcome (timeouts, lost connections, "leader
 * changed") — and stopping, bounded in operations and time. Never: asserts (the caller checks the
 * history) — except that an answer no fault can explain (a 4xx) is kept for the caller to see.
 */
import type { Json } from "./json.ts";
import { failed, ok, Recorder, unknown } from "./linearizability.ts";

export interface WorkloadOptions {
  clients: number;
  keys: readonly string[];
  /** The client URLs to spread requests over, asked again before every request. */
  targets: () => string[];
  recorder: Recorder;
  /** How long one request may take before its outcome counts as unknown. */
  requestTimeoutMs: number;
  /** Operations per client at most. */
  maxOpsPerClient: number;
  random?: () => number;
}

export interface WorkloadReport {
  ops: number;
  answered: number;
  /** Answers no fault explains (bad requests): a test fails on Json. */
  unexpected: string[];
}

const b64 = (s: string) => btoa(s);

async function call(url: string, path: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: Json } | undefined> {
  try {
    const r = await fetch(url + path, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.json() };
  } catch {
    return undefined;
  }
}

/** Runs until `stop()`, or until every client has done its operations. */
export function startWorkload(opts: WorkloadOptions): { answered(): number; stop(): Promise<WorkloadReport> } {
  const random = opts.random ?? Math.random;
  const report: WorkloadReport = { ops: 0, answered: 0, unexpected: [] };
  let stopping = false;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];

  const client = async (id: number) => {
    const seen = new Map<string, string | null>();
    for (let n = 0; n < opts.maxOpsPerClient && !stopping; n++) {
      const targets = opts.targets();
      if (targets.length === 0) {
        // Every member is down (a power cut): wait for one to come back, as a client would retry.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const url = pick(targets);
      const key = pick(opts.keys);
      const value = `c${id}-${n}`;
      const r = random();
      report.ops++;
      if (r < 0.4) {
        const done = opts.recorder.invoke(id, key, { kind: "put", value });
        const answer = await call(url, "/v3/kv/put", { key: b64(key), value: b64(value) }, opts.requestTimeoutMs);
        settle(answer, () => done(ok()), done);
      } else if (r < 0.8) {
        // A get is a range, or a txn that only ranges (served without the log, like a range).
        const done = opts.recorder.invoke(id, key, { kind: "get" });
        const asTxn = r >= 0.7;
        const answer = asTxn
          ? await call(url, "/v3/kv/txn", { success: [{ request_range: { key: b64(key) } }] }, opts.requestTimeoutMs)
          : await call(url, "/v3/kv/range", { key: b64(key) }, opts.requestTimeoutMs);
        settle(answer, (reply) => {
          const body = asTxn ? reply.responses?.[0]?.response_range ?? {} : reply;
          const v = body.kvs?.[0]?.value;
          const result = v === undefined ? null : atob(v);
          seen.set(key, result);
          done(ok(result));
        }, done);
      } else {
        const expected = seen.get(key) ?? null;
        const done = opts.recorder.invoke(id, key, { kind: "cas", expected, value });
        const compare = expected === null
          ? { key: b64(key), target: "CREATE", result: "EQUAL", create_revision: "0" }
          : { key: b64(key), target: "VALUE", result: "EQUAL", value: b64(expected) };
        const answer = await call(url, "/v3/kv/txn", {
          compare: [compare], success: [{ request_put: { key: b64(key), value: b64(value) } }],
        }, opts.requestTimeoutMs);
        settle(answer, (body) => done(ok(body.succeeded === true)), done);
      }
    }
  };

  const settle = (
    answer: { status: number; body: Json } | undefined,
    answered: (body: Json) => void,
    done: (o: ReturnType<typeof unknown> | ReturnType<typeof failed>) => void,
  ) => {
    if (answer?.status === 200) {
      report.answered++;
      return answered(answer.body);
    }
    if (answer === undefined || answer.status >= 500) {
      // "no leader" is answered before anything is proposed; anything else may have applied.
      return done(answer?.body?.message === "etcdserver: no leader" ? failed() : unknown());
    }
    report.unexpected.push(`${answer.status} ${JSON.stringify(answer.body)}`);
    done(unknown());
  };

  const running = Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i)));
  return {
    answered: () => report.answered,
    async stop() {
      stopping = true;
      await running;
      return report;
    },
  };
}
