/**
 * Reading /metrics (Prometheus' text format) in the console: each metric's value summed over its
 * label sets, and the change between two scrapes as the charts show it — a rate per second, or a
 * histogram's mean over the interval.
 *
 * Owns: parsing the text and those two sums. Never: fetches or draws.
 */

/** Each sample name's value, summed over its label sets ("x_sum", "x_count" for a histogram x). */
export function metricSums(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) sums.set(m[1], (sums.get(m[1]) ?? 0) + value);
  }
  return sums;
}

/** A scrape: when (ms) and what it read. */
export interface Scrape {
  at: number;
  sums: Map<string, number>;
}

/** Counters `names` (summed) per second between two scrapes; undefined when one went backwards (a restart). */
export function ratePerSecond(before: Scrape, after: Scrape, names: string[]): number | undefined {
  const total = (s: Scrape) => names.reduce((n, name) => n + (s.sums.get(name) ?? 0), 0);
  const delta = total(after) - total(before);
  const seconds = (after.at - before.at) / 1000;
  return delta < 0 || seconds <= 0 ? undefined : delta / seconds;
}

/** A histogram's mean observation between two scrapes, in ms (it counts seconds); undefined when nothing was observed. */
export function meanMs(before: Scrape, after: Scrape, histogram: string): number | undefined {
  const count = (after.sums.get(`${histogram}_count`) ?? 0) - (before.sums.get(`${histogram}_count`) ?? 0);
  const sum = (after.sums.get(`${histogram}_sum`) ?? 0) - (before.sums.get(`${histogram}_sum`) ?? 0);
  return count > 0 && sum >= 0 ? (1000 * sum) / count : undefined;
}
