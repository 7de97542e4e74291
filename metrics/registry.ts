/**
 * A member's metrics — counters, gauges and histograms with labels — and their rendering in
 * Prometheus' text format (0.0.4), for GET /metrics. Each part of the member counts what it sees into the counters
 * it was handed; a gauge or a counter kept elsewhere (another thread's, a table's size) is read
 * when the metrics are rendered.
 *
 * Owns: names, help texts, label sets, values and the format. Never: decides what is counted, or
 * imports anything of Concord's (every layer may count, so it sits below them all).
 */

export type Labels = Readonly<Record<string, string>>;

/** What a metric holds when rendered: a value per label set (one with no labels: `{}`). */
type Samples = readonly (readonly [Labels, number])[];

type Family = { name: string; help: string; type: "counter" | "gauge" | "histogram"; lines: (name: string) => string[] };

const escapeHelp = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
const escapeLabel = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n");

function labelText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return names.length === 0 ? "" : `{${names.map((n) => `${n}="${escapeLabel(labels[n])}"`).join(",")}}`;
}

/** A count that only goes up, per label set; one without labels shows 0 before its first count, as Prometheus' clients do. */
export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(labelled = true) {
    if (!labelled) this.#values.set("", { labels: {}, value: 0 });
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  /** The count for one label set (0 before the first). */
  value(labels: Labels = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  samples(): Samples {
    return [...this.#values.values()].map((e) => [e.labels, e.value] as const);
  }
}

/** etcd's buckets: `count` upper bounds from `start`, each `factor` times the one before (Prometheus' ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** Go's %g for a bucket bound, as Prometheus' client prints it (0.001, 8.192, 1e-04). */
function boundText(bound: number): string {
  if (bound !== 0 && (Math.abs(bound) < 1e-4 || Math.abs(bound) >= 1e21)) return bound.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return String(Number(bound.toPrecision(15)));
}

/** Observations counted into buckets (each counts those at or below its bound), with their sum and count, per label set. */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, series = { labels, buckets: this.#bounds.map(() => 0), sum: 0, count: 0 });
    for (let i = 0; i < this.#bounds.length; i++) if (value <= this.#bounds[i]) series.buckets[i]++;
    series.sum += value;
    series.count++;
  }

  /** How many observations so far (of one label set). */
  count(labels: Labels = {}): number {
    return this.#series.get(labelText(labels))?.count ?? 0;
  }

  lines(name: string): string[] {
    const out: string[] = [];
    for (const { labels, buckets, sum, count } of this.#series.values()) {
      this.#bounds.forEach((bound, i) => out.push(`${name}_bucket${labelText({ ...labels, le: boundText(bound) })} ${buckets[i]}`));
      out.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${count}`);
      out.push(`${name}_sum${labelText(labels)} ${sum}`, `${name}_count${labelText(labels)} ${count}`);
    }
    return out;
  }
}

const sampleLines = (samples: () => Samples) => (name: string) => samples().map(([labels, value]) => `${name}${labelText(labels)} ${value}`);

export class Metrics {
  readonly #families: Family[] = [];

  #add(family: Family): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name) || this.#families.some((f) => f.name === family.name)) {
      throw new Error(`metrics: ${family.name} is not a metric name, or is taken`);
    }
    this.#families.push(family);
  }

  /** A counter this registry keeps; `labelled`: counted by label sets (else one count, shown from 0). */
  counter(name: string, help: string, labelled = false): Counter {
    const counter = new Counter(labelled);
    this.#add({ name, help, type: "counter", lines: sampleLines(() => counter.samples()) });
    return counter;
  }

  /** A counter kept elsewhere (another thread's, say), read when rendered. */
  counterFrom(name: string, help: string, read: () => Samples): void {
    this.#add({ name, help, type: "counter", lines: sampleLines(read) });
  }

  /** A value read when rendered: one number, or one per label set. */
  gauge(name: string, help: string, read: () => number | Samples): void {
    this.#add({ name, help, type: "gauge", lines: sampleLines(() => {
      const value = read();
      return typeof value === "number" ? [[{}, value]] : value;
    }) });
  }

  /** A histogram this registry keeps, its buckets' upper bounds ascending. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    const histogram = new Histogram(bounds);
    this.#add({ name, help, type: "histogram", lines: (n) => histogram.lines(n) });
    return histogram;
  }

  /** Every metric in Prometheus' text format; a counter nothing has counted yet shows no sample. */
  text(): string {
    return this.#families.map((f) => {
      const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
      lines.push(...f.lines(f.name));
      return `${lines.join("\n")}\n`;
    }).join("");
  }
}
