/**
 * What a call can fail with, typed: etcd's own errors (its gRPC code, by number and by name, and
 * its message, as etcd's JSON gateway sends them), and the client's (no member reachable in time).
 *
 * Owns: the error type and which errors another member could answer differently. Never: retries.
 */

/** gRPC's codes, by the names etcd's clients print. */
export const CODE_NAMES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
  "Unauthenticated",
] as const;
export type CodeName = typeof CODE_NAMES[number];

export const Code = Object.fromEntries(CODE_NAMES.map((name, i) => [name, i])) as Record<CodeName, number>;

/**
 * etcd's errors that another member, or a moment, may answer otherwise, by their text: its lock
 * and election services send every error as Unknown, so the client gives these their own code back.
 */
const UNAVAILABLE_MESSAGES = new Set([
  "etcdserver: no leader", "etcdserver: leader changed", "etcdserver: request timed out", "etcdserver: server stopped",
  "etcdserver: request timed out, possibly due to previous leader failure", "etcdserver: request timed out, possibly due to connection lost",
]);

/** The code etcd's own services give an error, where its lock and election services said Unknown. */
export const codeOf = (code: number, message: string): number => (code === 2 && UNAVAILABLE_MESSAGES.has(message) ? 14 : code);

export class EtcdError extends Error {
  override readonly name: string = "EtcdError";
  /** The code's name ("Unavailable", "InvalidArgument" …). */
  readonly codeName: CodeName;

  constructor(
    /** gRPC's code, as etcd answers it. */
    readonly code: number,
    message: string,
    /** The member's URL that answered (or could not be reached). */
    readonly endpoint = "",
  ) {
    super(message);
    this.codeName = CODE_NAMES[code] ?? "Unknown";
  }

  /** Whether another member (or this one, a moment later) may answer otherwise: it is down, leaderless or busy. */
  get transient(): boolean {
    return this.code === Code.Unavailable || this.code === Code.DeadlineExceeded;
  }
}

/** A lock held through `lockKey` was lost (its key deleted, or its lease expired) before a fenced write. */
export class LockLostError extends EtcdError {
  override readonly name: string = "LockLostError";

  constructor(readonly lockKey: string) {
    super(Code.FailedPrecondition, `concord client: the lock ${lockKey} is no longer held`);
  }
}
