/**
 * A member's configuration from etcd-style flags and their ETCD_* environment variables
 * (a flag wins over its variable; an empty variable counts as unset, as in etcd), with defaults
 * from defaults.ts.
 *
 * Owns: flag names, parsing and validation, and the usage text. Never: starts anything.
 */
import {
  DEFAULT_AUTH_TOKEN_TTL_S,
  DEFAULT_CLIENT_URL,
  DEFAULT_CLUSTER_TOKEN,
  DEFAULT_ELECTION_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_NAME,
  DEFAULT_PEER_URL,
  DEFAULT_SNAPSHOT_COUNT,
  DEFAULT_SSE_HEARTBEAT_MS,
  DEFAULT_WATCH_PROGRESS_NOTIFY_MS,
} from "./defaults.ts";
import { ELECTION_TIMEOUT_MS_MAX } from "./limits.ts";
import { type AuthTokenSpec, authTokenSpec } from "./auth_token.ts";
import { goDurationMs } from "./go_duration.ts";
import { type AutoCompaction, autoCompaction, type Given, quotaBackendBytes } from "./maintenance.ts";
import { type ClusterState, type InitialCluster, initialCluster } from "./initial_cluster.ts";
import { type TlsSettings, tlsRefusal } from "./tls.ts";
import { urlList, urlString } from "./urls.ts";

export interface Config {
  name: string;
  dataDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: string[];
  listenPeerUrls: URL[];
  initialAdvertisePeerUrls: string[];
  initialCluster: InitialCluster;
  initialClusterState: ClusterState;
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Committed entries that trigger a log compaction. */
  snapshotCount: number;
  /** How often watchers that asked for progress notifications get one, ms. */
  watchProgressNotifyMs: number;
  /** How often SSE watch streams get a heartbeat comment, ms (Concord's own). */
  sseHeartbeatMs: number;
  /** --cors: origins whose pages may call the client API, `*` for any; empty: same-origin only. */
  corsOrigins: string[];
  /** --host-whitelist: host names client requests may name, `*` for any; undefined: IPs, localhost and the client URLs' names. */
  hostWhitelist: string[] | undefined;
  /** TLS for the client URLs (--cert-file …) and for the peer URLs (--peer-cert-file …). */
  clientTls: TlsSettings;
  peerTls: TlsSettings;
  /** --auth-token: simple tokens or signed JWTs. */
  authToken: AuthTokenSpec;
  /** --auth-token-ttl: a simple token unused this long is forgotten, ms. */
  authTokenTtlMs: number;
  /** --quota-backend-bytes: the most the state may take, bytes (undefined: no quota). */
  quotaBackendBytes: number | undefined;
  /** --auto-compaction-mode and --auto-compaction-retention (undefined: no auto-compaction). */
  autoCompaction: AutoCompaction | undefined;
  /** --experimental-initial-corrupt-check: compare hashes with the peers before serving. */
  initialCorruptCheck: boolean;
  /** --experimental-corrupt-check-time: how often the leader compares hashes, ms (0: never). */
  corruptCheckIntervalMs: number;
  /** --strict-reconfig-check: refuse membership changes that could cost the quorum (etcd's default). */
  strictReconfigCheck: boolean;
}

/** A flag; a `bool` one may be given alone (`--auto-tls`) or with `=true`/`=false`, as Go's flag package takes it. */
type FlagSpec = { flag: string; env: string; help: string; bool?: true };

