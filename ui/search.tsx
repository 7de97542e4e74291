/**
 * Search: keys under a prefix whose key or value holds a text, found by the server
 * (/concord/v1/search), a page of 100; the server looks for a bounded time, and "search further"
 * goes on from where it stopped.
 *
 * Owns: the search view. Never: filters on the client.
 */
import { useSignal } from "@preact/signals";
import { b64, call, curl, type KeyValue, prefixEnd, text } from "./api.ts";
import { href, route } from "./router.ts";
import { Curl, ErrorLine } from "./widgets.tsx";

export function SearchPage() {
  const prefix = useSignal(route.value.params.get("prefix") ?? "");
  const needle = useSignal(route.value.params.get("contains") ?? "");
  /** What was found, and the search that found it (going further asks the same again, after `next`). */
  const found = useSignal<{ kvs: KeyValue[]; next: string | undefined; asked: Record<string, unknown> } | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const body = () => ({ ...(prefix.value ? { key: b64(prefix.value), range_end: prefixEnd(prefix.value) } : {}), contains: needle.value, limit: 100 });
  /** A new search, or (`after`) the same one gone on from where the last answer stopped. */
  const run = async (further?: { asked: Record<string, unknown>; after: string; kvs: KeyValue[] }) => {
    try {
      const asked = further?.asked ?? body();
      const r = await call<{ kvs?: KeyValue[]; next?: string }>("/concord/v1/search", { ...asked, ...(further ? { after: further.after } : {}) });
      found.value = { kvs: [...(further?.kvs ?? []), ...(r.kvs ?? [])], next: r.next, asked };
      error.value = undefined;
    } catch (e) {
      error.value = (e as Error).message;
    }
  };
  return (
    <section>
      <h2>Search keys and values</h2>
      <div class="row">
        <input placeholder="under prefix (empty: all)" value={prefix.value} onInput={(e) => (prefix.value = (e.target as HTMLInputElement).value)} />
        <input data-testid="search-text" placeholder="text in key or value" value={needle.value} onInput={(e) => (needle.value = (e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === "Enter" && run()} />
        <button type="button" class="primary" onClick={() => run()}>search</button>
        <Curl command={curl("/concord/v1/search", body())} />
      </div>
      <ErrorLine error={error.value} />
      {found.value && (
        <table data-testid="results">
          <thead><tr><th>key</th><th>value</th></tr></thead>
          <tbody>
            {found.value.kvs.map((kv) => (
              <tr key={kv.key}><td><a href={href("key", { key: text(kv.key) })}>{text(kv.key)}</a></td><td class="mono">{text(kv.value).slice(0, 160)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {found.value?.next && (
        <p class="muted">
          stopped before the end of the keys{" "}
          <button type="button" data-testid="search-further" onClick={() => found.value?.next && run({ asked: found.value.asked, after: found.value.next, kvs: found.value.kvs })}>search further</button>
        </p>
      )}
    </section>
  );
}
