/**
 * etcd's protos as grpc-js service definitions: the .proto files beside this module (the v3 API's
 * three, and the lock and election services etcd serves beside it), embedded
 * as text (so a single-file build carries them) and parsed once, when first asked for — with the
 * libraries that parse them loaded only then (importing them took ~100 ms of a member's start).
 *
 * Messages are plain objects with etcd's own field names (keepCase: without it cluster_id,
 * create_revision… silently vanish on the wire), 64-bit integers as decimal strings (lease and
 * member ids use all 64 bits), enums as numbers, bytes as Buffers, and fields left unset absent.
 *
 * Owns: loading the protos and the message shapes they produce. Never: what a call does.
 */
import type { ServiceDefinition } from "@grpc/proto-loader";
import authProto from "./protos/auth.proto" with { type: "text" };
import kvProto from "./protos/kv.proto" with { type: "text" };
import rpcProto from "./protos/rpc.proto" with { type: "text" };
import electionProto from "./protos/v3election.proto" with { type: "text" };
import lockProto from "./protos/v3lock.proto" with { type: "text" };

/** A decoded message: etcd's field names, int64 as strings, bytes as Buffer, unset fields absent. */
export type ProtoMessage = { readonly [field: string]: unknown };

async function load() {
  const [{ fromJSON }, { default: protobuf }] = await Promise.all([import("@grpc/proto-loader"), import("protobufjs")]);
  const root = new protobuf.Root();
  // Files import others by name; parsing them into one root, imported ones first, resolves them.
  for (const text of [kvProto, authProto, rpcProto, lockProto, electionProto]) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  return fromJSON(root.toJSON(), { keepCase: true, longs: String, enums: Number, defaults: false, oneofs: false });
}

/** etcd's services by their short names, and their full names (package and service). */
export const SERVICE_FULL_NAMES = {
  KV: "etcdserverpb.KV", Watch: "etcdserverpb.Watch", Lease: "etcdserverpb.Lease", Cluster: "etcdserverpb.Cluster",
  Maintenance: "etcdserverpb.Maintenance", Auth: "etcdserverpb.Auth", Lock: "v3lockpb.Lock", Election: "v3electionpb.Election",
} as const;
export type EtcdServiceName = keyof typeof SERVICE_FULL_NAMES;
const SERVICE_NAMES = Object.keys(SERVICE_FULL_NAMES) as EtcdServiceName[];

let parsed: Record<EtcdServiceName, ServiceDefinition> | undefined;
let loading: Promise<Record<EtcdServiceName, ServiceDefinition>> | undefined;

/**
 * etcd's services, as grpc-js's Server.addService and makeGenericClientConstructor take them —
 * loaded and parsed on first use: together ~200 ms, which a member's start would otherwise wait for.
 */
export function loadEtcdServices(): Promise<Record<EtcdServiceName, ServiceDefinition>> {
  loading ??= load().then((definitions) => {
    const service = (name: EtcdServiceName): ServiceDefinition => {
      const found = definitions[SERVICE_FULL_NAMES[name]];
      if (found === undefined || "format" in found) throw new Error(`grpc: the protos have no service ${SERVICE_FULL_NAMES[name]}`);
      return found as ServiceDefinition;
    };
    parsed = Object.fromEntries(SERVICE_NAMES.map((name) => [name, service(name)])) as Record<EtcdServiceName, ServiceDefinition>;
    return parsed;
  });
  return loading;
}

/** etcd's services, once loadEtcdServices() has loaded them (every gRPC connection waits for that first). */
export function etcdServices(): Record<EtcdServiceName, ServiceDefinition> {
  if (!parsed) throw new Error("grpc: etcd's protos are not loaded yet (loadEtcdServices)");
  return parsed;
}
