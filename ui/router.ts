/**
 * Deep links: the page and its parameters live in the URL's hash (#/keys?prefix=a/), so every view
 * can be bookmarked and reloaded, and the server serves one page for all of them.
 *
 * Owns: the current route as a signal, and making links. Never: renders.
 */
import { signal } from "@preact/signals";

export interface Route {
  page: string;
  params: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, query] = hash.split("?");
  return { page: page || "cluster", params: new URLSearchParams(query ?? "") };
}

export const route = signal<Route>(parse());
addEventListener("hashchange", () => (route.value = parse()));

export function href(page: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${query ? `?${query}` : ""}`;
}

export function go(page: string, params: Record<string, string> = {}): void {
  location.hash = href(page, params);
}
