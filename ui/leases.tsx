/**
 * The leases page: every lease with its granted TTL, the TTL left counting down (asked again every
 * 5 s), its keys, and revoke.
 *
 * Owns: the leases view. Never: keeps time itself beyond the countdown between two asks.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import { base64ToBytes, call, curl, text } from "./api.ts";
import { cannotWrite } from "./access.ts";
import { href } from "./router.ts";
import { Curl, ErrorLine } from "./widgets.tsx";

interface Lease { id: string; ttl: number; granted: number; keys: string[]; rawKeys: Uint8Array[] }

export function LeasesPage() {
  const leases = useSignal<Lease[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const ask = async () => {
    try {
      const r = await call<{ leases?: { ID: string }[] }>("/v3/lease/leases", {});
      const ids = (r.leases ?? []).map((l) => l.ID).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      leases.value = await Promise.all(ids.map(async (id) => {
        const t = await call<{ TTL?: string; grantedTTL?: string; keys?: string[] }>("/v3/lease/timetolive", { ID: id, keys: true });
        const keys = t.keys ?? [];
        return { id, ttl: Number(t.TTL ?? 0), granted: Number(t.grantedTTL ?? 0), keys: keys.map(text), rawKeys: keys.map(base64ToBytes) };
      }));
      error.value = undefined;
    } catch (e) {
      error.value = (e as Error).message;
    }
  };
  useSignalEffect(() => {
    ask();
    let tick = 0;
    const timer = setInterval(() => {
      if (++tick % 5 === 0) ask();
      else if (leases.value) leases.value = leases.value.map((l) => ({ ...l, ttl: Math.max(0, l.ttl - 1) }));
    }, 1_000);
    return () => clearInterval(timer);
  });
  const revoke = async (id: string) => {
    try {
      await call("/v3/lease/revoke", { ID: id });
      await ask();
    } catch (e) {
      error.value = (e as Error).message;
    }
  };
  // Revoking deletes the lease's keys: it needs write permission on each.
  const cannotRevoke = (l: Lease) => l.rawKeys.map((k) => cannotWrite(k)).find(Boolean);
  return (
    <section>
      <h2>Leases</h2>
      <ErrorLine error={error.value} />
      {leases.value?.length === 0 && <p class="muted">No leases. <Curl command={curl("/v3/lease/grant", { TTL: 60 })} /></p>}
      <table data-testid="leases">
        <thead><tr><th>id</th><th>granted TTL</th><th>left</th><th>keys</th><th /></tr></thead>
        <tbody>
          {(leases.value ?? []).map((l) => (
            <tr key={l.id} data-lease={l.id}>
              <td class="mono">{l.id}</td>
              <td>{l.granted} s</td>
              <td data-testid="ttl">{l.ttl} s</td>
              <td>{l.keys.map((k) => <div key={k}><a href={href("key", { key: k })}>{k}</a></div>)}</td>
              <td>
                <button type="button" class="danger" disabled={!!cannotRevoke(l)} title={cannotRevoke(l)} onClick={() => revoke(l.id)}>revoke</button>{" "}
                <Curl command={curl("/v3/lease/revoke", { ID: l.id })} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
