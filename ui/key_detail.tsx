/**
 * One key: its value as text, pretty JSON or hex; revisions, version and lease (with a live
 * countdown); its history across revisions with a diff between any two and "restore this
 * version"; editing and deleting as compare-and-swap on mod_revision, with a diff preview and a
 * conflict shown rather than overwritten; live — a change by someone else is announced.
 *
 * Owns: the key view and its writes. Never: lists keys.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import { b64, base64ToBytes, call, curl, type KeyValue, text, watchRange } from "./api.ts";
import { cannotWrite } from "./access.ts";
import { go, href, route } from "./router.ts";
import { Curl, Diff, ErrorLine } from "./widgets.tsx";

type Mode = "text" | "json" | "hex";

function render(value: string | undefined, mode: Mode): string {
  if (mode === "hex") return [...base64ToBytes(value)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const t = text(value);
  if (mode === "json") {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      return t;
    }
  }
  return t;
}

function bestMode(value: string | undefined): Mode {
  const bytes = base64ToBytes(value);
  try {
    const t = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    try {
      const parsed = JSON.parse(t);
      return typeof parsed === "object" && parsed !== null ? "json" : "text";
    } catch {
      return "text";
    }
  } catch {
    return "hex";
  }
}

/** A version of the key: its key-value at a revision. */
type Version = KeyValue;

/** Versions newest first, walking back one revision before each; stops at creation or compaction. */
async function history(key: string, current: KeyValue, max = 30): Promise<{ versions: Version[]; compacted: boolean }> {
  const versions: Version[] = [current];
  let at = Number(current.mod_revision);
  while (versions.length < max && Number(versions[versions.length - 1].version) > 1) {
    try {
      const r = await call<{ kvs?: KeyValue[] }>("/v3/kv/range", { key: b64(key), revision: at - 1 });
      const kv = r.kvs?.[0];
      if (!kv) break;
      versions.push(kv);
      at = Number(kv.mod_revision);
    } catch {
      return { versions, compacted: true };
    }
  }
  return { versions, compacted: false };
}

