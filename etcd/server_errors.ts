/**
 * The errors a request can meet in the member runtime rather than in the store, in etcd's words.
 *
 * Owns: their codes and messages. Never: decides when they happen.
 */
import { EtcdError, GrpcCode } from "./errors.ts";

const unavailable = (message: string) => new EtcdError(GrpcCode.UNAVAILABLE, message);

export const Errors = {
  tooManyRequests: new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
  noLeader: unavailable("etcdserver: no leader"),
  leaderChanged: unavailable("etcdserver: leader changed"),
  timeout: unavailable("etcdserver: request timed out"),
  stopped: unavailable("etcdserver: server stopped"),
  /** A learner serves only serializable reads and status; every surface refuses the rest with this. */
  notForLearner: unavailable("etcdserver: rpc not supported for learner"),
} as const;
