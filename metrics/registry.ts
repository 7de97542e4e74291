/**
 * A member's metrics — counters and gauges with labels — and their rendering in Prometheus' text
 * format (0.0.4), for GET /metrics. Each part of the member counts what it sees into the counters
 * it was handed; a gauge or a counter kept elsewhere (another thread's, a table's size) is read
 * when the metrics are rendered.
 *
 * Owns: names, help texts, label sets, values and the format. Never: decides what is counted, or
 * imports anything of Concord's (every layer may count, so it sits below them all).
 */

export type Labels = Readonly<Record<string, string>>;

/** What a metric holds when rendered: a value per label set (one with no labels: `{}`). */
type Samples = readonly (readonly [Labels, number])[];

type Family = { name: string; help: string; type: "counter" | "gauge"; samples: () => Samples };

const escapeHelp = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
const escapeLabel = (s: string) => s.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n");

function labelText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return names.length === 0 ? "" : `{${names.map((n) => `${n}="${escapeLabel(labels[n])}"`).join(",")}}`;
}

/** A count that only goes up, per label set. */
export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

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

export class Metrics {
  readonly #families: Family[] = [];

  #add(family: Family): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name) || this.#families.some((f) => f.name === family.name)) {
      throw new Error(`metrics: ${family.name} is not a metric name, or is taken`);
    }
    this.#families.push(family);
  }

  /** A counter this registry keeps. */
  counter(name: string, help: string): Counter {
    const counter = new Counter();
    this.#add({ name, help, type: "counter", samples: () => counter.samples() });
    return counter;
  }

  /** A counter kept elsewhere (another thread's, say), read when rendered. */
  counterFrom(name: string, help: string, read: () => Samples): void {
    this.#add({ name, help, type: "counter", samples: read });
  }

  /** A value read when rendered: one number, or one per label set. */
  gauge(name: string, help: string, read: () => number | Samples): void {
    this.#add({ name, help, type: "gauge", samples: () => {
      const value = read();
      return typeof value === "number" ? [[{}, value]] : value;
    } });
  }

  /** Every metric in Prometheus' text format; a counter nothing has counted yet shows no sample. */
  text(): string {
    return this.#families.map((f) => {
      const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
      for (const [labels, value] of f.samples()) lines.push(`${f.name}${labelText(labels)} ${value}`);
      return `${lines.join("\n")}\n`;
    }).join("");
  }
}
