/**
 * A range over many keys, read in pages with the event loop free between them, so no read holds
 * the member's one thread — its heartbeats, its other clients — for longer than a page takes
 * (RANGE_PAGE_KEYS keys, RANGE_PAGE_BYTES of them). Every page reads the key space as it was at
 * the revision the read began at (the pages between see later writes applied), so the answer is
 * the one a single read would have given; compaction keeps what the read still needs (the member
 * holds its dropping back while a read is pinned below it). The answer is bounded by
 * RANGE_RESPONSE_BYTES_MAX: past it, RESOURCE_EXHAUSTED in gRPC's words for a message too large.
 *
 * Concord's search is read the same way, a page of keys at a time, and answers once it has its
 * limit, has looked for SEARCH_TIME_MS_MAX, or has reached the span's end — with where to go on from.
 *
 * Owns: the pages, the pin, the bounds. Never: the semantics of a range (store/applier.ts's
 * finishRange, and the MVCC store's page), or checks a caller's permissions.
 */
import type { RefusingLimit } from "../metrics/limit_refusals.ts";
import { RANGE_AT_ONCE_KEYS_MAX, RANGE_INSTALL_WAIT_MS, RANGE_PAGE_BYTES, RANGE_PAGE_KEYS, RANGE_RESPONSE_BYTES_MAX, SEARCH_PAGE_BYTES, SEARCH_PAGE_KEYS, SEARCH_TIME_MS_MAX } from "../config/limits.ts";
import { Errors, type EtcdError, isEtcdError } from "../etcd/errors.ts";
import { keySpan, type KeySpan } from "../etcd/keys.ts";
import { type Bytes, type KeyValue, type RangeRequest, type RangeResponse, SortTarget } from "../etcd/types.ts";
import { filtered, finishRange, readsWholeSpan, sortOrder } from "../store/applier.ts";
import { Errors as MemberErrors } from "../etcd/server_errors.ts";
import type { Mvcc, RangePage } from "../store/mvcc.ts";

export interface PagedRangeHooks {
  /** Runs a read against the member's store now, or says why it cannot (the member stopped). */
  read<T>(fn: (mvcc: Mvcc) => T): T | EtcdError;
  /** The store is being replaced by a snapshot from the leader: wait before reading again. */
  installing(): boolean;
  /**
   * Keeps compaction from dropping history at or after `revision` until released; `intact` says
   * whether that held (a hash asked meanwhile finishes a compaction whatever is pinned, and a
   * snapshot installed may have been compacted past it).
   */
  pin(revision: number): Pin;
  /** The clock, ms, and how long a read may take before it is answered "request timed out". */
  now(): number;
  timeoutMs(): number;
  /** Counts a read its limit refused (RANGE_RESPONSE_BYTES_MAX). */
  refused(limit: RefusingLimit): void;
}

export interface Pin {
  release(): void;
  intact(): boolean;
}

/**
 * Whether a range is small enough to read at once: one key, or a few (RANGE_AT_ONCE_KEYS_MAX) at
 * the current revision without a sort or filter — at most that many of the largest values, under
 * RANGE_RESPONSE_BYTES_MAX, and no key's history walked.
 */
export function readsAtOnce(r: RangeRequest): boolean {
  return r.rangeEnd.length === 0 || (r.limit > 0 && r.limit <= RANGE_AT_ONCE_KEYS_MAX && r.revision <= 0 && !readsWholeSpan(r));
}

/** Resolves once the event loop has run what was waiting (timers, sockets): a pause between two slices of long work. */
export const freeTheEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Where a range inside a read-only txn reads: the revision the txn reads at (a range at revision 0
 * reads there), under the txn's pin — taken when the txn began, at its lowest revision, once the
 * txn's revisions were checked against the compaction, so a compaction applied while it reads
 * fails none of its ranges — by its deadline, with the bytes its ranges answered so far, which
 * count together against RANGE_RESPONSE_BYTES_MAX.
 */
