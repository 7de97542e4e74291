/**
 * Every limit and tuning constant of a member, with its unit last in its name and the reason for
 * its value, and the relations they must keep with each other — checked at start-up
 * (checkLimits), so a change to one that breaks another stops the member before it serves.
 *
 * Owns: the numbers and their relations. Never: logic; flags' defaults live in defaults.ts. raft/
 * imports nothing from here: the member hands the core its numbers.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- requests (etcd's limits) ----

/** etcd's --max-request-bytes default: a request (and so a proposal) is at most 1.5 MiB. */
export const REQUEST_BYTES_MAX = 1.5 * MiB;
/** etcd's --max-txn-ops default. */
export const TXN_OPS_MAX = 128;
/** etcd's gRPC server accepts this much above max-request-bytes before the request reaches etcd. */
export const GRPC_OVERHEAD_BYTES = 512 * KiB;
/** The largest request message gRPC takes (etcd: max-request-bytes plus gRPC's overhead); larger is RESOURCE_EXHAUSTED. */
export const GRPC_RECEIVE_BYTES_MAX = REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES;
/** A JSON body as the gateway reads it: base64 and escapes make it up to 4x the request's bytes. */
export const GATEWAY_BODY_BYTES_MAX = 4 * (REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES);
/** Nesting depth of a JSON body, as Go's encoding/json refuses deeper. */
export const JSON_DEPTH_MAX = 10_000;
/** etcd refuses a lease TTL above this (seconds). */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000n;
/** etcd refuses a longer --election-timeout (ms). */
export const ELECTION_TIMEOUT_MS_MAX = 50_000;

// ---- streams to clients ----

/** Bytes a watch stream may hold unsent for a slow reader before its watchers catch up from history. */
export const WATCH_STREAM_QUEUED_BYTES_MAX = 256 * KiB;
/** Bytes a keep-alive stream may hold unsent before it stops reading requests. */
export const KEEP_ALIVE_STREAM_QUEUED_BYTES_MAX = 64 * KiB;
/**
 * History read per catch-up pass: at most this many changes and bytes of values, so a response
 * stays small whatever the values (etcd reads up to 1,000 revisions per watcher batch).
 */
export const WATCH_CATCH_UP_CHANGES_MAX = 1_000;
export const WATCH_CATCH_UP_BYTES_MAX = 1 * MiB;
/** How often watchers that could not be served are tried again, ms (etcd: 100 ms). */
export const WATCH_CATCH_UP_RETRY_MS = 100;
/**
 * A range over more keys than one page is read a page at a time, the event loop free between
 * pages (member/paged_range.ts): a page is at most this many keys, and stops once it holds this many
 * bytes of keys and values, so it takes milliseconds whatever the values.
 */
export const RANGE_PAGE_KEYS = 1_000;
export const RANGE_PAGE_BYTES = 4 * MiB;
/** How often a paged read looks again whether a snapshot being installed is in (ms), until its deadline. */
export const RANGE_INSTALL_WAIT_MS = 10;
/** A range of one key, or limited to at most this many, is read at once: its largest answer is this many largest values. */
export const RANGE_AT_ONCE_KEYS_MAX = 32;
/**
 * Bytes of keys and values one read may answer (a range, or all the ranges of a read-only txn):
 * past it the read is refused with RESOURCE_EXHAUSTED, as gRPC refuses a message too large to
 * send. etcd has no bound short of gRPC's 2 GiB and builds the answer whole; here the answer is
 * still encoded in one piece on the member's thread, and this keeps that piece to a few hundred
 * milliseconds — under an election timeout. A client pages with limit and a start key (etcdctl
 * get --limit, clientv3 WithLimit and WithFromKey).
 */
export const RANGE_RESPONSE_BYTES_MAX = 64 * MiB;
/**
 * Concord's search looks at this many keys per page — fewer when their values pass
 * SEARCH_PAGE_BYTES (at least one: a page of 1,000 values of 1.5 MiB would scan 1.5 GB) — the event
 * loop free between pages, and answers (with where to go on from) once it has looked for this long, ms.
 */
