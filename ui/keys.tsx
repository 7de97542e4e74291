/**
 * The key browser: keys as a tree by a separator (default "/") or as a flat list, loaded a folder
 * and a page at a time with counts per folder (the member lists a folder by skipping over each
 * subfolder, so 100,000 keys cost what the page shows), search by prefix, and live: an SSE watch
 * on the shown prefix reloads the open folders a change touches.
 *
 * Owns: listing and the browser's state. Never: shows a key's value (key_detail.tsx does).
 */
import { signal, useSignal, useSignalEffect } from "@preact/signals";
import { b64, call, curl, prefixEnd, text, watchRange } from "./api.ts";
import { cannotWrite } from "./access.ts";
import { go, href, route } from "./router.ts";
import { Curl, ErrorLine, TypedConfirm } from "./widgets.tsx";

interface Listing {
  /** With `more`, a folder holds at least `count` keys (the member stopped counting there). */
  folders: { prefix: string; count: number; more: boolean }[];
  keys: string[];
  /** Where the next page starts (base64), if there is more. */
  next?: string;
}

/** One folder's children, a page at a time, listed by the member (/concord/v1/folders). */
async function listFolder(prefix: string, separator: string, start?: string): Promise<Listing> {
  const r = await call<{ folders?: { prefix: string; count?: string; more?: boolean }[]; keys?: string[]; next?: string }>(
    "/concord/v1/folders",
    { key: b64(prefix), separator, limit: 200, ...(start ? { start } : {}) },
  );
  return {
    folders: (r.folders ?? []).map((f) => ({ prefix: text(f.prefix), count: Number(f.count ?? 0), more: f.more === true })),
    keys: (r.keys ?? []).map(text),
    next: r.next,
  };
}

const listings = new Map<string, ReturnType<typeof signal<Listing | undefined>>>();
const expanded = signal<Set<string>>(new Set());
const browseError = signal<string | undefined>(undefined);

function listingOf(prefix: string) {
  let s = listings.get(prefix);
  if (!s) listings.set(prefix, (s = signal<Listing | undefined>(undefined)));
  return s;
}

async function load(prefix: string, separator: string): Promise<void> {
  try {
    listingOf(prefix).value = await listFolder(prefix, separator);
    browseError.value = undefined;
  } catch (e) {
    browseError.value = (e as Error).message;
  }
}

async function loadMore(prefix: string, separator: string): Promise<void> {
  const current = listingOf(prefix).value;
  if (!current?.next) return;
  const more = await listFolder(prefix, separator, current.next);
  listingOf(prefix).value = { folders: [...current.folders, ...more.folders], keys: [...current.keys, ...more.keys], next: more.next };
}

function Folder({ prefix, parent, separator, count, more }: { prefix: string; parent: string; separator: string; count: number; more: boolean }) {
  const open = expanded.value.has(prefix);
  const toggle = () => {
    const next = new Set(expanded.value);
    if (open) next.delete(prefix);
    else {
      next.add(prefix);
      load(prefix, separator);
    }
    expanded.value = next;
  };
  return (
    <li data-folder={prefix}>
      <span class="folder" onClick={toggle}>{open ? "▾" : "▸"} {prefix.slice(parent.length)}</span>
      <span class="count">{`${count}${more ? "+" : ""} key${count === 1 && !more ? "" : "s"}`}</span>{" "}
      <a href={href("keys", { prefix, separator })} class="muted">open</a>
      {open && <Children prefix={prefix} separator={separator} />}
    </li>
  );
}

