/**
 * TLS as etcd serves it, with certificates the test makes with openssl: a 3-member cluster with
 * client and peer TLS and client-certificate auth on both sides. etcdctl with --cacert --cert
 * --key writes through one member and reads through another (gRPC over TLS), the JSON gateway
 * answers over HTTPS; a client without a certificate, or with one another CA signed, is refused,
 * and so is etcdctl without one; the peer port refuses plain HTTP, a TLS client without a
 * certificate and a member holding a certificate of another CA. Then --auto-tls: a member makes
 * its own certificate for its hosts, keeps it across a restart, and etcdctl reaches it with
 * --insecure-skip-tls-verify.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type CertFiles, makeCa } from "../../testkit/certs.ts";
import { etcdctl } from "../../testkit/etcdctl.ts";
import { eventually } from "../../testkit/eventually.ts";
import { freePort, type ServerProcess, spawnConcord, tempDir } from "../../testkit/processes.ts";
import { onDeno } from "../../testkit/runtime_pass.ts";

const pem = (f: string) => readFileSync(f, "utf8");
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A fetch over TLS presenting `client` (or no certificate), trusting `ca`; the error's message when it fails. */
async function tlsFetch(url: string, ca: string, client: CertFiles | undefined, body?: string): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const r = await fetch(url, {
      method: body === undefined ? "GET" : "POST", body,
      tls: { ca: pem(ca), ...(client ? { cert: pem(client.cert), key: pem(client.key) } : {}) },
      signal: AbortSignal.timeout(5_000),
    } as RequestInit);
    return { status: r.status, text: await r.text() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test("tls > a cluster with client and peer TLS: etcdctl and JSON with certificates, everyone else refused", async () => {
  const ca = makeCa("cluster-ca");
  const member = ca.issue("member");
  const root = ca.issue("root");
  const intruder = makeCa("other-ca").issue("root");
  const names = ["t1", "t2", "t3"];
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const clientUrls = ports.map((p) => `https://127.0.0.1:${p.client}`);
  const peerUrls = ports.map((p) => `https://127.0.0.1:${p.peer}`);
  const initial = names.map((n, i) => `${n}=${peerUrls[i]}`).join(",");
  const root_dir = tempDir("tls-cluster");
  const members: ServerProcess[] = [];
  try {
    members.push(...await Promise.all(names.map((name, i) => spawnConcord({
      url: clientUrls[i], dataDir: join(root_dir, name), removeDir: false,
      flags: [
        "--name", name, "--data-dir", join(root_dir, name),
        "--listen-client-urls", clientUrls[i], "--advertise-client-urls", clientUrls[i],
        "--listen-peer-urls", peerUrls[i], "--initial-advertise-peer-urls", peerUrls[i],
        "--initial-cluster", initial, "--initial-cluster-token", "tls-test",
        "--cert-file", member.cert, "--key-file", member.key, "--trusted-ca-file", ca.cert, "--client-cert-auth",
        "--peer-cert-file", member.cert, "--peer-key-file", member.key, "--peer-trusted-ca-file", ca.cert, "--peer-client-cert-auth",
      ],
    }))));
    const withCert = ["--cacert", ca.cert, "--cert", root.cert, "--key", root.key];
    // A write needs a leader the members elected over their TLS peer ports: it proves peers admit each other.
    const put = await eventually("a write once a leader is elected", 15_000, async () => {
      const r = await etcdctl([clientUrls[0]], [...withCert, "put", "tls/k", "over-tls"]);
      return /no leader/.test(r.stderr) ? undefined : r;
    });
    assert.equal(put.stdout.trim(), "OK", put.stderr);
    const get = await etcdctl([clientUrls[2]], [...withCert, "get", "tls/k", "--print-value-only"]);
    assert.equal(get.stdout.trim(), "over-tls", get.stderr);
    const health = await etcdctl(clientUrls, [...withCert, "endpoint", "health"]);
    // etcdctl prints health on stderr.
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length ?? 0, 3, health.stdout + health.stderr);

    // The JSON gateway over HTTPS, with the client's certificate.
    const json = await tlsFetch(`${clientUrls[1]}/v3/kv/range`, ca.cert, root, JSON.stringify({ key: b64("tls/k") }));
    assert.ok("status" in json && json.status === 200, JSON.stringify(json));
    assert.equal(Buffer.from(JSON.parse(json.text).kvs[0].value, "base64").toString(), "over-tls");

    // The console and an SSE watch over the same port.
    const page = await tlsFetch(`${clientUrls[1]}/`, ca.cert, root);
    assert.ok("status" in page && page.status === 200 && page.text.includes("console.js"), JSON.stringify(page).slice(0, 300));
    const sse = await fetch(`${clientUrls[1]}/v3/watch?key=${encodeURIComponent(b64("tls/k"))}&start_revision=1`, {
      tls: { ca: pem(ca.cert), cert: pem(root.cert), key: pem(root.key) }, signal: AbortSignal.timeout(5_000),
    } as RequestInit);
    const reader = sse.body!.getReader();
    let events = "";
    while (!events.includes(b64("over-tls"))) {
      const { value, done } = await reader.read();
      if (done) break;
      events += new TextDecoder().decode(value);
    }
    await reader.cancel();
    assert.ok(events.includes(b64("over-tls")), `the SSE watch over TLS sent no event: ${events.slice(0, 300)}`);

    // No certificate, or one another CA signed: refused at the handshake, on the client and the peer port.
    for (const [who, client] of [["no certificate", undefined], ["another CA's certificate", intruder]] as const) {
      const refused = await tlsFetch(`${clientUrls[0]}/v3/kv/range`, ca.cert, client, JSON.stringify({ key: b64("tls/k") }));
      assert.ok("error" in refused, `a client with ${who} was answered: ${JSON.stringify(refused)}`);
      const peer = await tlsFetch(`${peerUrls[0]}/raft/cluster`, ca.cert, client);
      assert.ok("error" in peer, `the peer port answered a caller with ${who}: ${JSON.stringify(peer)}`);
    }
    const noCert = await etcdctl([clientUrls[0]], ["--cacert", ca.cert, "--dial-timeout", "2s", "--command-timeout", "3s", "get", "tls/k"]);
    assert.notEqual(noCert.ended, "exit 0", `etcdctl without a certificate read: ${noCert.stdout}`);
    assert.equal(noCert.stdout, "");
    // Plain HTTP to a TLS peer port is not served.
    const plain = await fetch(`${peerUrls[0].replace("https:", "http:")}/raft/cluster`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, (e: Error) => e.message);
    assert.notEqual(plain, 200);
    assert.ok(typeof plain === "string" || plain >= 400, `plain HTTP to the peer port: ${plain}`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

test("tls > --auto-tls makes a certificate for the member's hosts, keeps it across a restart, and serves etcdctl over it", async () => {
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `https://127.0.0.1:${client}`;
  // Deno's fetch verifies every peer, so peer auto TLS is Bun's; on Deno the peer URL stays plain.
  const peerUrl = `${onDeno ? "http" : "https"}://127.0.0.1:${peer}`;
  const dataDir = tempDir("auto-tls");
  const flags = [
    "--name", "auto", "--data-dir", dataDir, "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
    "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `auto=${peerUrl}`,
    "--auto-tls", ...(onDeno ? [] : ["--peer-auto-tls"]),
  ];
  let running = await spawnConcord({ url: clientUrl, dataDir, removeDir: false, flags });
  try {
    const made = new X509Certificate(readFileSync(join(dataDir, "fixtures/client/cert.pem")));
    assert.match(made.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    const insecure = ["--insecure-skip-tls-verify", "--insecure-transport=false"];
    assert.equal((await etcdctl([clientUrl], [...insecure, "put", "auto/k", "v"])).stdout.trim(), "OK");
    await running.kill9();
    running = await spawnConcord({ url: clientUrl, dataDir, removeDir: true, flags });
    assert.equal(new X509Certificate(readFileSync(join(dataDir, "fixtures/client/cert.pem"))).fingerprint256, made.fingerprint256, "a new certificate after a restart");
    assert.equal((await etcdctl([clientUrl], [...insecure, "get", "auto/k", "--print-value-only"])).stdout.trim(), "v");
  } finally {
    await running.stop();
  }
});