const FLAGS = {
  name: { flag: "name", env: "ETCD_NAME", help: `human-readable name of this member (default "${DEFAULT_NAME}")` },
  dataDir: { flag: "data-dir", env: "ETCD_DATA_DIR", help: 'path to the data directory (default "${name}.etcd")' },
  listenClientUrls: { flag: "listen-client-urls", env: "ETCD_LISTEN_CLIENT_URLS", help: `URLs to serve clients on (default "${DEFAULT_CLIENT_URL}")` },
  advertiseClientUrls: { flag: "advertise-client-urls", env: "ETCD_ADVERTISE_CLIENT_URLS", help: "client URLs to tell the cluster about (default: the listen URLs)" },
  listenPeerUrls: { flag: "listen-peer-urls", env: "ETCD_LISTEN_PEER_URLS", help: `URLs to serve peers on (default "${DEFAULT_PEER_URL}")` },
  initialAdvertisePeerUrls: { flag: "initial-advertise-peer-urls", env: "ETCD_INITIAL_ADVERTISE_PEER_URLS", help: `peer URLs to tell the cluster about (default "${DEFAULT_PEER_URL}")` },
  initialCluster: { flag: "initial-cluster", env: "ETCD_INITIAL_CLUSTER", help: 'the bootstrap members, name=url,name=url (default "${name}=${initial-advertise-peer-urls}")' },
  initialClusterState: { flag: "initial-cluster-state", env: "ETCD_INITIAL_CLUSTER_STATE", help: '"new" to bootstrap a cluster, "existing" to join one (default "new")' },
  initialClusterToken: { flag: "initial-cluster-token", env: "ETCD_INITIAL_CLUSTER_TOKEN", help: `token that makes cluster and member ids unique (default "${DEFAULT_CLUSTER_TOKEN}")` },
  heartbeatInterval: { flag: "heartbeat-interval", env: "ETCD_HEARTBEAT_INTERVAL", help: `milliseconds between a leader's heartbeats (default ${DEFAULT_HEARTBEAT_INTERVAL_MS})` },
  electionTimeout: { flag: "election-timeout", env: "ETCD_ELECTION_TIMEOUT", help: `milliseconds without a leader before an election (default ${DEFAULT_ELECTION_TIMEOUT_MS})` },
  snapshotCount: { flag: "snapshot-count", env: "ETCD_SNAPSHOT_COUNT", help: `committed entries that trigger a log compaction (default ${DEFAULT_SNAPSHOT_COUNT})` },
  watchProgressNotifyInterval: {
    flag: "experimental-watch-progress-notify-interval", env: "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL",
    help: "how often watchers asking for progress notifications get one, a duration (default 10m0s)",
  },
  sseHeartbeatInterval: {
    flag: "sse-heartbeat-interval", env: "CONCORD_SSE_HEARTBEAT_INTERVAL",
    help: "how often SSE watch streams get a heartbeat comment, a duration (default 15s; Concord's own)",
  },
  authToken: { flag: "auth-token", env: "ETCD_AUTH_TOKEN", help: "'simple', or 'jwt,sign-method=…,priv-key=…,pub-key=…,ttl=…' (default \"simple\")" },
  authTokenTtl: { flag: "auth-token-ttl", env: "ETCD_AUTH_TOKEN_TTL", help: `seconds a simple token may go unused (default ${DEFAULT_AUTH_TOKEN_TTL_S})` },
  cors: {
    flag: "cors", env: "ETCD_CORS",
    help: "comma-separated origins whose pages may call the client API, or '*' (default: none — same-origin only; etcd's is '*')",
  },
  hostWhitelist: {
    flag: "host-whitelist", env: "ETCD_HOST_WHITELIST",
    help: "comma-separated host names client requests may name, or '*' (default: IP addresses, localhost and the client URLs' names; etcd's is '*')",
  },
  certFile: { flag: "cert-file", env: "ETCD_CERT_FILE", help: "path to the client server TLS cert file" },
  keyFile: { flag: "key-file", env: "ETCD_KEY_FILE", help: "path to the client server TLS key file" },
  clientCertAuth: { flag: "client-cert-auth", env: "ETCD_CLIENT_CERT_AUTH", help: "clients must present a certificate signed by --trusted-ca-file", bool: true },
  trustedCaFile: { flag: "trusted-ca-file", env: "ETCD_TRUSTED_CA_FILE", help: "path to the CA that signs client certificates" },
  autoTls: { flag: "auto-tls", env: "ETCD_AUTO_TLS", help: "client TLS with a self-signed certificate made in the data directory", bool: true },
  peerCertFile: { flag: "peer-cert-file", env: "ETCD_PEER_CERT_FILE", help: "path to the peer server TLS cert file" },
  peerKeyFile: { flag: "peer-key-file", env: "ETCD_PEER_KEY_FILE", help: "path to the peer server TLS key file" },
  peerClientCertAuth: { flag: "peer-client-cert-auth", env: "ETCD_PEER_CLIENT_CERT_AUTH", help: "peers must present a certificate signed by --peer-trusted-ca-file", bool: true },
  peerTrustedCaFile: { flag: "peer-trusted-ca-file", env: "ETCD_PEER_TRUSTED_CA_FILE", help: "path to the CA that signs peer certificates" },
  quotaBackendBytes: {
    flag: "quota-backend-bytes", env: "ETCD_QUOTA_BACKEND_BYTES",
    help: "raise a NOSPACE alarm and refuse writes once the state takes this many bytes (default 0: 2 GiB; below 0: no quota)",
  },
  autoCompactionMode: { flag: "auto-compaction-mode", env: "ETCD_AUTO_COMPACTION_MODE", help: "'periodic' or 'revision' (default \"periodic\")" },
  autoCompactionRetention: {
    flag: "auto-compaction-retention", env: "ETCD_AUTO_COMPACTION_RETENTION",
    help: "history to keep: hours or a duration (periodic), revisions (revision) (default \"0\": no auto-compaction)",
  },
  initialCorruptCheck: {
    flag: "experimental-initial-corrupt-check", env: "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", bool: true,
    help: "before serving, compare this member's hash with its peers' and refuse to start if one differs",
  },
  corruptCheckTime: {
    flag: "experimental-corrupt-check-time", env: "ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME",
    help: "how often the leader compares the members' hashes, raising CORRUPT for one that differs, a duration (default 0s: never)",
  },
  strictReconfigCheck: {
    flag: "strict-reconfig-check", env: "ETCD_STRICT_RECONFIG_CHECK", bool: true,
    help: "refuse member changes that could cost the quorum: too few started members, or one not connected for 5 s (default true)",
  },
  peerAutoTls: { flag: "peer-auto-tls", env: "ETCD_PEER_AUTO_TLS", help: "peer TLS with a self-signed certificate made in the data directory", bool: true },
} satisfies Record<string, FlagSpec>;

