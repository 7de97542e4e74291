// `npm run cluster -- [--members N] [--data-dir-base DIR] [--client-ports LIST [--peer-ports LIST]]`:
// runs an N-member (default 3, 1..7) Concord cluster on 127.0.0.1 for development, each member a
// child process of server.ts on the runtime running this script, data in DIR/mK.etcd (default
// ./dev-cluster). Ports are etcd's Procfile's where free, else any free, or exactly the ones given.
// Prefixes each member's output with its name, prints the client URLs once all serve, and stops
// them all on Ctrl-C or SIGTERM. Never: removes data, restarts a member that died (it says so
// instead), or moves a member off a port it was given (it refuses to start instead).
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SERVER_ENV } from "../runtime/server_env.ts";

const HELP = `usage: npm run cluster -- [--members N] [--data-dir-base DIR] [--client-ports LIST [--peer-ports LIST]]

  --members N            members to run, 1..7 (default 3)
  --data-dir-base DIR    member mK keeps its data in DIR/mK.etcd (default ./dev-cluster)
  --client-ports LIST    each member's client port, comma-separated (e.g. 23790,23792,23794);
                         as many members as ports; each must be free, or nothing starts
  --peer-ports LIST      each member's peer port, as many as client ports (default: client + 1)
  --help                 show this text

Without --client-ports: etcd's Procfile's ports (2379/2380, 22379/22380, 32379/32380, …) where
free, else any free.`;
/** Client ports as in etcd's Procfile, continued; each member's peer port is its client port + 1. */
const FIXED_CLIENT_PORTS = [2379, 22379, 32379, 42379, 52379, 62379, 12379];
const GRACE_MS = 5_000;

type Ports = { client: number; peer: number }[];
type Options = { members: number; base: string; ports?: Ports };

/** A comma-separated list of 1..7 ports, or undefined if it is not one. */
function portList(value: string): number[] | undefined {
  const ports = value.split(",").map((p) => (/^\d{1,5}$/.test(p) ? Number(p) : NaN));
  return ports.length <= 7 && ports.every((p) => p >= 1 && p <= 65_535) ? ports : undefined;
}

/** The options, or what to print and the exit code (--help, or a mistake). */
function options(argv: string[]): Options | { text: string; code: number } {
  const out: Options = { members: 3, base: "dev-cluster" };
  let members: number | undefined;
  let clients: number[] | undefined;
  let peers: number[] | undefined;
  const mistake = (text: string) => ({ text: `cluster: ${text}`, code: 2 });
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag === "--help" || flag === "-h") return { text: HELP, code: 0 };
    const value = inline ?? argv[++i];
    if (value === undefined) return mistake(`${flag} needs a value (see --help)`);
    if (flag === "--members" && /^[1-7]$/.test(value)) members = Number(value);
    else if (flag === "--data-dir-base") out.base = value;
    else if (flag === "--members") return mistake(`--members must be 1..7, not "${value}"`);
    else if (flag === "--client-ports" || flag === "--peer-ports") {
      const list = portList(value);
      if (!list) return mistake(`${flag} must be 1..7 comma-separated ports, not "${value}"`);
      if (flag === "--client-ports") clients = list;
      else peers = list;
    } else return mistake(`unknown flag "${flag}" (see --help)`);
  }
  if (peers && !clients) return mistake("--peer-ports needs --client-ports");
  if (clients) {
    if (peers && peers.length !== clients.length) return mistake(`${clients.length} client ports but ${peers.length} peer ports`);
    if (members !== undefined && members !== clients.length) return mistake(`--members ${members} but ${clients.length} client ports`);
    out.ports = clients.map((client, i) => ({ client, peer: peers ? peers[i] : client + 1 }));
    const all = out.ports.flatMap((p) => [p.client, p.peer]);
    const repeated = all.find((p, i) => all.indexOf(p) !== i);
    if (repeated !== undefined) return mistake(`port ${repeated} is given twice`);
    out.members = clients.length;
  } else if (members !== undefined) out.members = members;
  return out;
}

