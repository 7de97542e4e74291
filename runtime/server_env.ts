/**
 * The environment a member runs best in, for whatever launches one (npm scripts, the dev cluster,
 * tests, benchmarks) — it must be set before the runtime starts, so the server cannot set it.
 *
 * Owns: the list and why. Never: anything a member needs to be correct.
 *
 * MIMALLOC_PURGE_DELAY=-1: Bun's allocator (mimalloc) otherwise hands freed memory back to the OS
 * within milliseconds and faults it in again on the next request; under a member's steady churn
 * of small buffers that cost ~30% of a 3-member cluster's CPU (perf: madvise, page faults, TLB
 * flushes), and setting it raised puts/s by ~40%. Memory then stays at its high-water mark, as a
 * Go program's does. Deno (V8) ignores it.
 */
export const SERVER_ENV: Readonly<Record<string, string>> = { MIMALLOC_PURGE_DELAY: "-1" };