export function usage(): string {
  const lines = Object.values(FLAGS).map((f) => `  --${f.flag.padEnd(30)} ${f.help}\n  ${"".padEnd(32)} env ${f.env}`);
  return `usage: concord [flags]\n\n${lines.join("\n")}\n  --${"help".padEnd(30)} show this text\n`;
}

export type ConfigOutcome = { ok: true; config: Config } | { ok: false; error: string } | { ok: false; help: true };


/** A count of milliseconds or entries: digits only, as Go's flag package takes a uint. */
function count(given: Given | undefined, fallback: number): number | string {
  if (!given) return fallback;
  return /^\d+$/.test(given.value) ? Number(given.value) : `invalid value ${JSON.stringify(given.value)} for ${given.from}: parse error`;
}

/** A Go duration such as "10m", "1m30s" or "500ms", in ms. */
function duration(given: Given | undefined, fallback: number): number | string {
  if (!given) return fallback;
  return goDurationMs(given.value) ?? `invalid value ${JSON.stringify(given.value)} for ${given.from}: parse error`;
}

type RaftTiming = Pick<Config, "heartbeatIntervalMs" | "electionTimeoutMs" | "snapshotCount">;

function raftTiming(lookup: (f: FlagSpec) => Given | undefined): RaftTiming | string {
  const heartbeat = count(lookup(FLAGS.heartbeatInterval), DEFAULT_HEARTBEAT_INTERVAL_MS);
  if (typeof heartbeat === "string") return heartbeat;
  const election = count(lookup(FLAGS.electionTimeout), DEFAULT_ELECTION_TIMEOUT_MS);
  if (typeof election === "string") return election;
  const snapshots = count(lookup(FLAGS.snapshotCount), DEFAULT_SNAPSHOT_COUNT);
  if (typeof snapshots === "string") return snapshots;
  if (heartbeat === 0) return "--heartbeat-interval must be >0 (set to 0ms)";
  if (election === 0) return "--election-timeout must be >0 (set to 0ms)";
  if (5 * heartbeat > election) {
    return `--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${heartbeat}ms]`;
  }
  if (election > ELECTION_TIMEOUT_MS_MAX) {
    return `--election-timeout[${election}ms] is too long, and should be set less than ${ELECTION_TIMEOUT_MS_MAX}ms`;
  }
  // etcd takes a snapshot count of 0 to mean its default.
  return { heartbeatIntervalMs: heartbeat, electionTimeoutMs: election, snapshotCount: snapshots || DEFAULT_SNAPSHOT_COUNT };
}

/**
 * --cors: `*`, or origins as etcd takes them (http:// or https://, no path), each written as a
 * browser sends it (`http://a.example:80` is `http://a.example`; etcd would match only the former,
 * which no browser sends). A port may be left out, which etcd refuses.
 */
