/**
 * Every default in one place, with etcd's values where etcd has one.
 *
 * Owns: numbers and names a member starts with when nobody says otherwise. Never: logic, or limits
 * (limits.ts has every bound).
 */

/** The etcd API level Concord speaks; `/version` and status report it, as clients check it. */
export const ETCD_SERVER_VERSION = "3.4.23";
export const ETCD_CLUSTER_VERSION = "3.4.0";

export const DEFAULT_NAME = "default";
export const DEFAULT_CLIENT_URL = "http://127.0.0.1:2379";
export const DEFAULT_PEER_URL = "http://127.0.0.1:2380";
export const DEFAULT_CLUSTER_TOKEN = "etcd-cluster";


/** etcd's --heartbeat-interval and --election-timeout defaults, in milliseconds. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 100;
export const DEFAULT_ELECTION_TIMEOUT_MS = 1000;
/**
 * --snapshot-count: applied entries between log trims (0 means this). etcd's default is 100,000,
 * because an etcd snapshot writes the whole state out; Concord's state is on disk already and a
 * trim only drops log rows, while every untrimmed entry stays in the Raft core's memory and costs
 * the garbage collector on every cycle (measured: ~10% fewer puts/s at 100,000).
 */
export const DEFAULT_SNAPSHOT_COUNT = 10_000;
/** --sse-heartbeat-interval (Concord's own): a comment on every idle SSE watch stream this often, ms. */
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
/** --experimental-watch-progress-notify-interval: etcd's default, 10 minutes, in ms. */
export const DEFAULT_WATCH_PROGRESS_NOTIFY_MS = 10 * 60_000;
/** --auth-token-ttl: a simple token unused this long is forgotten (etcd's simpleTokenTTL), seconds. */
export const DEFAULT_AUTH_TOKEN_TTL_S = 300;
/** Rows a console search, and a console folder listing, answers when the call names no limit. */
export const CONSOLE_SEARCH_ROWS_DEFAULT = 100;
export const CONSOLE_FOLDER_ROWS_DEFAULT = 200;
/** --auto-tls and --peer-auto-tls: how long a self-signed certificate is valid, as etcd 3.4 makes them (a year). */
export const AUTO_TLS_VALID_DAYS = 365;
/** --quota-backend-bytes: etcd's default backend quota (0 means this; below 0: no quota), bytes. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