/** Holds `port` on 127.0.0.1 (0: any port the OS picks), or resolves undefined if it is taken. */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** Checks that every given port is free on 127.0.0.1 (holding each until all are checked). */
async function checkPorts(ports: Ports): Promise<Ports | string> {
  const held: Server[] = [];
  let taken: number | undefined;
  for (const port of ports.flatMap((p) => [p.client, p.peer])) {
    const server = await hold(port);
    if (server) held.push(server);
    else taken ??= port;
  }
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return taken === undefined ? ports : `cluster: port ${taken} on 127.0.0.1 is taken`;
}

/** A client and a peer port per member, all held until every one is chosen so none repeats. */
async function pickPorts(members: number): Promise<Ports | string> {
  const held: Server[] = [];
  const take = async (port: number) => {
    const server = (await hold(port)) ?? (await hold(0));
    if (server) held.push(server);
    return server ? (server.address() as { port: number }).port : undefined;
  };
  const ports = [];
  for (const fixed of FIXED_CLIENT_PORTS.slice(0, members)) {
    const [client, peer] = [await take(fixed), await take(fixed + 1)];
    if (client === undefined || peer === undefined) return "cluster: no free port on 127.0.0.1";
    ports.push({ client, peer });
  }
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const parsed = options(process.argv.slice(2));
if ("text" in parsed) {
  (parsed.code === 0 ? console.log : console.error)(parsed.text);
  process.exit(parsed.code);
}
const ports = parsed.ports ? await checkPorts(parsed.ports) : await pickPorts(parsed.members);
if (typeof ports === "string") {
  console.error(ports);
  process.exit(1);
}
const members = ports.map(({ client, peer }, i) => ({
  name: `m${i + 1}`, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, serving: false,
}));
const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
const server = fileURLToPath(new URL("../server.ts", import.meta.url));
const runtimeArgs = "Deno" in globalThis ? ["run", "-A", server] : [server];
const running = new Map<string, ChildProcess>();
let stopping = false;

for (const m of members) {
  const child = spawn(process.execPath, [
    ...runtimeArgs, "--name", m.name, "--data-dir", join(parsed.base, `${m.name}.etcd`),
    "--listen-client-urls", m.clientUrl, "--advertise-client-urls", m.clientUrl,
    "--listen-peer-urls", m.peerUrl, "--initial-advertise-peer-urls", m.peerUrl,
    "--initial-cluster", initialCluster, "--initial-cluster-token", "dev-cluster", "--initial-cluster-state", "new",
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...SERVER_ENV } });
  running.set(m.name, child);
  for (const [stream, sink] of [[child.stdout!, process.stdout], [child.stderr!, process.stderr]] as const) {
    createInterface({ input: stream }).on("line", (line) => {
      sink.write(`${m.name} | ${line}\n`);
      if (m.serving || !line.includes("serving clients on")) return;
      m.serving = true;
      if (members.every((x) => x.serving)) {
        console.log(`\ncluster: every member serving (Ctrl-C stops them)`);
        for (const x of members) console.log(`  ${x.name}  ${x.clientUrl}  (peer ${x.peerUrl})`);
        console.log(`  try: curl -s ${members[0].clientUrl}/v3/cluster/member/list -d '{}'\n`);
      }
    });
  }
  child.on("exit", (code, signal) => {
    running.delete(m.name);
    if (!stopping) console.error(`cluster: ${m.name} exited (${signal ?? `code ${code}`}); ${running.size} still running`);
    if (running.size === 0) process.exit(stopping ? 0 : 1);
  });
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  console.log(`\ncluster: stopping ${[...running.keys()].join(", ")}`);
  for (const child of running.values()) child.kill("SIGTERM");
  setTimeout(() => {
    for (const [name, child] of running) {
      console.error(`cluster: ${name} still running after ${GRACE_MS / 1000} s; killing it`);
      process.kill(child.pid!, "SIGKILL"); // not child.kill: Deno's sends one signal per child at most
    }
  }, GRACE_MS);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