function corsOrigins(given: Given | undefined): string[] | string {
  if (!given || given.value === "*") return given ? ["*"] : [];
  const out: string[] = [];
  for (const part of given.value.split(",").map((s) => s.trim())) {
    let url: URL | undefined;
    try {
      url = new URL(part);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return `invalid value ${JSON.stringify(given.value)} for ${given.from}: URL scheme must be http or https: ${part}`;
    }
    if (url.pathname !== "/" || url.search || url.hash) return `invalid value ${JSON.stringify(given.value)} for ${given.from}: URL must not contain a path: ${part}`;
    out.push(url.origin);
  }
  return out;
}

/** A bool flag's value as Go's strconv.ParseBool reads it. */
function bool(given: Given | undefined, fallback = false): boolean | string {
  if (!given) return fallback;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(given.value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(given.value)) return false;
  return `invalid boolean value ${JSON.stringify(given.value)} for ${given.from}: parse error`;
}

function tlsSettings(lookup: (f: FlagSpec) => Given | undefined, clientUrls: URL[], peerUrls: URL[]): Pick<Config, "clientTls" | "peerTls"> | string {
  const sides = {
    clientTls: [FLAGS.certFile, FLAGS.keyFile, FLAGS.trustedCaFile, FLAGS.clientCertAuth, FLAGS.autoTls, "client", clientUrls],
    peerTls: [FLAGS.peerCertFile, FLAGS.peerKeyFile, FLAGS.peerTrustedCaFile, FLAGS.peerClientCertAuth, FLAGS.peerAutoTls, "peer", peerUrls],
  } as const;
  const out: Partial<Pick<Config, "clientTls" | "peerTls">> = {};
  for (const [key, [cert, keyFile, ca, certAuth, auto, side, urls]] of Object.entries(sides) as [keyof typeof sides, (typeof sides)[keyof typeof sides]][]) {
    const clientCertAuth = bool(lookup(certAuth));
    if (typeof clientCertAuth === "string") return clientCertAuth;
    const autoTls = bool(lookup(auto));
    if (typeof autoTls === "string") return autoTls;
    const settings: TlsSettings = {
      certFile: lookup(cert)?.value, keyFile: lookup(keyFile)?.value, trustedCaFile: lookup(ca)?.value, clientCertAuth, autoTls,
    };
    const refused = tlsRefusal(side, settings, urls);
    if (refused) return refused;
    out[key] = settings;
  }
  return out as Pick<Config, "clientTls" | "peerTls">;
}

function clusterState(given: Given | undefined): ClusterState | string {
  if (!given) return "new";
  if (given.value === "new" || given.value === "existing") return given.value;
  return `invalid value ${JSON.stringify(given.value)} for ${given.from}: invalid value`;
}

