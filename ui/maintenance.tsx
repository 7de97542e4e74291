/**
 * Maintenance: this member's status and compaction to a revision (with the equivalent curl).
 *
 * Owns: those two. Never: anything a member does not offer over its API.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import { call, curl } from "./api.ts";
import { Curl, ErrorLine } from "./widgets.tsx";

export function MaintenancePage() {
  const status = useSignal<Record<string, unknown> | undefined>(undefined);
  const revision = useSignal("");
  const message = useSignal<string | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const ask = () => call("/v3/maintenance/status", {}).then((s) => (status.value = s), (e) => (error.value = (e as Error).message));
  useSignalEffect(() => {
    ask();
  });
  const compact = async () => {
    try {
      await call("/v3/kv/compaction", { revision: revision.value });
      message.value = `compacted to revision ${revision.value}`;
      error.value = undefined;
      ask();
    } catch (e) {
      error.value = (e as Error).message;
    }
  };
  return (
    <section>
      <h2>Maintenance</h2>
      <h3>Status of this member</h3>
      <pre data-testid="status">{JSON.stringify(status.value, null, 2)}</pre>
      <h3>Compact</h3>
      <p class="muted">Drops every version older than the revision (the newest version of each key stays). Watches and reads of older revisions then fail.</p>
      <div class="row">
        <input placeholder="revision" value={revision.value} onInput={(e) => (revision.value = (e.target as HTMLInputElement).value)} />
        <button type="button" class="danger" onClick={compact} disabled={!/^\d+$/.test(revision.value)}>compact</button>
        <Curl command={curl("/v3/kv/compaction", { revision: revision.value || "<revision>" })} />
      </div>
      {message.value && <div class="banner">{message.value}</div>}
      <ErrorLine error={error.value} />
    </section>
  );
}
