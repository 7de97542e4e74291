/**
 * The client port serves HTTP/1.1 and HTTP/2 on one port (runtime/client_port.ts), on the runtime
 * CONCORD_TEST_RUNTIME names (Bun unless it says deno): a process of its own
 * (client_port_server.ts) runs the port with small HTTP/1.1 services and the member's own gRPC server as its
 * HTTP/2 sink, and this test talks to it as clients do — keep-alive connections, an SSE stream
 * the client walks away from, gRPC calls, all at once; first packets cut into single bytes; a
 * connection that stalls inside the preface; garbage; no sink; closing with everything open. Then
 * a real member: HTTP/2 is served or closed, never left hanging, and kill -INT with streams open
 * ends it at once.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { after, test } from "node:test";
import { Client, credentials } from "@grpc/grpc-js";
import { CLIENT_PORT_PEEK_BYTES_MAX } from "../../config/limits.ts";
import { classify, H2_PREFACE } from "../../runtime/h2_preface.ts";
import { eventually } from "../../testkit/eventually.ts";
import { freePort, ROOT, type Runtime, startConcord } from "../../testkit/processes.ts";
import { SseStream } from "../../testkit/streams.ts";

const RUNTIME = (process.env.CONCORD_TEST_RUNTIME as Runtime | undefined) ?? "bun";
const SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the port's process ----

interface PortProcess {
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const started: PortProcess[] = [];
after(() => {
  for (const p of started) p.child.kill("SIGKILL");
});

/** Starts the port's process; with `openFilesMax`, under that open-file limit (ulimit -n). */
async function startPort(flags: string[] = [], openFilesMax?: number): Promise<PortProcess> {
  const port = await freePort();
  const bin = `${ROOT}/node_modules/.bin/${RUNTIME}`;
  const script = "tests/runtime/client_port_server.ts";
  const args = [...(RUNTIME === "bun" ? [script] : ["run", "-A", script]), "--port", String(port), ...flags];
  const command = openFilesMax === undefined ? [bin, ...args] : ["bash", "-c", `ulimit -n ${openFilesMax} && exec "$0" "$@"`, bin, ...args];
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const p = { port, child, output: () => out, exited };
  started.push(p);
  await Promise.race([
    eventually(`the port process listening (${RUNTIME})`, 20_000, () => (out.includes("listening on") ? true : undefined)),
    exited.then(() => {
      throw new Error(`the port process exited:\n${out}`);
    }),
  ]);
  return p;
}

async function stats(port: number): Promise<{ sseOpen: number; sseEnded: number; injected: number }> {
  return await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
}

// ---- raw connections ----

/** A TCP connection read into one buffer; reads wait for enough bytes or the end. */
class Raw {
  readonly socket: Socket;
  buffer = Buffer.alloc(0);
  ended = false;
  readonly closed: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.#wake?.();
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((r) =>
      this.socket.once("close", () => {
        this.ended = true;
        this.#wake?.();
        r();
      })
    );
  }

  /** Waits until `ready` holds of the buffer or the connection ends; fails after `timeoutMs`. */
  async until(what: string, timeoutMs: number, ready: (b: Buffer) => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready(this.buffer) && !this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms (have ${JSON.stringify(this.buffer.toString("latin1").slice(0, 200))})`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, left);
      });
    }
  }

  /** The next HTTP/1.1 response's status and body (bodies with Content-Length only). */
  async response(timeoutMs = 5_000): Promise<{ status: number; body: string }> {
    let size = -1;
    await this.until("an HTTP/1.1 response", timeoutMs, (b) => {
      const end = b.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const length = /content-length: *(\d+)/i.exec(b.subarray(0, end).toString("latin1"));
      size = end + 4 + Number(length?.[1] ?? 0);
      return b.length >= size;
    });
    if (size < 0 || this.buffer.length < size) throw new Error(`the connection ended before a whole response: ${JSON.stringify(this.buffer.toString("latin1"))}`);
    const text = this.buffer.subarray(0, size).toString("latin1");
    this.buffer = this.buffer.subarray(size);
    return { status: Number(text.slice(9, 12)), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  }

  /** Writes `data` a byte at a time, `gapMs` apart, so the server sees each byte in its own packet. */
  async trickle(data: Uint8Array, gapMs = 5): Promise<void> {
    for (const byte of data) {
      this.socket.write(Uint8Array.of(byte));
      await sleep(gapMs);
    }
  }
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
const postEcho = (body: string) => `POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** `count` requests one after the other on one connection; every answer must come on it. */
async function keepAlive(port: number, count: number): Promise<void> {
  const raw = new Raw(port);
  for (let i = 0; i < count; i++) {
    const body = `request ${i} ${"x".repeat(i % 50)}`;
    raw.socket.write(postEcho(body));
    const r = await raw.response();
    assert.equal(r.status, 200);
    assert.equal(r.body, body);
    assert.equal(raw.ended, false, `the connection closed after ${i + 1} requests`);
  }
  raw.socket.end();
}

// ---- gRPC through the sink ----

const bytes = (b: Buffer) => b;

function grpcClient(port: number) {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    echo: (b: Buffer) =>
      new Promise<Buffer>((resolve, reject) => client.makeUnaryRequest("/test.Echo/Echo", bytes, bytes, b, (e, v) => (e ? reject(e) : resolve(v!)))),
    count: (n: number) =>
      new Promise<number[]>((resolve, reject) => {
        const call = client.makeServerStreamRequest("/test.Echo/Count", bytes, bytes, Buffer.from([n]));
        const got: number[] = [];
        call.on("data", (d: Buffer) => got.push(d[0]));
        call.on("end", () => resolve(got));
        call.on("error", reject);
      }),
    close: () => client.close(),
  };
}

