/**
 * Test support: one Concord member in the test's own process, alone in its cluster (so it leads at
 * once), serving etcd's gRPC services (grpc/server.ts) on a port of 127.0.0.1 bound for the test —
 * as server.ts will serve them on the client port once that port speaks HTTP/2.
 *
 * Owns: the member's data dir, the server's port, and closing both. Never: asserts anything.
 */
import { rmSync } from "node:fs";
import { type Server, ServerCredentials } from "@grpc/grpc-js";
import { createGrpcServer } from "../grpc/server.ts";
import { Member } from "../member/member.ts";
import { freePort, tempDir } from "./processes.ts";

export interface GrpcMember {
  /** host:port, as etcdctl's --endpoints and grpc-js take it. */
  readonly address: string;
  readonly dataDir: string;
  readonly member: Member;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startGrpcMember(name = "grpc"): Promise<GrpcMember> {
  const dir = tempDir("grpc");
  const [port, peerPort] = [await freePort(), await freePort()];
  const peer = `http://127.0.0.1:${peerPort}`;
  const member = await Member.open({
    name, dataDir: dir, peerUrls: [peer], clientUrls: [`http://127.0.0.1:${port}`], clusterToken: "grpc-test",
    initialCluster: [{ name, peerUrls: [peer] }], initialClusterState: "new",
    heartbeatMs: 100, electionMs: 1000, snapshotCount: 10_000, log: () => {},
  });
  await member.until(() => member.status().leader !== 0n, 5_000);
  const server = createGrpcServer(member);
  const address = `127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()))
  );
  return {
    address,
    dataDir: dir,
    member,
    server,
    close: async () => {
      server.forceShutdown();
      await member.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
