/**
 * A member's configuration from etcd-style flags and their ETCD_* environment variables
 * (a flag wins over its variable), with defaults from defaults.ts.
 *
 * Owns: flag names, parsing and validation, and the usage text. Never: starts anything.
 */
import { DEFAULT_CLIENT_URL, DEFAULT_CLUSTER_TOKEN, DEFAULT_NAME, DEFAULT_PEER_URL } from "./defaults.ts";

export interface Config {
  name: string;
  dataDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialClusterToken: string;
}

type FlagSpec = { flag: string; env: string; help: string };

const FLAGS = {
  name: { flag: "name", env: "ETCD_NAME", help: `human-readable name of this member (default "${DEFAULT_NAME}")` },
  dataDir: { flag: "data-dir", env: "ETCD_DATA_DIR", help: 'path to the data directory (default "${name}.etcd")' },
  listenClientUrls: { flag: "listen-client-urls", env: "ETCD_LISTEN_CLIENT_URLS", help: `URLs to serve clients on (default "${DEFAULT_CLIENT_URL}")` },
  advertiseClientUrls: { flag: "advertise-client-urls", env: "ETCD_ADVERTISE_CLIENT_URLS", help: "client URLs to tell the cluster about (default: the listen URLs)" },
  initialAdvertisePeerUrls: { flag: "initial-advertise-peer-urls", env: "ETCD_INITIAL_ADVERTISE_PEER_URLS", help: `peer URLs to tell the cluster about (default "${DEFAULT_PEER_URL}")` },
  initialClusterToken: { flag: "initial-cluster-token", env: "ETCD_INITIAL_CLUSTER_TOKEN", help: `token that makes cluster and member ids unique (default "${DEFAULT_CLUSTER_TOKEN}")` },
} satisfies Record<string, FlagSpec>;

export function usage(): string {
  const lines = Object.values(FLAGS).map((f) => `  --${f.flag.padEnd(30)} ${f.help}\n  ${"".padEnd(32)} env ${f.env}`);
  return `usage: concord [flags]\n\n${lines.join("\n")}\n  --help                         show this text\n`;
}

export type ConfigOutcome = { ok: true; config: Config } | { ok: false; error: string } | { ok: false; help: true };

function urlList(flag: string, value: string): URL[] | string {
  const out: URL[] = [];
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      return `--${flag}: "${part}" is not a URL (expected e.g. http://127.0.0.1:2379)`;
    }
    if (url.protocol !== "http:") return `--${flag}: "${part}": only http:// URLs are served (TLS is not supported yet)`;
    if (!url.port) return `--${flag}: "${part}" needs a port`;
    out.push(url);
  }
  return out.length > 0 ? out : `--${flag}: no URL given`;
}

export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): ConfigOutcome {
  const given = new Map<string, string>();
  const byFlag = new Map(Object.values(FLAGS).map((f) => [f.flag, f] as const));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { ok: false, help: true };
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !byFlag.has(m[1])) return { ok: false, error: `unknown flag ${JSON.stringify(arg)} (see --help)` };
    const value = m[2] ?? argv[++i];
    if (value === undefined) return { ok: false, error: `flag --${m[1]} needs a value` };
    given.set(m[1], value);
  }
  const value = (f: FlagSpec) => given.get(f.flag) ?? env[f.env];
  const name = value(FLAGS.name) ?? DEFAULT_NAME;
  const listen = urlList(FLAGS.listenClientUrls.flag, value(FLAGS.listenClientUrls) ?? DEFAULT_CLIENT_URL);
  if (typeof listen === "string") return { ok: false, error: listen };
  const advertise = urlList(FLAGS.advertiseClientUrls.flag, value(FLAGS.advertiseClientUrls) ?? listen.map(String).join(","));
  if (typeof advertise === "string") return { ok: false, error: advertise };
  const peers = urlList(FLAGS.initialAdvertisePeerUrls.flag, value(FLAGS.initialAdvertisePeerUrls) ?? DEFAULT_PEER_URL);
  if (typeof peers === "string") return { ok: false, error: peers };
  const strip = (u: URL) => u.toString().replace(/\/$/, "");
  return {
    ok: true,
    config: {
      name,
      dataDir: value(FLAGS.dataDir) ?? `${name}.etcd`,
      listenClientUrls: listen,
      advertiseClientUrls: advertise.map(strip),
      initialAdvertisePeerUrls: peers.map(strip),
      initialClusterToken: value(FLAGS.initialClusterToken) ?? DEFAULT_CLUSTER_TOKEN,
    },
  };
}
