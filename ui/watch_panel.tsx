/**
 * The watch panel: tails a prefix (or every key) from a revision, over the same SSE watch any
 * browser can open, newest first.
 *
 * Owns: the tail. Never: writes.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import { watchRange } from "./api.ts";
import { go, route } from "./router.ts";

type Line = { revision: number; type: string; key: string; value: string };

export function WatchPage() {
  const prefix = route.value.params.get("prefix") ?? "";
  const from = route.value.params.get("from") ?? "";
  const running = route.value.params.has("run");
  const lines = useSignal<Line[]>([]);
  const prefixInput = useSignal(prefix);
  const fromInput = useSignal(from);
  useSignalEffect(() => {
    if (!running) return;
    return watchRange({ prefix, ...(from ? { from: Number(from) } : {}) }, (events) => {
      const fresh = events.map((e) => ({ revision: e.revision, type: e.type, key: e.kv.keyText, value: e.kv.valueText }));
      lines.value = [...fresh.reverse(), ...lines.value].slice(0, 1_000);
    });
  });
  return (
    <section>
      <h2>Watch</h2>
      <div class="row">
        <input placeholder="prefix (empty: every key)" value={prefixInput.value} onInput={(e) => (prefixInput.value = (e.target as HTMLInputElement).value)} />
        <input placeholder="from revision (empty: now)" size={18} value={fromInput.value} onInput={(e) => (fromInput.value = (e.target as HTMLInputElement).value)} />
        <button type="button" class="primary" onClick={() => go("watch", { prefix: prefixInput.value, from: fromInput.value, run: "1" })}>watch</button>
        {running && <button type="button" onClick={() => go("watch", { prefix, from })}>stop</button>}
        <span class="muted">{running ? `watching ${prefix || "every key"}${from ? ` from revision ${from}` : ""}` : "stopped"}</span>
      </div>
      <ul class="events" data-testid="events">
        {lines.value.map((l) => <li key={`${l.revision}/${l.key}`}>{l.revision} {l.type} {l.key} {l.type === "PUT" ? `= ${l.value.slice(0, 80)}` : ""}</li>)}
      </ul>
    </section>
  );
}
