/**
 * etcd's gRPC API for one member: a grpc-js Server with etcd's services, limited as etcd's is,
 * handed the connections someone else accepted (grpcConnections: the client port gives it those
 * that speak HTTP/2) or bound on its own (`bindAsync`, for tests).
 *
 * Owns: which services are served and the server's options. Never: listens by itself, or serves
 * anything but gRPC.
 */
import type { Duplex } from "node:stream";
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import { GRPC_OVERHEAD_BYTES, REQUEST_BYTES_MAX } from "../config/limits.ts";
import type { ApiMember } from "../member/client_api.ts";
import { clusterService } from "./cluster.ts";
import { kvService } from "./kv.ts";
import { leaseService } from "./lease.ts";
import { keepAliveCall } from "./lease_keepalive.ts";
import { maintenanceService } from "./maintenance.ts";
import { services } from "./protos.ts";
import { watchService } from "./watch.ts";

/** etcd's server options: it receives a request of max-request-bytes plus gRPC's overhead, and sends anything. */
export const GRPC_SERVER_OPTIONS: ServerOptions = {
  "grpc.max_receive_message_length": REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES,
  "grpc.max_send_message_length": 2 ** 31 - 1,
};

export function createGrpcServer(member: ApiMember): Server {
  const server = new Server(GRPC_SERVER_OPTIONS);
  server.addService(services.KV, kvService(member));
  server.addService(services.Lease, { ...leaseService(member), LeaseKeepAlive: keepAliveCall(member) });
  server.addService(services.Watch, watchService(member));
  server.addService(services.Cluster, clusterService(member));
  server.addService(services.Maintenance, maintenanceService(member));
  return server;
}

/** The member's gRPC services as a sink for accepted connections, and their end. */
export interface GrpcConnections {
  /** Takes over a connection that speaks HTTP/2 (cleartext, as etcd's --listen-client-urls http://). */
  injectConnection(socket: Duplex): void;
  /** Ends every call and connection at once: watch and keep-alive streams never end by themselves. */
  close(): void;
}

export function grpcConnections(member: ApiMember): GrpcConnections {
  const server = createGrpcServer(member);
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  return {
    injectConnection: (socket) => injector.injectConnection(socket),
    close: () => server.forceShutdown(),
  };
}
