/**
 * Which pass of the suite is running: `npm test` runs the cluster, console and client port suites
 * a second time with the members on Deno (CONCORD_TEST_RUNTIME=deno). A test whose behaviour is the
 * same code whatever the members run on — Raft, leases, membership rules, the console's logic — is
 * run once, on Bun, to keep CI within its budget; what touches the runtime (servers, sockets,
 * SQLite, signals, TLS, transport) runs on both.
 *
 * Owns: the test options that say so. Never: decides by anything but the pass.
 */
export const onDeno = process.env.CONCORD_TEST_RUNTIME === "deno";

/**
 * Options for a test run only on the Bun pass, saying why. Not for a file with root before/after
 * hooks run under `deno test` (the API suite's Deno pass): there an ignored test keeps the after
 * hooks from running — register such a test only when !onDeno instead.
 */
export const onBunOnly = (why: string): { skip: string | false } => ({ skip: onDeno && `${why} (run on Bun)` });
