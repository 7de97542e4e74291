/**
 * Every default in one place, with etcd's values where etcd has one.
 *
 * Owns: numbers and names a member starts with when nobody says otherwise. Never: logic.
 */

/** The etcd API level Concord speaks; `/version` and status report it, as clients check it. */
export const ETCD_SERVER_VERSION = "3.4.23";
export const ETCD_CLUSTER_VERSION = "3.4.0";

export const DEFAULT_NAME = "default";
export const DEFAULT_CLIENT_URL = "http://127.0.0.1:2379";
export const DEFAULT_PEER_URL = "http://127.0.0.1:2380";
export const DEFAULT_CLUSTER_TOKEN = "etcd-cluster";

/** etcd's --max-request-bytes default: 1.5 MiB. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's --max-txn-ops default. */
export const MAX_TXN_OPS = 128;
/** etcd's gRPC server accepts this much above max-request-bytes before the request reaches etcd. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** etcd's --heartbeat-interval and --election-timeout defaults, in milliseconds. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 100;
export const DEFAULT_ELECTION_TIMEOUT_MS = 1000;
/** etcd refuses a longer --election-timeout. */
export const MAX_ELECTION_TIMEOUT_MS = 50_000;
/**
 * --snapshot-count: applied entries between log trims (0 means this). etcd's default is 100,000,
 * because an etcd snapshot writes the whole state out; Concord's state is on disk already and a
 * trim only drops log rows, while every untrimmed entry stays in the Raft core's memory and costs
 * the garbage collector on every cycle (measured: ~10% fewer puts/s at 100,000).
 */
export const DEFAULT_SNAPSHOT_COUNT = 10_000;
