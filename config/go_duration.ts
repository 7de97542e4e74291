/**
 * Go's duration syntax as etcd's flags and options take it: "10m", "1m30s", "500ms", "1.5h".
 *
 * Owns: reading one such string. Never: decides what a duration is for.
 */

const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The duration in ms, or undefined for text Go's time.ParseDuration would refuse ("0" alone is zero, as in Go). */
export function goDurationMs(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS_MS[p[2]], 0);
}