export function KeyPage() {
  const key = route.value.params.get("key") ?? "";
  const kv = useSignal<KeyValue | undefined | null>(undefined);
  const mode = useSignal<Mode>("text");
  const versions = useSignal<Version[]>([]);
  const compacted = useSignal(false);
  const ttl = useSignal<number | undefined>(undefined);
  const notice = useSignal<string | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  /** The draft being edited, and the version it started from (the only one it may replace). */
  const editing = useSignal<string | undefined>(undefined);
  const editBase = useSignal<KeyValue | undefined>(undefined);
  const conflict = useSignal<KeyValue | null | undefined>(undefined);
  /** The mod revisions of the two versions picked for a diff. */
  const compare = useSignal<string[]>([]);
  const mine = useSignal<number>(0);

  const reload = async () => {
    const r = await call<{ kvs?: KeyValue[] }>("/v3/kv/range", { key: b64(key) });
    const current = r.kvs?.[0] ?? null;
    kv.value = current;
    if (current) {
      if (mode.value === "text") mode.value = bestMode(current.value);
      const h = await history(key, current);
      versions.value = h.versions;
      compacted.value = h.compacted;
    }
  };

  useSignalEffect(() => {
    reload().catch((e) => (error.value = (e as Error).message));
    const stop = watchRange({ key }, (_events, revision) => {
      if (revision !== mine.value) notice.value = `changed by someone else at revision ${revision}`;
      reload().catch(() => {});
    });
    return stop;
  });

  // The lease's TTL, asked every 5 s and counted down every second in between.
  useSignalEffect(() => {
    const lease = kv.value?.lease;
    if (!lease) return;
    const ask = () => call<{ TTL?: string }>("/v3/lease/timetolive", { ID: lease }).then((r) => (ttl.value = Number(r.TTL ?? 0)), () => {});
    ask();
    let tick = 0;
    const timer = setInterval(() => {
      if (++tick % 5 === 0) ask();
      else if (ttl.value !== undefined && ttl.value > 0) ttl.value = ttl.value - 1;
    }, 1_000);
    return () => clearInterval(timer);
  });

  const current = kv.value;
  const cas = (put: string | undefined, base = current) => ({
    compare: [{ key: b64(key), target: "MOD", result: "EQUAL", mod_revision: base?.mod_revision ?? "0" }],
    success: [put === undefined ? { request_delete_range: { key: b64(key) } } : { request_put: { key: b64(key), value: b64(put), ...(current?.lease ? { lease: current.lease } : {}) } }],
    failure: [{ request_range: { key: b64(key) } }],
  });
  const write = async (put: string | undefined, base = current) => {
    error.value = undefined;
    try {
      type TxnAnswer = { succeeded?: boolean; header: { revision: string }; responses?: { response_range?: { kvs?: KeyValue[] } }[] };
      const r = await call<TxnAnswer>("/v3/kv/txn", cas(put, base));
      if (!r.succeeded) {
        conflict.value = r.responses?.[0]?.response_range?.kvs?.[0] ?? null;
        return;
      }
      mine.value = Number(r.header.revision);
      conflict.value = undefined;
      editing.value = undefined;
      editBase.value = undefined;
      notice.value = undefined;
      if (put === undefined) go("keys", { prefix: key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "" });
      else await reload();
    } catch (e) {
      error.value = (e as Error).message;
    }
  };

  if (current === undefined) return <section><h2 class="mono">{key}</h2><p class="muted">loading…</p><ErrorLine error={error.value} /></section>;
  if (current === null) {
    return (
      <section>
        <h2 class="mono">{key}</h2>
        {notice.value && <div class="banner" data-testid="notice">{notice.value}</div>}
        <p class="muted" data-testid="missing">This key does not exist (now). <a href={href("new", { key })}>create it</a></p>
      </section>
    );
  }
  const shown = render(current.value, mode.value);
  const readOnly = cannotWrite(key);
  return (
    <section>
      <h2 class="mono" data-testid="key-name">{key}</h2>
      {notice.value && <div class="banner" data-testid="notice">{notice.value}</div>}
      <ErrorLine error={error.value} />
      <div class="cards">
        <div class="card"><div class="muted">create revision</div><div class="big">{current.create_revision}</div></div>
        <div class="card"><div class="muted">mod revision</div><div class="big" data-testid="mod-revision">{current.mod_revision}</div></div>
        <div class="card"><div class="muted">version</div><div class="big" data-testid="version">{current.version}</div></div>
        <div class="card"><div class="muted">lease</div><div class="big">{current.lease ? <a href={href("leases")}>{current.lease}</a> : "none"}</div>
          {current.lease && <div data-testid="key-ttl">{ttl.value === undefined ? "…" : `${ttl.value} s left`}</div>}</div>
      </div>
      <div class="row">
        {(["text", "json", "hex"] as Mode[]).map((m) => <button key={m} type="button" class={mode.value === m ? "primary" : ""} onClick={() => (mode.value = m)}>{m}</button>)}
        <button type="button" disabled={!!readOnly} title={readOnly} onClick={() => {
          editBase.value = current;
          editing.value = text(current.value);
        }}>edit</button>
        <button type="button" class="danger" disabled={!!readOnly} title={readOnly} onClick={() => write(undefined)}>delete</button>
        <Curl command={curl("/v3/kv/txn", cas(undefined))} />
      </div>
      {editing.value === undefined ? <pre data-testid="value">{shown}</pre> : (
        <div>
          <textarea data-testid="editor" value={editing.value} onInput={(e) => (editing.value = (e.target as HTMLTextAreaElement).value)} />
          <h3>Preview</h3>
          <Diff before={text(editBase.value?.value)} after={editing.value} />
          <div class="row">
            <button type="button" class="primary" data-testid="save" onClick={() => write(editing.value, editBase.value)}>
              save (only if still revision {editBase.value?.mod_revision})
            </button>
            <button type="button" onClick={() => {
              editing.value = undefined;
              editBase.value = undefined;
              conflict.value = undefined;
            }}>cancel</button>
            <Curl command={curl("/v3/kv/txn", cas(editing.value, editBase.value))} />
          </div>
        </div>
      )}
      {conflict.value !== undefined && (
        <div class="error" data-testid="conflict">
          Conflict: the key changed since you opened it{conflict.value ? ` (now revision ${conflict.value.mod_revision})` : " (it was deleted)"}; nothing was written.
          {conflict.value && <Diff before={text(conflict.value.value)} after={editing.value ?? ""} />}
          <button type="button" onClick={() => {
            conflict.value = undefined;
            editing.value = undefined;
            editBase.value = undefined;
            reload();
          }}>load the current value</button>
        </div>
      )}
      <h3>History</h3>
      <table data-testid="history">
        <thead><tr><th>compare</th><th>version</th><th>mod revision</th><th>value</th><th /></tr></thead>
        <tbody>
          {versions.value.map((v, i) => (
            <tr key={v.mod_revision} data-version={v.version}>
              <td><input type="checkbox" checked={compare.value.includes(v.mod_revision!)} onChange={() => {
                const picked = compare.value;
                const at = v.mod_revision!;
                compare.value = picked.includes(at) ? picked.filter((x) => x !== at) : [...picked, at].slice(-2);
              }} /></td>
              <td>{v.version}</td>
              <td>{v.mod_revision}</td>
              <td class="mono">{text(v.value).slice(0, 120)}</td>
              <td>{i > 0 && <button type="button" disabled={!!readOnly} title={readOnly} onClick={() => write(text(v.value))}>restore this version</button>}</td>
            </tr>
          ))}
          {compacted.value && <tr><td colSpan={5} class="muted" data-testid="compacted">older versions: compacted away</td></tr>}
        </tbody>
      </table>
      {(() => {
        const picked = versions.value.filter((v) => compare.value.includes(v.mod_revision!));
        // Older first: the diff reads as what changed from one to the other.
        return picked.length === 2 ? <Diff before={text(picked[1].value)} after={text(picked[0].value)} /> : null;
      })()}
    </section>
  );
}

