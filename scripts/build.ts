/**
 * `npm run build`: the single file, two ways — dist/concord.js (one bundled file: `bun
 * dist/concord.js` or `deno run -A dist/concord.js`) and dist/concord (one executable, Bun
 * compiled in: `./dist/concord`) — each with the console inside, taking etcd's flags — and the
 * TypeScript client as one ES module, dist/concord-client.js. The first two start
 * from concord.ts, wrapped by dist/workers/entry.ts, which hands runtime/workers.ts each worker's own
 * bundle (dist/workers/<role>.js, carried as text) first. Run on Bun (its bundler); prints what it wrote and how large; exits non-zero
 * with the bundler's errors.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

type BuildOutput = { success: boolean; logs: unknown[] };
type BunBuild = (options: {
  entrypoints: string[];
  outdir: string;
  naming: string;
  target: string;
  format: string;
  minify: boolean;
  external: string[];
}) => Promise<BuildOutput>;

const root = resolve(import.meta.dirname ?? ".", "..");
const bun = (globalThis as { Bun?: { build: BunBuild } }).Bun;
if (!bun) {
  console.error("build: run me with Bun (node_modules/.bin/bun scripts/build.ts)");
  process.exit(2);
}
const bunBinary = join(root, "node_modules", ".bin", "bun");
const run = (args: string[]) => {
  const r = spawnSync(bunBinary, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const started = performance.now();
run(["scripts/build-ui.ts"]);
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
// Target node: what it emits (createRequire, node: builtins) runs on Deno too; bun:sqlite is
// imported only when running on Bun.
const bundle = async (entry: string, outdir: string, naming: string) => {
  const built = await bun.build({ entrypoints: [entry], outdir, naming, target: "node", format: "esm", minify: true, external: ["bun:sqlite"] });
  if (built.success) return;
  for (const log of built.logs) console.error(log);
  process.exit(1);
};
// Each worker is a bundle of its own, carried as text by the single file: a worker started from
// the whole file would load all of it (the member's start waited ~100 ms on that).
const workers = join(dist, "workers");
mkdirSync(workers, { recursive: true });
const WORKERS = { "log-writer": "store/log_worker.ts", checkpointer: "store/checkpoint_worker.ts", "client-port": "runtime/client_port_worker.ts" };
for (const [role, module] of Object.entries(WORKERS)) await bundle(join(root, module), workers, `${role}.js`);
const entry = join(workers, "entry.ts");
writeFileSync(entry, [
  `import { useBundledWorkers } from "../../runtime/workers.ts";`,
  ...Object.keys(WORKERS).map((role, i) => `import w${i} from "./${role}.js" with { type: "text" };`),
  `useBundledWorkers({ ${Object.keys(WORKERS).map((role, i) => `"${role}": w${i}`).join(", ")} });`,
  `await import("../../concord.ts");`,
].join("\n"));
await bundle(entry, dist, "concord.js");
run(["build", "--compile", "--minify", entry, "--outfile", join(dist, "concord")]);
// The TypeScript client as one ES module for whatever cannot import TypeScript (Node, a page's <script type=module>).
const client = await bun.build({ entrypoints: [join(root, "client/mod.ts")], outdir: dist, naming: "concord-client.js", target: "browser", format: "esm", minify: false, external: [] });
if (!client.success) {
  for (const log of client.logs) console.error(log);
  process.exit(1);
}
const size = (name: string) => `${(statSync(join(dist, name)).size / 1024 / 1024).toFixed(1)} MiB`;
const kib = (name: string) => `${Math.round(statSync(join(dist, name)).size / 1024)} KiB`;
console.log(`build: dist/concord.js (${size("concord.js")}), dist/concord (${size("concord")}), dist/concord-client.js (${kib("concord-client.js")}), in ${Math.round(performance.now() - started)} ms`);
