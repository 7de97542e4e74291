/**
 * concord_limit_refusals_total{limit}: what each of the member's limits has refused — a request,
 * a stream, a watcher, a connection — labelled by the limit's name in config/limits.ts (for
 * connections CLIENT_PORT_CONNECTIONS_MAX: the budget runtime/client_port.ts works out from the
 * open-file limit less CLIENT_PORT_DESCRIPTORS_RESERVED), so an operator sees which limit their
 * clients reach (etcd has no such limits, so no metric of its own).
 *
 * Owns: the metric and the names it may carry. Never: enforces a limit (each is enforced where
 * it lives, and counted there).
 */
import type { Labels, Metrics } from "./registry.ts";
import { Counter } from "./registry.ts";

/** Every limit that refuses something, named as in config/limits.ts. */
export type RefusingLimit =
  | "CLIENT_PORT_CONNECTIONS_MAX"
  | "GATEWAY_BODY_BYTES_MAX"
  | "GRPC_RECEIVE_BYTES_MAX"
  | "GRPC_CONNECTION_BUFFERED_BYTES_MAX"
  | "GRPC_CONCURRENT_STREAMS_MAX"
  | "GRPC_HEADER_LIST_BYTES_MAX"
  | "WATCHERS_PER_STREAM_MAX"
  | "WATCHERS_MAX"
  | "LEASES_MAX"
  | "PENDING_PROPOSALS_MAX"
  | "RANGE_RESPONSE_BYTES_MAX";

export class LimitRefusals {
  readonly #counted = new Counter();
  /** Refusals counted on other threads, read when the metrics are rendered. */
  readonly #elsewhere = new Map<RefusingLimit, () => number>();

  constructor(metrics: Metrics) {
    metrics.counterFrom(
      "concord_limit_refusals_total",
      "Requests, streams, watchers and connections refused by one of Concord's limits (limit: its name in config/limits.ts).",
      () => [...this.#counted.samples(), ...[...this.#elsewhere].map(([limit, read]) => [{ limit } as Labels, read()] as const)],
    );
  }

  count(limit: RefusingLimit): void {
    this.#counted.inc({ limit });
  }

  /** Refusals by `limit` that another thread counts; `read` answers how many so far. */
  countedElsewhere(limit: RefusingLimit, read: () => number): void {
    this.#elsewhere.set(limit, read);
  }

  /** How many `limit` has refused so far. */
  refused(limit: RefusingLimit): number {
    return this.#counted.value({ limit }) + (this.#elsewhere.get(limit)?.() ?? 0);
  }
}