/** A new key, created only if it does not exist yet. */
export function NewKeyPage() {
  const key = useSignal(route.value.params.get("key") ?? route.value.params.get("prefix") ?? "");
  const value = useSignal("");
  const error = useSignal<string | undefined>(undefined);
  const body = () => ({
    compare: [{ key: b64(key.value), target: "CREATE", result: "EQUAL", create_revision: "0" }],
    success: [{ request_put: { key: b64(key.value), value: b64(value.value) } }],
  });
  const create = async () => {
    try {
      const r = await call<{ succeeded?: boolean }>("/v3/kv/txn", body());
      if (!r.succeeded) error.value = "that key exists already: nothing was written";
      else go("key", { key: key.value });
    } catch (e) {
      error.value = (e as Error).message;
    }
  };
  // Creating asks whether the key exists (a read) and writes it.
  const cannotCreate = key.value === "" ? undefined : cannotWrite(key.value, { alsoRead: true });
  return (
    <section>
      <h2>New key</h2>
      <div class="row"><input data-testid="new-key" size={50} value={key.value} onInput={(e) => (key.value = (e.target as HTMLInputElement).value)} /></div>
      <textarea data-testid="new-value" value={value.value} onInput={(e) => (value.value = (e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button type="button" class="primary" disabled={!!cannotCreate} title={cannotCreate} onClick={create}>create</button>
        <Curl command={curl("/v3/kv/txn", body())} />
      </div>
      <ErrorLine error={error.value} />
    </section>
  );
}
