/**
 * etcd's gRPC API for one member: etcd's services on our own HTTP/2 (h2/), each method routed by
 * its path, limited as etcd's server is, served on the connections someone else accepted (the
 * client port hands over those that speak HTTP/2).
 *
 * Why not grpc-js's server: measured on Bun, node:http2 and grpc-js took ~36 µs of the main
 * thread's ~72 µs per Put (bench/README.md); the same calls on h2/ take a fraction of that.
 * grpc-js stays the test suite's client.
 *
 * Owns: which services are served, their routes, the receive limit, and closing every connection.
 * Never: listens by itself, or serves anything but gRPC.
 */
import type { RefusingLimit } from "../metrics/limit_refusals.ts";
import { GRPC_RECEIVE_BYTES_MAX } from "../config/limits.ts";
import { EtcdError, GO_CODE_NAMES, GrpcCode } from "../etcd/errors.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { ApiMember } from "../member/client_api.ts";
import type { ByteStream } from "../runtime/byte_stream.ts";
import { type CallCounter, callOpener, type Router, type ServedMethod, type ServiceImplementation } from "./calls.ts";
import { authService } from "./auth.ts";
import { clusterService } from "./cluster.ts";
import { H2Connection } from "./h2/connection.ts";
import { kvService } from "./kv.ts";
import { leaseService } from "./lease.ts";
import { keepAliveCall } from "./lease_keepalive.ts";
import { maintenanceService } from "./maintenance.ts";
import { electionService } from "./election.ts";
import { lockService } from "./lock.ts";
import { etcdServices, type EtcdServiceName, loadEtcdServices, SERVICE_FULL_NAMES } from "./protos.ts";
import { watchService } from "./watch.ts";

/** Every method of etcd's services, by path: what it does and its codec. Throws on a mismatch with the protos (a bug). */
export function routes(member: ApiMember): Router {
  const services = etcdServices();
  const implementations: Record<EtcdServiceName, ServiceImplementation> = {
    KV: kvService(member),
    Lease: { ...leaseService(member), LeaseKeepAlive: keepAliveCall(member) },
    Watch: watchService(member),
    Cluster: clusterService(member),
    Maintenance: maintenanceService(member),
    Auth: authService(member),
    Lock: lockService(member),
    Election: electionService(member),
  };
  const byPath = new Map<string, ServedMethod>();
  for (const [service, definition] of Object.entries(services)) {
    const implementation = implementations[service as EtcdServiceName];
    for (const [name, m] of Object.entries(definition)) {
      const method = implementation[name];
      if (!method) continue;
      const kind = m.requestStream ? "bidiStream" : m.responseStream ? "serverStream" : "unary";
      if (method.kind !== kind) throw new Error(`grpc: ${m.path} is ${kind} in rpc.proto, not ${method.kind}`);
      byPath.set(m.path, {
        method,
        decode: m.requestDeserialize as ServedMethod["decode"],
        encode: m.responseSerialize as ServedMethod["encode"],
      });
    }
  }
  const known = new Set(
    Object.keys(services).filter((s) => Object.keys(implementations[s as EtcdServiceName]).length > 0).map((s) => SERVICE_FULL_NAMES[s as EtcdServiceName] as string),
  );
  return (path) => {
    const served = byPath.get(path);
    if (served) return served;
    // grpc-go's words for a path it cannot route.
    const match = /^\/([^/]*)\/([^/]*)$/.exec(path);
    if (!match) return new EtcdError(GrpcCode.UNIMPLEMENTED, `malformed method name: ${JSON.stringify(path)}`);
    const [, service, method] = match;
    if (!known.has(service)) return new EtcdError(GrpcCode.UNIMPLEMENTED, `unknown service ${service}`);
    return new EtcdError(GrpcCode.UNIMPLEMENTED, `unknown method ${method} for service ${service}`);
  };
}

/** etcd's gRPC call counters (go-grpc-prometheus' names and labels; a code by Go's name). */
function callCounter(metrics: Metrics): CallCounter {
  const started = metrics.counter("grpc_server_started_total", "Total number of RPCs started on the server.", true);
  const handled = metrics.counter("grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure.", true);
  return {
    started: (call) => started.inc(call),
    handled: (call, code) => handled.inc({ ...call, grpc_code: GO_CODE_NAMES[code] }),
  };
}

/** The member's gRPC services as a sink for accepted connections, and their end. */
export interface GrpcConnections {
  /** Takes over a connection that speaks HTTP/2 (cleartext, as etcd's --listen-client-urls http://), its preface unread. */
  injectConnection(socket: ByteStream): void;
  /** Ends every call and connection at once: watch and keep-alive streams never end by themselves. */
  close(): void;
}

export function grpcConnections(member: ApiMember): GrpcConnections {
  // Routed once the first connection comes: a member no gRPC client calls never loads the protos.
  let route: Router | undefined;
  const counted = callCounter(member.metrics);
  const open = new Set<H2Connection>();
  const refused = (limit: RefusingLimit) => member.refusals.count(limit);
  const serve = (socket: ByteStream, router: Router) => {
    const connection: H2Connection = new H2Connection(socket, callOpener(router, GRPC_RECEIVE_BYTES_MAX, { refused, counted }), () => open.delete(connection), refused);
    open.add(connection);
  };
  return {
    injectConnection: (socket) => {
      if (route) return serve(socket, route);
      // The first connections wait, unread, for the protos to load.
      socket.pause();
      let gone = false;
      socket.onClose = () => (gone = true);
      loadEtcdServices().then(() => {
        route ??= routes(member);
        if (gone) return;
        socket.onClose = undefined;
        serve(socket, route);
        socket.resume();
      }, (e) => {
        console.error("concord: grpc: etcd's protos could not be loaded:", e);
        socket.end();
      });
    },
    close: () => {
      for (const connection of open) connection.close();
      open.clear();
    },
  };
}