function Children({ prefix, separator, root = false }: { prefix: string; separator: string; root?: boolean }) {
  const listing = listingOf(prefix).value;
  if (!listing) return <ul class={`tree${root ? " root" : ""}`}><li class="muted">loading…</li></ul>;
  return (
    <ul class={`tree${root ? " root" : ""}`}>
      {listing.folders.map((f) => <Folder key={f.prefix} prefix={f.prefix} parent={prefix} separator={separator} count={f.count} more={f.more} />)}
      {listing.keys.map((k) => (
        <li key={k} data-key={k}><a href={href("key", { key: k })}>{k.slice(prefix.length) || k}</a></li>
      ))}
      {listing.next && <li><button type="button" onClick={() => loadMore(prefix, separator)}>more…</button></li>}
      {listing.folders.length === 0 && listing.keys.length === 0 && <li class="muted">no keys</li>}
    </ul>
  );
}

export function KeysPage() {
  const prefix = route.value.params.get("prefix") ?? "";
  const separator = route.value.params.get("separator") ?? "/";
  const flat = route.value.params.get("view") === "flat";
  const search = useSignal(prefix);
  const deleting = useSignal(false);
  const deleteError = useSignal<string | undefined>(undefined);
  const shownPrefix = prefix;
  const viewSeparator = flat ? "" : separator;

  useSignalEffect(() => {
    load(shownPrefix, viewSeparator);
    // Live: a change under the prefix reloads (and so recounts) every open folder it falls in.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const touched = new Set<string>();
    const stop = watchRange({ prefix: shownPrefix }, (events) => {
      for (const e of events) touched.add(e.kv.keyText);
      clearTimeout(timer);
      timer = setTimeout(() => {
        for (const [folder, listing] of listings) {
          if (listing.value && [...touched].some((k) => k.startsWith(folder))) load(folder, folder === shownPrefix ? viewSeparator : separator);
        }
        touched.clear();
      }, 150);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  });

  const crumbs = prefix.split(separator).slice(0, -1);
  const deleteBody = { key: b64(prefix), range_end: prefixEnd(prefix) };
  const cannotDelete = prefix === "" ? undefined : cannotWrite(prefix, { prefix: true });
  return (
    <section>
      <h2>Keys</h2>
      <div class="row">
        <input data-testid="prefix-search" placeholder="key prefix" value={search.value} onInput={(e) => (search.value = (e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === "Enter" && go("keys", { prefix: search.value, separator, ...(flat ? { view: "flat" } : {}) })} />
        <button type="button" onClick={() => go("keys", { prefix: search.value, separator, ...(flat ? { view: "flat" } : {}) })}>go</button>
        <label>separator <input size={2} value={separator} onChange={(e) => go("keys", { prefix, separator: (e.target as HTMLInputElement).value })} /></label>
        <a href={href("keys", { prefix, separator, ...(flat ? {} : { view: "flat" }) })}>{flat ? "tree view" : "flat view"}</a>
        <a href={href("search", { prefix })}>search keys and values</a>
        <a href={href("new", { prefix })}>new key</a>
        {prefix !== "" && (
          <button type="button" class="danger" disabled={!!cannotDelete} title={cannotDelete} onClick={() => (deleting.value = true)}>delete prefix…</button>
        )}
      </div>
      <div class="row muted">
        <a href={href("keys", { separator })}>(all)</a>
        {crumbs.map((c, i) => {
          const p = crumbs.slice(0, i + 1).join(separator) + separator;
          return <span key={p}> / <a href={href("keys", { prefix: p, separator })}>{c}</a></span>;
        })}
      </div>
      {deleting.value && (
        <TypedConfirm expected={prefix} label="delete every key under it" onConfirm={async () => {
          deleting.value = false;
          try {
            await call("/v3/kv/deleterange", deleteBody);
            deleteError.value = undefined;
          } catch (e) {
            deleteError.value = (e as Error).message;
          }
        }}>
          Deletes every key starting with <code>{prefix}</code> — only those (<code>{prefix}</code> is a prefix of bytes: keys
          beside it are untouched). <Curl command={curl("/v3/kv/deleterange", deleteBody)} />
        </TypedConfirm>
      )}
      <ErrorLine error={browseError.value ?? deleteError.value} />
      <Children prefix={shownPrefix} separator={viewSeparator} root />
    </section>
  );
}
