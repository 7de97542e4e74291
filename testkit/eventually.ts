/**
 * Test support: waiting for a condition that some event will make true, by polling it.
 *
 * Owns: the polling and the timeout's message. Never: sleeps for a fixed time.
 */

/** Until `fn` answers something other than undefined; fails after `timeoutMs`, naming `what`. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}