export const SEARCH_PAGE_KEYS = 1_000;
export const SEARCH_PAGE_BYTES = 8 * MiB;
export const SEARCH_TIME_MS_MAX = 250;
/**
 * Steps a read at a past revision walks back along one key's chain of changes at most: every
 * this-many-th change of a key is also recorded in kv_history_skips, where a read seeks the first
 * one after its revision and walks back from there (a key changed 200,000 times read at its first
 * revision: 1.6 s walking the whole chain). A full (key, revision) index instead cost a quarter of
 * put throughput, measured.
 */
export const HISTORY_WALK_CHANGES_MAX = 64;
/** Rows one console call (search, folders) answers at most. */
export const CONSOLE_ROWS_MAX = 1_000;
/**
 * A folder listing counts each folder's keys up to this many (more shows as "at least"), and ends
 * its page, answering where to go on from, once its counts have read this many keys: a listing of
 * folders with millions of keys reads a few milliseconds' worth, not all of them.
 */
export const FOLDER_COUNT_KEYS_MAX = 10_000;
export const FOLDER_PAGE_COUNTED_KEYS_MAX = 100_000;
/**
 * Changes a hash of the state (etcd's Hash and HashKV) reads at once: values are up to
 * REQUEST_BYTES_MAX each, so a page holds at most 48 MiB of them.
 */
export const HASH_READ_ROWS_MAX = 32;
/** Bytes of a state copy in one Snapshot response to a client (etcd's snapshotSendBufferSize). */
export const CLIENT_SNAPSHOT_CHUNK_BYTES = 32 * KiB;

// ---- the client port (HTTP/1.1 and HTTP/2 on one port) ----

/**
 * Bytes read from a new connection to tell HTTP/2 from HTTP/1.1: HTTP/2's client preface
 * ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") is 24 bytes. Most connections are told apart sooner: a
 * connection is HTTP/1.1 from the first byte that differs from the preface ("GET" at the first,
 * "POST" at the second).
 */
export const CLIENT_PORT_PEEK_BYTES_MAX = 24;
/**
 * How long a new connection may take to send those bytes, ms; then it is closed. Longer than a
 * browser keeps a preconnected socket it has not used (Chromium: 10 s), so a page's spare
 * connections are never cut; short enough that connections which never speak do not pile up.
 */
export const CLIENT_PORT_PEEK_TIMEOUT_MS = 30_000;
/**
 * What a connection's pipe reads at a time on Deno, each way (Bun hands over what arrived): idle
 * connections (SSE watchers by the thousand) hold the smallest; a read that fills its buffer
 * doubles it, up to the largest, so a large body moves in few reads.
 */
export const CLIENT_PORT_READ_BYTES_MIN = 4 * KiB;
export const CLIENT_PORT_READ_BYTES_MAX = 64 * KiB;
/**
 * A connection the member's HTTP/1.1 server (or HTTP/2 sink) has no room to take yet — a burst of
 * new connections fills its accept queue (Bun.serve's holds 512) and a unix socket refuses at once
 * where TCP would retry — is tried again after the first wait, doubling up to the largest, ms …
 */
