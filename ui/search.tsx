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
  const found = useSignal<{ kvs: KeyValue[]; next: string | undefined } | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const body = () => ({ ...(prefix.value ? { key: b64(prefix.value), range_end: prefixEnd(prefix.value) } : {}), contains: needle.value, limit: 100 });
  /** A new search, or (`after`) the same one gone on from where the last answer stopped. */
  const run = async (after?: string) => {
    try {
      const r = await call<{ kvs?: KeyValue[]; next?: string }>("/concord/v1/search", { ...body(), ...(after ? { after } : {}) });
      found.value = { kvs: [...(after ? found.value?.kvs ?? [] : []), ...(r.kvs ?? [])], next: r.next };
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
          <button type="button" data-testid="search-further" onClick={() => run(found.value?.next)}>search further</button>
        </p>
      )}
    </section>
  );
}
