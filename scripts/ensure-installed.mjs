// Makes every npm script (and `deno task start`) work on a fresh clone: the pre-step of each runs
// this first, and it installs the npm packages (Bun and Deno among them) when they are missing.
// Runs under plain Node, from any directory. Never: installs anything when all are present (so a
// second run costs nothing), or touches anything outside node_modules.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const needed = [
  "node_modules/.bin/bun", "node_modules/.bin/deno", "node_modules/hono", "node_modules/valibot", "node_modules/preact",
  "node_modules/@preact/signals", "node_modules/playwright-core", "node_modules/@grpc/grpc-js", "node_modules/@grpc/proto-loader",
  "node_modules/protobufjs", "node_modules/etcd3", "node_modules/jose",
];
if (!needed.every((p) => existsSync(join(root, p)))) {
  console.log("concord: installing dependencies (npm ci) …");
  execSync("npm ci --no-audit --no-fund", { cwd: root, stdio: "inherit" });
}
