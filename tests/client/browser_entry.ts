/**
 * The client's suite as a page runs it (tests/ui/client_in_browser.test.ts bundles this for the
 * browser): `runClientSuite(memberUrl, downUrl)` runs every test in order and answers each one's
 * name and, if it failed, why.
 */
import { suite, useMember } from "./suite.ts";

(globalThis as { runClientSuite?: unknown }).runClientSuite = async (memberUrl: string, downUrl: string) => {
  useMember(memberUrl, downUrl);
  const results: { name: string; error?: string }[] = [];
  for (const [name, run] of suite) {
    try {
      await run();
      results.push({ name });
    } catch (e) {
      results.push({ name, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  return results;
};