/** An SSE stream read until `events` have come, then dropped by the client. */
async function sseThenAbort(port: number, events: number): Promise<void> {
  const abort = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/sse`, { signal: abort.signal });
  const reader = response.body!.getReader();
  let text = "";
  while ((text.match(/\n\n/g) ?? []).length < events) {
    const { value, done } = await reader.read();
    assert.equal(done, false, "the SSE stream ended before the client left");
    text += new TextDecoder().decode(value);
  }
  abort.abort();
  await reader.cancel().catch(() => {});
}

// ---- tests ----

test("shared port > classify: HTTP/1.1 at the first byte off the preface, HTTP/2 at its last", () => {
  assert.equal(H2_PREFACE.length, CLIENT_PORT_PEEK_BYTES_MAX);
  const bytesOf = (s: string) => new TextEncoder().encode(s);
  assert.equal(classify(bytesOf("G")), "http1");
  assert.equal(classify(bytesOf("P")), undefined);
  assert.equal(classify(bytesOf("PO")), "http1");
  assert.equal(classify(bytesOf("PUT / HTTP/1.1\r\n")), "http1");
  assert.equal(classify(bytesOf("PRI * HTTP/1.1\r\n")), "http1");
  assert.equal(classify(new Uint8Array(0)), undefined);
  for (let n = 1; n < H2_PREFACE.length; n++) assert.equal(classify(H2_PREFACE.subarray(0, n)), undefined, `${n} bytes`);
  assert.equal(classify(H2_PREFACE), "h2");
  assert.equal(classify(Buffer.concat([H2_PREFACE, SETTINGS_FRAME])), "h2");
  assert.equal(classify(Uint8Array.of(0x16, 0x03, 0x01)), "http1", "TLS goes to the HTTP/1.1 server, which refuses it");
});

test(`shared port > keep-alive HTTP/1.1, an SSE stream and gRPC calls at once on one port (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc"]);
  const grpc = grpcClient(p.port);
  try {
    await Promise.all([
      keepAlive(p.port, 200),
      keepAlive(p.port, 200),
      sseThenAbort(p.port, 10),
      (async () => {
        for (let i = 0; i < 100; i++) assert.deepEqual(await grpc.echo(Buffer.from(`call ${i}`)), Buffer.from(`call ${i}`));
      })(),
      (async () => {
        for (let i = 0; i < 10; i++) assert.deepEqual(await grpc.count(50), [...Array(50).keys()]);
      })(),
    ]);
    // The client left the stream: the handler must hear of it and end it.
    await eventually("the SSE stream ended on the server", 5_000, async () => {
      const s = await stats(p.port);
      return s.sseEnded === 1 && s.sseOpen === 0 ? true : undefined;
    });
    assert.equal((await stats(p.port)).injected, 1, "the grpc-js client's one connection went to the sink");
  } finally {
    grpc.close();
  }
});

