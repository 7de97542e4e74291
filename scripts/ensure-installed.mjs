// Makes `npm start` and `npm test` work on a fresh clone: installs the npm packages (Bun and Deno
// among them) when they are missing. Runs under plain Node.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";

const needed = [
  "node_modules/.bin/bun", "node_modules/.bin/deno", "node_modules/hono", "node_modules/valibot", "node_modules/preact",
  "node_modules/@preact/signals", "node_modules/playwright-core",
];
if (!needed.every((p) => existsSync(p))) {
  console.log("concord: installing dependencies (npm ci) …");
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
}
