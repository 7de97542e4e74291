/**
 * The single file's entry (`npm run build` bundles it into dist/concord.js and compiles it into
 * dist/concord, wrapped by an entry that hands it each worker's own bundle first: see
 * scripts/build.ts and runtime/workers.ts): the member — server.ts, with the console's bundle
 * embedded. From a checkout, run server.ts instead.
 *
 * Owns: embedding the console. Never: anything a member or a worker does.
 */
import { embedConsoleBundle } from "./console/page.ts";
import consoleBundle from "./ui/dist/console.js" with { type: "text" };

embedConsoleBundle(consoleBundle);
await import("./server.ts");