export interface TxnReadAt {
  revision: number;
  pin: Pin;
  deadline: number;
  answered: { bytes: number };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function pagedRange(r: RangeRequest, hooks: PagedRangeHooks, txn?: TxnReadAt): Promise<RangeResponse | EtcdError> {
  const span = keySpan(r.key, r.rangeEnd);
  const deadline = txn?.deadline ?? hooks.now() + hooks.timeoutMs();
  const start = hooks.read((mvcc) => {
    const current = txn?.revision ?? mvcc.revision;
    if (r.revision > current) return Errors.futureRevision;
    const revision = r.revision > 0 ? r.revision : current;
    return revision < mvcc.compactRevision && !txn ? Errors.compacted : { current, revision };
  });
  if (isEtcdError(start)) return start;
  const { current, revision } = start;
  const whole = readsWholeSpan(r);
  // Up to the limit and one more (to say there is more), unless a sort or filter needs them all.
  const collect = r.countOnly ? 0 : whole || r.limit <= 0 ? Infinity : r.limit + 1;
  // With a sort and a limit, only the first limit + 1 in the sort's order are kept as pages come.
  const order = sortOrder(r);
  const keep = order && r.limit > 0 ? r.limit + 1 : Infinity;
  const values = !r.keysOnly || r.sortTarget === SortTarget.VALUE;
  const ownPin = txn ? undefined : hooks.pin(revision);
  const pin = ownPin ?? txn!.pin;
  try {
    let kvs: KeyValue[] = [];
    let count = 0;
    let bytes = 0;
    let after: Uint8Array | undefined;
    for (;;) {
      while (hooks.installing()) {
        if (hooks.now() > deadline) return MemberErrors.timeout;
        await sleep(RANGE_INSTALL_WAIT_MS);
      }
      const page: RangePage | EtcdError = hooks.read((mvcc) =>
        mvcc.rangePage(span, revision, after, collect - kvs.length, RANGE_PAGE_KEYS, RANGE_PAGE_BYTES, values)
      );
      if (isEtcdError(page)) return page;
      if (!pin.intact()) return Errors.compacted;
      count += page.live;
      const found = whole ? filtered(r, page.kvs) : page.kvs;
      if (keep === Infinity) {
        for (const kv of found) kvs.push(kv);
        for (const kv of found) bytes += kv.key.length + kv.value.length;
      } else {
        kvs = kvs.concat(found).sort(order).slice(0, keep);
        bytes = kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
      }
      const answered = (txn?.answered.bytes ?? 0) + bytes;
      if (answered > RANGE_RESPONSE_BYTES_MAX) {
        hooks.refused("RANGE_RESPONSE_BYTES_MAX");
        return Errors.responseTooLarge(answered);
      }
      if (page.done) break;
      if (hooks.now() > deadline) return MemberErrors.timeout;
      after = page.last;
      await freeTheEventLoop();
    }
    if (txn) txn.answered.bytes += bytes;
    return finishRange(r, kvs, count, current);
  } finally {
    ownPin?.release();
  }
}

/** What a search found: matches in key order, and the key to go on after when it stopped before the span's end. */
export interface SearchAnswer {
  kvs: KeyValue[];
  next: Bytes | undefined;
  revision: number;
}

/**
 * The live keys of `span` after `after` whose key or value holds `needle`, at most `limit`, looked
 * for a page at a time; each page reads the keys as they are then (a search is not one snapshot).
 */
export async function pagedSearch(span: KeySpan, needle: Bytes, after: Bytes | undefined, limit: number, hooks: PagedRangeHooks): Promise<SearchAnswer | EtcdError> {
  const started = performance.now();
  const kvs: KeyValue[] = [];
  let last = after;
  for (;;) {
    if (hooks.installing()) return MemberErrors.timeout;
    const page = hooks.read((mvcc) => ({ ...mvcc.searchPage(span, needle, last, SEARCH_PAGE_KEYS, SEARCH_PAGE_BYTES), revision: mvcc.revision }));
    if (isEtcdError(page)) return page;
    for (const kv of page.kvs) {
      kvs.push(kv);
      if (kvs.length === limit) return { kvs, next: kv === page.kvs.at(-1) && page.done ? undefined : kv.key, revision: page.revision };
    }
    if (page.done) return { kvs, next: undefined, revision: page.revision };
    last = page.last;
    if (performance.now() - started >= SEARCH_TIME_MS_MAX) return { kvs, next: last, revision: page.revision };
    await freeTheEventLoop();
  }
}