export const CLIENT_PORT_CONNECT_RETRY_MS_MIN = 2;
export const CLIENT_PORT_CONNECT_RETRY_MS_MAX = 100;
/** … until it has waited this long in all, ms; then the client's connection is closed. */
export const CLIENT_PORT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Descriptors kept back from client connections: each holds three (its own, the pipe's, the inner
 * server's), and the client ports together take at most (the open-file limit − this) / 3 of
 * them; past that a new connection is closed at once. The member's files, threads and peers need
 * far fewer than this; a runtime out of descriptors fails worse (Deno.serve ends the process,
 * Bun spins on its accept).
 */
export const CLIENT_PORT_DESCRIPTORS_RESERVED = 1_000;

// ---- gRPC's HTTP/2 connections ----

/**
 * Window a client may send on one call before we acknowledge (SETTINGS_INITIAL_WINDOW_SIZE), bytes:
 * at least the largest request message, so a unary call never waits for a window update.
 */
export const GRPC_STREAM_WINDOW_BYTES = 4 * MiB;
/** Window a client may send on a whole connection before we acknowledge, bytes. */
export const GRPC_CONNECTION_WINDOW_BYTES = 64 * MiB;
/**
 * Bytes of requests a connection may hold not yet handed to a call — partial messages, and
 * messages a paused call (a keep-alive stream renewing) has not read; a call whose bytes would go
 * past it is ended RESOURCE_EXHAUSTED. Bounds a connection's memory whatever its clients send.
 */
export const GRPC_CONNECTION_BUFFERED_BYTES_MAX = 64 * MiB;
/** Calls open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); a client queues beyond it. */
export const GRPC_CONCURRENT_STREAMS_MAX = 10_000;
/** A request's headers (SETTINGS_MAX_HEADER_LIST_SIZE, HPACK's measure: names, values, 32 per field), bytes. */
export const GRPC_HEADER_LIST_BYTES_MAX = 1 * MiB;
/**
 * Bytes of answers a connection may hold unsent (the client reads slower than it asks) before the
 * connection stops reading requests and calls see no room, until the client has taken them.
 */
export const GRPC_CONNECTION_UNSENT_BYTES_MAX = 4 * MiB;
/**
 * Unary and server-streaming calls one connection runs at once, until each answer is written (not
 * merely made); more wait, in order, their requests counted in GRPC_CONNECTION_BUFFERED_BYTES_MAX.
 * So a client that asks and never reads holds at most this many answers. etcd's load generators
 * run a few dozen calls per connection; clientv3 multiplexes a program's calls on one.
 */
export const GRPC_CONNECTION_CALLS_IN_FLIGHT_MAX = 256;

// ---- the member ----

/** etcd's request timeout is this plus two election timeouts (ms): a request that cannot finish by then is answered "request timed out". */
export const REQUEST_TIMEOUT_BASE_MS = 5_000;
/** Proposals waiting to be applied beyond this are refused, as etcd refuses when it falls behind. */
export const PENDING_PROPOSALS_MAX = 20_000;
/**
 * The core ticks this many times per heartbeat. Election timeouts are randomised in whole ticks:
 * at one tick per heartbeat two followers of a dead leader pick the same timeout one time in ten
 * and split the vote (another 1–2 s without a leader); at ten, one time in a hundred.
 */
export const TICKS_PER_HEARTBEAT = 10;
/** Applied entries the log keeps for members that fall behind (etcd's SnapshotCatchUpEntries). */
export const LOG_RETAINED_ENTRIES = 5_000;
/**
 * Data bytes of log entries the Raft core holds in memory at most, beyond what the state has not
 * made durable: past it the log is trimmed to half of it. Counting entries alone, 5,000–15,000
 * entries of 1.5 MiB values would be 7–22 GiB; small entries never reach this, so the entry
 * count rules for them and bytes rule for large ones (a member further behind gets a snapshot).
 * The half kept (128 MiB) still lets a follower that missed more than one 64 MiB frame of large
 * values catch up by appends (tests/cluster/large_values.test.ts).
 */
export const RAFT_LOG_MEMORY_BYTES_MAX = 256 * MiB;
/** Appends a leader has in flight to one follower before it waits for acknowledgements. */
export const RAFT_INFLIGHT_APPENDS_MAX = 256;
/** Entries in one append. */
export const RAFT_APPEND_ENTRIES_MAX = 64;
/**
 * Bytes of entries in one append (etcd's MaxSizePerMsg is 1 MiB): more entries ride along only
 * while they fit; an entry bigger than this still goes, alone.
 */
export const RAFT_APPEND_BYTES_MAX = 4 * MiB;
/** An open state batch is committed once it is this old (ms) … */
export const STATE_BATCH_INTERVAL_MS = 100;
/** … or holds this many entries. */
export const STATE_BATCH_ENTRIES_MAX = 10_000;
/**
 * How long an SQLite call waits for a lock another connection of the member holds before it fails
 * SQLITE_BUSY (each thread has its own connection): after a kill -9 the first connection to open a
 * database recovers its WAL under an exclusive lock, and the others must wait for that rather than
 * fail (a Deno member restarted so once stopped at start-up: "database is locked").
 */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;
/** How often the leader looks for expired leases, ms; a lease is revoked at most this late. */
export const LEASE_EXPIRY_SCAN_MS = 100;
/** How often remaining TTLs are looked at for checkpoints, ms. */
export const LEASE_CHECKPOINT_INTERVAL_MS = 1_000;
/**
 * A lease left alone is checkpointed each time it has lost this share of its TTL since its last
 * checkpoint (and at least one interval's worth): a lease costs about this many checkpoints over
 * its life, not one per second of it; after a failover it can have at most that share (plus an
 * election timeout) more than it had.
 */
export const LEASE_CHECKPOINT_TTL_SHARE = 0.1;
/** Revokes proposed per second at most (etcd's leaseRevokeRate). */
export const LEASE_REVOKES_PER_SECOND_MAX = 1_000;
/** Checkpoints per entry at most (etcd's maxLeaseCheckpointBatchSize). */
export const LEASE_CHECKPOINTS_PER_ENTRY_MAX = 1_000;
/** Simple tokens, or verified JWTs, a member keeps at most; past it the least recently used is forgotten first. */
export const AUTH_TOKENS_KEPT_MAX = 100_000;
/**
 * Watchers one watch stream (a gRPC Watch call, a gateway watch) may hold, and a member in all:
 * each costs memory and a look on every write to its range (~8 KiB with its SSE stream, measured);
 * etcd has no bound, and a client looping on create would take the member's memory. A create past
 * either is answered created and canceled, with the limit as its reason, as etcd refuses a watch.
 */
export const WATCHERS_PER_STREAM_MAX = 10_000;
export const WATCHERS_MAX = 200_000;
/**
 * History rows a compaction drops per tick (every heartbeat/TICKS_PER_HEARTBEAT, 10 ms by
 * default): etcd's compactor takes 1,000 keys per batch with a pause between, so a compaction of a
 * long history never holds the member's one thread past an election timeout.
 */
export const COMPACTION_BATCH_ROWS = 1_000;
/**
 * Leases a cluster holds at most: each is a row, a place in every member's lessor, and a look in
 * its checkpoint scan every second; etcd has no bound. A grant past it is refused as it applies
 * (the same on every member), with RESOURCE_EXHAUSTED.
 */
export const LEASES_MAX = 100_000;
/** Bytes of checked JWTs a member remembers at most (tokens and user names), so a signature is verified once per token. */
export const AUTH_JWT_CHECKED_BYTES_MAX = 32 * MiB;
/** A token longer than this names no one (etcd's JWTs are a few hundred bytes; this bounds the work of checking one). */
export const AUTH_TOKEN_BYTES_MAX = 8 * 1024;
/** Times a login is checked and proposed again when users or roles changed while it was in flight (etcd loops until its deadline). */
export const AUTH_LOGIN_ATTEMPTS_MAX = 5;
/** A JWT key file (--auth-token jwt,priv-key=…,pub-key=…) larger than this is refused at start-up. */
export const AUTH_JWT_KEY_FILE_BYTES_MAX = 64 * 1024;
/** scrypt's cost for a password (N = 2^14, r = 8: 16 MiB and ~40 ms here, like etcd's bcrypt cost 10). */
export const PASSWORD_SCRYPT_COST = 2 ** 14;
/** The highest cost a stored hash may name and still be checked (a hash is only as trusted as the log). */
export const PASSWORD_SCRYPT_COST_MAX = 2 ** 20;
/** How long /health waits for a linearizable read to be confirmed before it says false, ms (etcd 3.4: a second). */
export const HEALTH_CHECK_TIMEOUT_MS = 1_000;
/** etcd's HealthInterval: a peer connected for less than this (ms) may be on its way out. */
export const HEALTH_INTERVAL_MS = 5_000;
/** etcd 3.4 allows one learner at a time. */
export const LEARNERS_MAX = 1;
/** A learner may be promoted once it holds this share of the leader's log. */
export const LEARNER_READY_RATIO = 0.9;
/** A member joining an existing cluster asks its members this many times, this far apart (ms). */
export const JOIN_ATTEMPTS_MAX = 50;
export const JOIN_RETRY_MS = 200;
export const JOIN_REQUEST_TIMEOUT_MS = 2_000;

// ---- the peer port ----

/** Frames a member accepts on a peer stream (WebSocket), bytes. */
export const PEER_FRAME_BYTES_MAX = 64 * MiB;
/** Raft messages a peer's queue holds before the oldest are dropped. */
export const PEER_QUEUE_MESSAGES_MAX = 8192;
/** Raft messages in one frame or request, and log entries and bytes of entries they carry. */
export const PEER_BATCH_MESSAGES_MAX = 4096;
export const PEER_BATCH_ENTRIES_MAX = 8192;
export const PEER_BATCH_BYTES_MAX = 16 * MiB;
/** Forwarded writes in one frame or request to the leader, and their bytes. */
export const PEER_PROPOSALS_PER_BATCH_MAX = 4096;
export const PEER_PROPOSALS_BATCH_BYTES_MAX = 16 * MiB;
/** How long to leave an unreachable peer alone before trying again, ms. */
export const PEER_RETRY_AFTER_MS = 100;
/** A peer request that takes longer than this is given up (the peer is paused or gone), ms. */
export const PEER_REQUEST_TIMEOUT_MS = 5_000;
/** Bytes a socket may hold unsent (a paused peer) before messages to it are dropped. */
export const PEER_SOCKET_BUFFERED_BYTES_MAX = 16 * MiB;
/** Bytes per snapshot chunk: big enough to stream fast, small enough to hold in memory twice. */
export const SNAPSHOT_CHUNK_BYTES = 1 * MiB;
/**
 * How long the log keeps the entries after a snapshot once it has been sent, for the follower to
 * install it and ask for them (etcd's releaseDelayAfterSnapshot), ms.
 */
export const SNAPSHOT_SENT_HOLD_MS = 30_000;
/** The largest snapshot a member accepts, announced before its first chunk (etcd's largest advised quota). */
export const SNAPSHOT_BYTES_MAX = 8 * 1024 * MiB;

/**
 * What a Raft message or a forwarded write costs on the wire beyond its data (ids, numbers,
 * lengths; for an append, also each of its up to RAFT_APPEND_ENTRIES_MAX entries' index, term and
 * length, 21 bytes each).
 */
const WIRE_OVERHEAD_BYTES = 4 * KiB;

/**
 * Free pages a defragment hands back to the file system per step, the member serving between steps
 * (measured: ~30 µs a page, so a step takes under 10 ms).
 */
export const DEFRAGMENT_STEP_PAGES = 256;

/** The numbers checkLimits relates; tests hand it other sets to see a broken one refused. */
export const LIMITS = {
  REQUEST_BYTES_MAX, GATEWAY_BODY_BYTES_MAX, RAFT_APPEND_BYTES_MAX, RAFT_APPEND_ENTRIES_MAX, PEER_FRAME_BYTES_MAX,
  PEER_BATCH_BYTES_MAX, PEER_PROPOSALS_BATCH_BYTES_MAX, PEER_SOCKET_BUFFERED_BYTES_MAX, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_BYTES_MAX,
  LOG_RETAINED_ENTRIES, RAFT_LOG_MEMORY_BYTES_MAX, RANGE_AT_ONCE_KEYS_MAX, RANGE_PAGE_KEYS, RANGE_PAGE_BYTES, RANGE_RESPONSE_BYTES_MAX, PENDING_PROPOSALS_MAX, PEER_QUEUE_MESSAGES_MAX, PEER_BATCH_MESSAGES_MAX, PEER_BATCH_ENTRIES_MAX,
  PEER_PROPOSALS_PER_BATCH_MAX, TICKS_PER_HEARTBEAT, CLIENT_PORT_PEEK_BYTES_MAX,
  CLIENT_PORT_READ_BYTES_MIN, CLIENT_PORT_READ_BYTES_MAX, CLIENT_PORT_CONNECT_RETRY_MS_MIN, CLIENT_PORT_CONNECT_RETRY_MS_MAX,
  CLIENT_PORT_CONNECT_TIMEOUT_MS, GRPC_STREAM_WINDOW_BYTES, GRPC_CONNECTION_WINDOW_BYTES, GRPC_CONNECTION_BUFFERED_BYTES_MAX,
  FOLDER_COUNT_KEYS_MAX, FOLDER_PAGE_COUNTED_KEYS_MAX,
};
export type Limits = typeof LIMITS;

/**
 * The relations the limits must keep, each with why; answers the broken ones (none: all hold).
 * A batch stops taking items once their data reach its bound, but takes at least one, so a frame
 * must hold a full batch plus its last item — for Raft messages one append, which the core bounds
 * by RAFT_APPEND_BYTES_MAX (an entry over it going alone) — plus every item's framing.
 */
export function checkLimits(l: Limits = LIMITS, timing?: { heartbeatMs: number; electionMs: number }): string[] {
  const broken: string[] = [];
  const must = (holds: boolean, why: string) => holds || broken.push(why);
  const largestEntry = l.REQUEST_BYTES_MAX + WIRE_OVERHEAD_BYTES;
  // At most: the bound, or one entry over it alone — counted as both, to stay on the safe side.
  const largestAppend = l.RAFT_APPEND_BYTES_MAX + largestEntry;
  must(largestAppend <= l.PEER_BATCH_BYTES_MAX,
    "an append (RAFT_APPEND_BYTES_MAX plus one largest entry) must fit in one peer batch (PEER_BATCH_BYTES_MAX)");
  must(l.PEER_BATCH_BYTES_MAX + largestAppend + l.PEER_BATCH_MESSAGES_MAX * WIRE_OVERHEAD_BYTES <= l.PEER_FRAME_BYTES_MAX,
    "a peer batch (PEER_BATCH_BYTES_MAX plus its last message, an append, plus each message's framing) must fit in a frame the receiver accepts (PEER_FRAME_BYTES_MAX)");
  must(l.PEER_PROPOSALS_BATCH_BYTES_MAX + largestEntry + l.PEER_PROPOSALS_PER_BATCH_MAX * WIRE_OVERHEAD_BYTES <= l.PEER_FRAME_BYTES_MAX,
    "a batch of forwarded writes (PEER_PROPOSALS_BATCH_BYTES_MAX plus one largest write, plus each write's framing) must fit in a frame (PEER_FRAME_BYTES_MAX)");
  must(l.PEER_BATCH_BYTES_MAX <= l.PEER_SOCKET_BUFFERED_BYTES_MAX,
    "a socket must be allowed to buffer one whole batch (PEER_SOCKET_BUFFERED_BYTES_MAX >= PEER_BATCH_BYTES_MAX)");
  must(l.SNAPSHOT_CHUNK_BYTES <= l.PEER_FRAME_BYTES_MAX, "a snapshot chunk must fit in what a peer accepts");
  must(l.SNAPSHOT_CHUNK_BYTES <= l.SNAPSHOT_BYTES_MAX, "a snapshot chunk must fit in the largest snapshot");
  must(l.RAFT_APPEND_ENTRIES_MAX <= l.PEER_BATCH_ENTRIES_MAX, "one append's entries must fit in one peer batch");
  must(l.PEER_BATCH_MESSAGES_MAX <= l.PEER_QUEUE_MESSAGES_MAX, "a batch is taken from the queue: it cannot be longer");
  must(l.PEER_PROPOSALS_PER_BATCH_MAX <= l.PENDING_PROPOSALS_MAX, "a batch of forwarded writes must be acceptable under the proposal limit");
  must(l.GATEWAY_BODY_BYTES_MAX >= l.REQUEST_BYTES_MAX, "the gateway must read a body as large as the largest request");
  must(l.RAFT_LOG_MEMORY_BYTES_MAX / 2 >= l.RAFT_APPEND_BYTES_MAX + largestEntry,
    "the log trimmed for bytes keeps half of RAFT_LOG_MEMORY_BYTES_MAX, which must still hold a whole append for a follower just behind");
  must(l.RANGE_AT_ONCE_KEYS_MAX * l.REQUEST_BYTES_MAX <= l.RANGE_RESPONSE_BYTES_MAX,
    "a range read at once (RANGE_AT_ONCE_KEYS_MAX keys, each at most REQUEST_BYTES_MAX) must fit under RANGE_RESPONSE_BYTES_MAX: only paged reads check it");
  must(l.RANGE_AT_ONCE_KEYS_MAX <= l.RANGE_PAGE_KEYS && l.RANGE_PAGE_BYTES <= l.RANGE_RESPONSE_BYTES_MAX,
    "a page holds at least what a read at once does (RANGE_PAGE_KEYS), and fits in the largest answer (RANGE_RESPONSE_BYTES_MAX)");
  must(l.CLIENT_PORT_PEEK_BYTES_MAX === 24,
    "the client port tells HTTP/2 by its whole 24-byte preface (CLIENT_PORT_PEEK_BYTES_MAX): with fewer, a request that merely begins like it would be taken for HTTP/2; more are never needed");
  must(l.CLIENT_PORT_READ_BYTES_MIN <= l.CLIENT_PORT_READ_BYTES_MAX, "a pipe's read buffer grows from CLIENT_PORT_READ_BYTES_MIN up to CLIENT_PORT_READ_BYTES_MAX");
  must(0 < l.CLIENT_PORT_CONNECT_RETRY_MS_MIN && l.CLIENT_PORT_CONNECT_RETRY_MS_MIN <= l.CLIENT_PORT_CONNECT_RETRY_MS_MAX && l.CLIENT_PORT_CONNECT_RETRY_MS_MAX <= l.CLIENT_PORT_CONNECT_TIMEOUT_MS,
    "the client port's connection retries wait from CLIENT_PORT_CONNECT_RETRY_MS_MIN (above 0) up to CLIENT_PORT_CONNECT_RETRY_MS_MAX, within CLIENT_PORT_CONNECT_TIMEOUT_MS");
  must(l.GRPC_STREAM_WINDOW_BYTES >= l.REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES + 5,
    "a call's window (GRPC_STREAM_WINDOW_BYTES) must hold the largest request message gRPC receives, so no unary call waits on it");
  must(l.GRPC_STREAM_WINDOW_BYTES <= l.GRPC_CONNECTION_WINDOW_BYTES && l.GRPC_CONNECTION_WINDOW_BYTES < 2 ** 31,
    "a call's window fits in its connection's, and a window is below 2^31 bytes (HTTP/2's largest)");
  must(l.GRPC_CONNECTION_BUFFERED_BYTES_MAX >= l.GRPC_STREAM_WINDOW_BYTES,
    "a connection must hold at least one call's window of requests not yet read (GRPC_CONNECTION_BUFFERED_BYTES_MAX)");
  must(0 < l.FOLDER_COUNT_KEYS_MAX && l.FOLDER_COUNT_KEYS_MAX <= l.FOLDER_PAGE_COUNTED_KEYS_MAX,
    "a folder listing's page must be able to count at least one whole folder (FOLDER_COUNT_KEYS_MAX <= FOLDER_PAGE_COUNTED_KEYS_MAX)");
  if (timing) {
    must(timing.electionMs >= 5 * timing.heartbeatMs, "the election timeout must be at least 5 heartbeats");
    must(timing.heartbeatMs / l.TICKS_PER_HEARTBEAT >= 1,
      `a tick (the heartbeat interval / TICKS_PER_HEARTBEAT = ${l.TICKS_PER_HEARTBEAT}) must be at least 1 ms: timers are not finer`);
  }
  return broken;
}