test(`shared port > large bodies both ways, and a client that stops reading, lose and hold up nothing (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc"]);
  const upload = Buffer.alloc(8 * 1024 * 1024, "etcd");
  const echoed = Buffer.from(await (await fetch(`http://127.0.0.1:${p.port}/echo`, { method: "POST", body: upload })).arrayBuffer());
  assert.ok(echoed.equals(upload), `8 MiB echoed as ${echoed.length} bytes, or changed`);

  // 32 MiB to a client that reads nothing for a second: the pipe must keep every byte meanwhile
  // (the kernel holds far less), and serve others.
  const size = 32 * 1024 * 1024;
  const slow = new Raw(p.port);
  slow.socket.pause();
  slow.socket.write(get(`/big?bytes=${size}`));
  await sleep(1_000);
  const others = new Raw(p.port);
  others.socket.write(get("/hello"));
  assert.deepEqual(await others.response(), { status: 200, body: "hello" });
  slow.socket.resume();
  await slow.until("32 MiB", 30_000, (b) => b.indexOf("\r\n\r\n") >= 0 && b.length >= b.indexOf("\r\n\r\n") + 4 + size);
  const body = slow.buffer.subarray(slow.buffer.indexOf("\r\n\r\n") + 4);
  assert.equal(body.length, size);
  for (let i = 0; i < size; i += 4093) assert.equal(body[i], i % 251, `byte ${i}`);
  slow.socket.destroy();
  others.socket.destroy();
});

test(`shared port > a quiet stream and a quiet keep-alive connection outlive Bun's default idle timeout of 10 s (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "none"]);
  const quiet = new Raw(p.port);
  quiet.socket.write(get("/hello"));
  await quiet.response();
  const stream = new Raw(p.port);
  stream.socket.write(get("/sse?every_ms=12000"));
  await stream.until("the first event", 5_000, (b) => b.includes("data: 0"));
  await stream.until("the second event, 12 s later", 20_000, (b) => b.includes("data: 1"));
  assert.equal(stream.ended, false);
  quiet.socket.write(get("/hello"));
  assert.deepEqual(await quiet.response(), { status: 200, body: "hello" });
  stream.socket.destroy();
  quiet.socket.destroy();
});

test(`shared port > a burst of connections while the main thread is busy is served whole, none refused (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "none"]);
  const busy = new Raw(p.port);
  busy.socket.write(get("/block?ms=1500"));
  await sleep(200);
  // More than the inner server's accept queue (512 on Bun) arrive while nothing is accepted.
  const burst = Array.from({ length: 1_500 }, () => new Raw(p.port));
  for (const raw of burst) raw.socket.write(get("/hello"));
  const answers = await Promise.all(burst.map((raw) => raw.response(20_000).catch((e: Error) => ({ status: 0, body: e.message }))));
  assert.deepEqual(answers.filter((a) => a.status !== 200).slice(0, 3), [], "refused or lost in the burst");
  assert.equal((await busy.response()).body, "unblocked");
  for (const raw of [busy, ...burst]) raw.socket.destroy();
});

test(`shared port > past the connections its open-file limit allows, new ones are closed and the process lives on (${RUNTIME})`, async () => {
  // (1,600 − 1,000 kept back) / 3 descriptors each = 200 connections; 600 would need 1,800.
  const p = await startPort(["--sink", "grpc"], 1_600);
  const many = Array.from({ length: 600 }, () => new Raw(p.port));
  for (const raw of many) raw.socket.write(get("/sse?every_ms=60000"));
  await Promise.all(many.map((raw) => raw.until("an event or a close", 20_000, (b) => b.includes("data: 0")).catch(() => {})));
  const held = many.filter((raw) => raw.buffer.includes("data: 0") && !raw.ended).length;
  const closed = many.filter((raw) => raw.ended && raw.buffer.length === 0).length;
  assert.equal(held, 200, `${held} held, ${closed} closed`);
  assert.equal(held + closed, 600);
  for (const raw of many) raw.socket.destroy();
  await eventually("the streams ended on the server", 10_000, async () => {
    try {
      return (await stats(p.port)).sseOpen === 0 ? true : undefined;
    } catch {
      return undefined; // the budget is still spent until the closes are seen
    }
  });
  await keepAlive(p.port, 10);
  const grpc = grpcClient(p.port);
  assert.deepEqual(await grpc.echo(Buffer.from("after")), Buffer.from("after"));
  grpc.close();
  assert.equal(p.child.exitCode, null, `the port's process ended:\n${p.output()}`);
});

