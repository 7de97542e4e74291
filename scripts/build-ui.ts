/**
 * Builds the admin console (ui/) into one minified script, ui/dist/console.js, which the server
 * serves itself: no CDN at run time. Run on Bun (its bundler); `npm start`, `npm test` and
 * `deno task start` run it first. Prints what it wrote; exits non-zero with the bundler's errors.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

type BuildOutput = { success: boolean; logs: unknown[]; outputs: { text(): Promise<string> }[] };
type BunBuild = (options: { entrypoints: string[]; target: string; minify: boolean }) => Promise<BuildOutput>;

const root = resolve(import.meta.dirname ?? ".", "..");
const bun = (globalThis as { Bun?: { build: BunBuild } }).Bun;
if (!bun) {
  console.error("build-ui: run me with Bun (node_modules/.bin/bun scripts/build-ui.ts)");
  process.exit(2);
}
const started = performance.now();
const result = await bun.build({ entrypoints: [join(root, "ui/main.tsx")], target: "browser", minify: true });
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const js = await result.outputs[0].text();
mkdirSync(join(root, "ui/dist"), { recursive: true });
writeFileSync(join(root, "ui/dist/console.js"), js);
console.log(`build-ui: ui/dist/console.js, ${Math.round(js.length / 1024)} KiB, in ${Math.round(performance.now() - started)} ms`);
