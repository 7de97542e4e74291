/**
 * etcd's protos as grpc-js service definitions: the three .proto files beside this module, embedded
 * as text (so a single-file build carries them) and parsed once.
 *
 * Messages are plain objects with etcd's own field names (keepCase: without it cluster_id,
 * create_revision… silently vanish on the wire), 64-bit integers as decimal strings (lease and
 * member ids use all 64 bits), enums as numbers, bytes as Buffers, and fields left unset absent.
 *
 * Owns: loading the protos and the message shapes they produce. Never: what a call does.
 */
import { fromJSON, type ServiceDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import authProto from "./protos/auth.proto" with { type: "text" };
import kvProto from "./protos/kv.proto" with { type: "text" };
import rpcProto from "./protos/rpc.proto" with { type: "text" };

/** A decoded message: etcd's field names, int64 as strings, bytes as Buffer, unset fields absent. */
export type ProtoMessage = { readonly [field: string]: unknown };

function load() {
  const root = new protobuf.Root();
  // rpc.proto imports the other two by name; parsing them into one root first resolves them.
  for (const text of [kvProto, authProto, rpcProto]) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  return fromJSON(root.toJSON(), { keepCase: true, longs: String, enums: Number, defaults: false, oneofs: false });
}

const definitions = load();

function service(name: string): ServiceDefinition {
  const found = definitions[`etcdserverpb.${name}`];
  if (found === undefined || "format" in found) throw new Error(`grpc: rpc.proto has no service ${name}`);
  return found as ServiceDefinition;
}

/** etcd's services, as grpc-js's Server.addService and makeGenericClientConstructor take them. */
export const services = {
  KV: service("KV"),
  Watch: service("Watch"),
  Lease: service("Lease"),
  Cluster: service("Cluster"),
  Maintenance: service("Maintenance"),
  Auth: service("Auth"),
};