test(`shared port > a first packet cut into single bytes is still told apart (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc"]);
  const http1 = new Raw(p.port);
  await http1.trickle(Buffer.from(get("/hello")));
  assert.deepEqual(await http1.response(), { status: 200, body: "hello" });
  // POST begins as the preface does: HTTP/1.1 is told at its second byte.
  await http1.trickle(Buffer.from(postEcho("x")));
  assert.deepEqual(await http1.response(), { status: 200, body: "x" });
  http1.socket.end();

  // The sink must get the preface whole: the gRPC server answers a valid one with its SETTINGS frame.
  const h2 = new Raw(p.port);
  await h2.trickle(H2_PREFACE, 10);
  h2.socket.write(SETTINGS_FRAME);
  await h2.until("the server's SETTINGS frame", 5_000, (b) => b.length >= 9);
  assert.equal(h2.buffer[3], 4, `a SETTINGS frame first, got ${h2.buffer.subarray(0, 9).toString("hex")}`);
  assert.equal(h2.ended, false);
  h2.socket.destroy();
  assert.equal((await stats(p.port)).injected, 1);
});

test(`shared port > a connection stalled inside the preface holds up nobody and is closed after the peek timeout (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc", "--peek-timeout-ms", "3000"]);
  const stalled = new Raw(p.port);
  stalled.socket.write(H2_PREFACE.subarray(0, 16));
  const silent = new Raw(p.port);
  const opened = Date.now();
  const grpc = grpcClient(p.port);
  try {
    await keepAlive(p.port, 20);
    assert.deepEqual(await grpc.echo(Buffer.from("past the stall")), Buffer.from("past the stall"));
    assert.equal(stalled.ended, false, "served the others only once the stalled connection was gone");
    await Promise.race([Promise.all([stalled.closed, silent.closed]), sleep(10_000)]);
    assert.ok(stalled.ended && silent.ended, "the stalled and the silent connections were not closed");
    assert.ok(Date.now() - opened >= 2_900, `closed after ${Date.now() - opened} ms, before the peek timeout`);
    assert.equal(stalled.buffer.length, 0, "a stalled connection is closed without an answer");
  } finally {
    grpc.close();
  }
});

test(`shared port > garbage gets a 400 or a closed connection, and nothing else breaks (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc"]);
  const bystander = new Raw(p.port);
  bystander.socket.write(get("/hello"));
  assert.equal((await bystander.response()).status, 200);
  for (const garbage of [Buffer.from("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not TLS at all\r\n\r\n"), Buffer.from("HELLO THERE\r\n\r\n"), Buffer.from("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")]) {
    const raw = new Raw(p.port);
    raw.socket.write(garbage);
    await Promise.race([raw.closed, raw.until("an answer", 5_000, (b) => b.includes("\r\n\r\n"))]);
    const answer = raw.buffer.toString("latin1");
    // The near-preface goes to the HTTP/1.1 server, which refuses it too.
    assert.ok(answer === "" || /^HTTP\/1\.[01] 4\d\d/.test(answer), `answered ${JSON.stringify(answer.slice(0, 100))}`);
    raw.socket.destroy();
  }
  bystander.socket.write(get("/hello"));
  assert.deepEqual(await bystander.response(), { status: 200, body: "hello" });
  const grpc = grpcClient(p.port);
  assert.deepEqual(await grpc.echo(Buffer.from("still")), Buffer.from("still"));
  grpc.close();
});

test(`shared port > without a sink an HTTP/2 connection is closed at once; HTTP/1.1 is served (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "none"]);
  const h2 = new Raw(p.port);
  h2.socket.write(Buffer.concat([H2_PREFACE, SETTINGS_FRAME]));
  await Promise.race([h2.closed, sleep(5_000)]);
  assert.equal(h2.ended, true, "the HTTP/2 connection was left open");
  assert.equal(h2.buffer.length, 0);
  await keepAlive(p.port, 10);
});