export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): ConfigOutcome {
  const given = new Map<string, string>();
  const byFlag = new Map<string, FlagSpec>(Object.values(FLAGS).map((f) => [f.flag, f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { ok: false, help: true };
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !byFlag.has(m[1])) return { ok: false, error: `unknown flag ${JSON.stringify(arg)} (see --help)` };
    const value = m[2] ?? (byFlag.get(m[1])!.bool ? "true" : argv[++i]);
    if (value === undefined) return { ok: false, error: `flag --${m[1]} needs a value` };
    given.set(m[1], value);
  }
  const lookup = (f: FlagSpec): Given | undefined => {
    const flagValue = given.get(f.flag);
    if (flagValue !== undefined) return { value: flagValue, from: `flag -${f.flag}` };
    const envValue = env[f.env];
    return envValue ? { value: envValue, from: f.env } : undefined;
  };
  const value = (f: FlagSpec) => lookup(f)?.value;
  const name = value(FLAGS.name) ?? DEFAULT_NAME;
  const listen = urlList(FLAGS.listenClientUrls.flag, value(FLAGS.listenClientUrls) ?? DEFAULT_CLIENT_URL);
  if (typeof listen === "string") return { ok: false, error: listen };
  const advertise = urlList(FLAGS.advertiseClientUrls.flag, value(FLAGS.advertiseClientUrls) ?? listen.map(String).join(","));
  if (typeof advertise === "string") return { ok: false, error: advertise };
  const listenPeers = urlList(FLAGS.listenPeerUrls.flag, value(FLAGS.listenPeerUrls) ?? DEFAULT_PEER_URL);
  if (typeof listenPeers === "string") return { ok: false, error: listenPeers };
  const peers = urlList(FLAGS.initialAdvertisePeerUrls.flag, value(FLAGS.initialAdvertisePeerUrls) ?? DEFAULT_PEER_URL);
  if (typeof peers === "string") return { ok: false, error: peers };
  const peerUrls = peers.map(urlString);
  const state = clusterState(lookup(FLAGS.initialClusterState));
  if (state !== "new" && state !== "existing") return { ok: false, error: state };
  const timing = raftTiming(lookup);
  if (typeof timing === "string") return { ok: false, error: timing };
  const progressNotify = duration(lookup(FLAGS.watchProgressNotifyInterval), DEFAULT_WATCH_PROGRESS_NOTIFY_MS);
  if (typeof progressNotify === "string") return { ok: false, error: progressNotify };
  const sseHeartbeat = duration(lookup(FLAGS.sseHeartbeatInterval), DEFAULT_SSE_HEARTBEAT_MS);
  if (typeof sseHeartbeat === "string") return { ok: false, error: sseHeartbeat };
  if (sseHeartbeat === 0) return { ok: false, error: "--sse-heartbeat-interval must be >0" };
  const cors = corsOrigins(lookup(FLAGS.cors));
  if (typeof cors === "string") return { ok: false, error: cors };
  const hosts = value(FLAGS.hostWhitelist);
  const hostWhitelist = hosts === undefined ? undefined : hosts.split(",").filter(Boolean);
  const tls = tlsSettings(lookup, listen, listenPeers);
  if (typeof tls === "string") return { ok: false, error: tls };
  const authToken = authTokenSpec(value(FLAGS.authToken) ?? "simple");
  if ("error" in authToken) return { ok: false, error: authToken.error };
  const authTokenTtl = count(lookup(FLAGS.authTokenTtl), DEFAULT_AUTH_TOKEN_TTL_S);
  if (typeof authTokenTtl === "string") return { ok: false, error: authTokenTtl };
  const quota = quotaBackendBytes(lookup(FLAGS.quotaBackendBytes));
  if (typeof quota === "string") return { ok: false, error: quota };
  const compaction = autoCompaction(lookup(FLAGS.autoCompactionMode), lookup(FLAGS.autoCompactionRetention));
  if (typeof compaction === "string") return { ok: false, error: compaction };
  const initialCorruptCheck = bool(lookup(FLAGS.initialCorruptCheck));
  if (typeof initialCorruptCheck === "string") return { ok: false, error: initialCorruptCheck };
  const corruptCheck = duration(lookup(FLAGS.corruptCheckTime), 0);
  if (typeof corruptCheck === "string") return { ok: false, error: corruptCheck };
  const strictReconfigCheck = bool(lookup(FLAGS.strictReconfigCheck), true);
  if (typeof strictReconfigCheck === "string") return { ok: false, error: strictReconfigCheck };
  const clusterValue = value(FLAGS.initialCluster) ?? peerUrls.map((u) => `${name}=${u}`).join(",");
  const cluster = initialCluster(clusterValue, state, name, peerUrls);
  if (typeof cluster === "string") return { ok: false, error: cluster };
  return {
    ok: true,
    config: {
      name,
      dataDir: value(FLAGS.dataDir) ?? `${name}.etcd`,
      listenClientUrls: listen,
      advertiseClientUrls: advertise.map(urlString),
      listenPeerUrls: listenPeers,
      initialAdvertisePeerUrls: peerUrls,
      initialCluster: cluster,
      initialClusterState: state,
      initialClusterToken: value(FLAGS.initialClusterToken) ?? DEFAULT_CLUSTER_TOKEN,
      ...timing,
      watchProgressNotifyMs: progressNotify,
      sseHeartbeatMs: sseHeartbeat,
      corsOrigins: cors,
      hostWhitelist,
      ...tls,
      authToken,
      // etcd takes 0 to mean its default.
      authTokenTtlMs: (authTokenTtl || DEFAULT_AUTH_TOKEN_TTL_S) * 1_000,
      quotaBackendBytes: quota,
      autoCompaction: compaction,
      initialCorruptCheck,
      corruptCheckIntervalMs: corruptCheck,
      strictReconfigCheck,
    },
  };
}
