/**
 * etcd's errors: the gRPC status code and the exact message etcd gives, as values.
 *
 * Owns: the catalogue of errors a request can end in, in etcd's own words. Never: HTTP statuses
 * (the surfaces map codes to them) or throwing — an EtcdError is returned, exceptions are for bugs.
 */
import { LEASES_MAX, RANGE_RESPONSE_BYTES_MAX } from "../config/limits.ts";

export enum GrpcCode {
  OK = 0, CANCELLED = 1, UNKNOWN = 2, INVALID_ARGUMENT = 3, DEADLINE_EXCEEDED = 4, NOT_FOUND = 5,
  ALREADY_EXISTS = 6, PERMISSION_DENIED = 7, RESOURCE_EXHAUSTED = 8, FAILED_PRECONDITION = 9,
  ABORTED = 10, OUT_OF_RANGE = 11, UNIMPLEMENTED = 12, INTERNAL = 13, UNAVAILABLE = 14,
  DATA_LOSS = 15, UNAUTHENTICATED = 16,
}

export class EtcdError {
  constructor(readonly code: GrpcCode, readonly message: string) {}
}

export function isEtcdError(x: unknown): x is EtcdError {
  return x instanceof EtcdError;
}

/** Go's names of the gRPC codes (codes.Code's String), by code. */
export const GO_CODE_NAMES: readonly string[] = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
  "Unauthenticated",
];

/** An error as grpc-go's status error prints it, where etcd puts one in a message's text (a watch's cancel reason). */
export function grpcErrorText(e: EtcdError): string {
  return `rpc error: code = ${GO_CODE_NAMES[e.code]} desc = ${e.message}`;
}

const invalid = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message);

export const Errors = {
  emptyKey: invalid("etcdserver: key is not provided"),
  keyNotFound: invalid("etcdserver: key not found"),
  valueProvided: invalid("etcdserver: value is provided"),
  leaseProvided: invalid("etcdserver: lease is provided"),
  tooManyOps: invalid("etcdserver: too many operations in txn request"),
  duplicateKey: invalid("etcdserver: duplicate key given in txn request"),
  compacted: new EtcdError(GrpcCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  futureRevision: new EtcdError(GrpcCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  leaseNotFound: new EtcdError(GrpcCode.NOT_FOUND, "etcdserver: requested lease not found"),
  leaseExists: new EtcdError(GrpcCode.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  leaseTtlTooLarge: new EtcdError(GrpcCode.OUT_OF_RANGE, "etcdserver: too large lease TTL"),
  memberNotFound: new EtcdError(GrpcCode.NOT_FOUND, "etcdserver: member not found"),
  requestTooLarge: invalid("etcdserver: request is too large"),
  /** Concord's own (etcd has no bound): a grant past LEASES_MAX. */
  tooManyLeases: new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, `concord: a cluster holds at most ${LEASES_MAX} leases`),
  /** A read whose answer would pass RANGE_RESPONSE_BYTES_MAX, in grpc-go's words for a message too large to send. */
  responseTooLarge: (bytes: number) =>
    new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${bytes} vs. ${RANGE_RESPONSE_BYTES_MAX})`),
} as const;