test(`shared port > closing the port ends every connection, and nothing is left running (${RUNTIME})`, async () => {
  const p = await startPort(["--sink", "grpc"]);
  const idle = new Raw(p.port);
  idle.socket.write(get("/hello"));
  await idle.response();
  const abort = new AbortController();
  const sse = await fetch(`http://127.0.0.1:${p.port}/sse`, { signal: abort.signal });
  const reader = sse.body!.getReader();
  await reader.read();
  const grpc = grpcClient(p.port);
  await grpc.echo(Buffer.from("open"));
  const undecided = new Raw(p.port);
  undecided.socket.write("P");
  await eventually("the SSE stream open", 5_000, async () => ((await stats(p.port)).sseOpen === 1 ? true : undefined));

  const t0 = Date.now();
  p.child.kill("SIGTERM");
  // The process never calls exit: it ends only if closing left nothing behind.
  const code = await Promise.race([p.exited, sleep(10_000).then(() => "still running")]);
  assert.equal(code, 0, `the port's process after close: ${code}\n${p.output()}`);
  assert.ok(p.output().includes("closed"));
  await Promise.race([Promise.all([idle.closed, undecided.closed]), sleep(5_000)]);
  assert.ok(idle.ended && undecided.ended, "a client connection outlived the port");
  const drained = (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return true;
  })();
  assert.ok(await Promise.race([drained, sleep(5_000).then(() => false)]), "the SSE stream outlived the port");
  console.log(`shared port: closed with streams open in ${Date.now() - t0} ms (${RUNTIME})`);
  abort.abort();
  grpc.close();
});

test(`shared port > a port killed before it could close leaves its sockets' directory, and the next one started removes it (${RUNTIME})`, async () => {
  const socketDirs = (pid: number) => readdirSync(tmpdir()).filter((name) => name.startsWith(`concord-client-port-${pid}-`));
  const killed = await startPort(["--sink", "none"]);
  const pid = killed.child.pid!;
  assert.equal(socketDirs(pid).length, 1);
  killed.child.kill("SIGKILL");
  await killed.exited;
  assert.equal(socketDirs(pid).length, 1, "SIGKILL leaves it");
  const next = await startPort(["--sink", "none"]);
  assert.deepEqual(socketDirs(pid), [], "the next port removed it");
  assert.equal(socketDirs(next.child.pid!).length, 1, "and kept its own");
  next.child.kill("SIGTERM");
  assert.equal(await next.exited, 0);
  assert.deepEqual(socketDirs(next.child.pid!), [], "a port that closes removes its own");
});

test(`shared port > a member: HTTP/2 is served or closed, never left hanging, and kill -INT with streams open ends it at once (${RUNTIME})`, async () => {
  const member = await startConcord({ name: "shared-port", runtime: RUNTIME });
  try {
    const h2 = new Raw(Number(new URL(member.url).port));
    h2.socket.write(Buffer.concat([H2_PREFACE, SETTINGS_FRAME]));
    // A member with gRPC answers with its SETTINGS frame; one without closes the connection.
    await h2.until("SETTINGS or a close", 5_000, (b) => b.length >= 9);
    assert.ok(h2.ended || h2.buffer[3] === 4, `neither closed nor answered: ${h2.buffer.toString("hex")}`);
    h2.socket.destroy();

    const watch = await SseStream.open(member.url, "prefix=shared/");
    const put = await fetch(`${member.url}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: btoa("shared/a"), value: btoa("1") }) });
    assert.equal(put.status, 200);
    await eventually("the put's event on the SSE watch", 5_000, async () => {
      const e = await watch.next();
      return e?.id ? e : undefined;
    });
    const idle = new Raw(Number(new URL(member.url).port));
    idle.socket.write(get("/version"));
    assert.equal((await idle.response()).status, 200);

    const t0 = Date.now();
    member.child.kill("SIGINT");
    await Promise.race([new Promise((r) => member.child.once("exit", r)), sleep(5_000)]);
    const tookMs = Date.now() - t0;
    assert.notEqual(member.child.exitCode ?? member.child.signalCode, null, "the member was still running 5 s after SIGINT");
    assert.equal(member.child.exitCode, 0);
    assert.ok(tookMs < 3_000, `exit took ${tookMs} ms`);
    assert.equal(await watch.next(5_000), undefined, "the watch stream ended with the member");
    watch.close();
    await Promise.race([idle.closed, sleep(2_000)]);
    assert.ok(idle.ended);
  } finally {
    await member.stop();
  }
});
