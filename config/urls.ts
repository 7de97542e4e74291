/**
 * URL lists as etcd's flags take them: comma-separated, each http:// or https:// with a port.
 *
 * Owns: parsing a list, and the one form a URL is written in (no trailing slash). Never: knows
 * which flag means what, or any default.
 */

/** The URLs in `value`, or why they are refused (naming `--flag`). */
export function urlList(flag: string, value: string): URL[] | string {
  const out: URL[] = [];
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      return `--${flag}: "${part}" is not a URL (expected e.g. http://127.0.0.1:2379)`;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `--${flag}: "${part}": URL scheme must be http or https`;
    if (!url.port) return `--${flag}: "${part}" needs a port`;
    out.push(url);
  }
  return out.length > 0 ? out : `--${flag}: no URL given`;
}

/** `http://host:port`, as etcd writes a URL. */
export const urlString = (url: URL): string => url.toString().replace(/\/$/, "");
