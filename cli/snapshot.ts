/**
 * `concord snapshot restore FILE …` and `concord snapshot status FILE`, as etcdutl's (and 3.4's
 * etcdctl's): a backup made with `etcdctl snapshot save` from a Concord member restored into a new
 * member's data dir, or described (hash, revision, total keys, total size).
 *
 * Owns: the commands' flags (etcd's names and defaults), their output and exit codes. Never:
 * restores or reads a backup itself (member/restore.ts, store/backup_file.ts).
 */
import { DEFAULT_CLUSTER_TOKEN, DEFAULT_NAME } from "../config/defaults.ts";
import { initialCluster } from "../config/initial_cluster.ts";
import { urlList, urlString } from "../config/urls.ts";
import { restoreBackup } from "../member/restore.ts";
import { backupStatus, type BackupStatus } from "../store/backup_file.ts";

/** etcd's defaults for a restore: a member named "default" at http://localhost:2380. */
const RESTORE_PEER_URL = "http://localhost:2380";

export const SNAPSHOT_USAGE = `usage:
  concord snapshot restore FILE [--name NAME] [--data-dir DIR] [--initial-cluster NAME=URL,…]
                                [--initial-cluster-token TOKEN] [--initial-advertise-peer-urls URL,…] [--skip-hash-check]
  concord snapshot status FILE [-w simple|table|json]
`;

type Flags = { file: string | undefined; values: Map<string, string> } | { error: string };

/** Flags as Go's flag package takes them: --name=value, --name value, -name, and bools alone. */
function flags(argv: readonly string[], known: Record<string, "text" | "bool">): Flags {
  const values = new Map<string, string>();
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) {
      if (file !== undefined) return { error: `one snapshot file, not ${JSON.stringify(file)} and ${JSON.stringify(argv[i])}` };
      file = argv[i];
      continue;
    }
    const kind = known[m[1]];
    if (!kind) return { error: `unknown flag ${JSON.stringify(argv[i])}` };
    const value = m[2] ?? (kind === "bool" ? "true" : argv[++i]);
    if (value === undefined) return { error: `flag --${m[1]} needs a value` };
    values.set(m[1], value);
  }
  return { file, values };
}

/** Bytes as Go's humanize.Bytes writes them (etcdctl's TOTAL SIZE): "2.1 MB", "20 kB". */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const value = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[e]}`;
}

function statusText(s: BackupStatus, format: string): string {
  const hash = s.hash.toString(16);
  if (format === "json") return JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize });
  if (format === "simple") return `${hash}, ${s.revision}, ${s.totalKey}, ${humanBytes(s.totalSize)}`;
  const cells = [hash, String(s.revision), String(s.totalKey), humanBytes(s.totalSize)];
  const heads = ["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"];
  const widths = heads.map((h, i) => Math.max(h.length, cells[i].length) + 2);
  const rule = `+${widths.map((w) => "-".repeat(w)).join("+")}+`;
  const centre = (t: string, w: number) => t.padStart(Math.floor((w + t.length) / 2)).padEnd(w);
  // tablewriter: headers centred, numbers right-aligned, text left-aligned.
  const row = cells.map((c, i) => (i === 1 || i === 2 ? ` ${c.padStart(widths[i] - 2)} ` : ` ${c.padEnd(widths[i] - 2)} `));
  return [rule, `|${heads.map((h, i) => centre(h, widths[i])).join("|")}|`, rule, `|${row.join("|")}|`, rule].join("\n");
}

/** Runs `concord snapshot …` (argv after "snapshot"); the exit code. */
export async function snapshotCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "status") {
    const parsed = flags(rest, { w: "text", "write-out": "text" });
    if ("error" in parsed) return fail(parsed.error);
    const format = parsed.values.get("w") ?? parsed.values.get("write-out") ?? "simple";
    if (!["simple", "table", "json"].includes(format)) return fail(`unknown output format ${JSON.stringify(format)} (simple, table or json)`);
    if (!parsed.file) return fail("snapshot status needs a file");
    const status = await backupStatus(parsed.file);
    if ("error" in status) return fail(status.error);
    console.log(statusText(status, format));
    return 0;
  }
  if (command === "restore") {
    const parsed = flags(rest, {
      name: "text", "data-dir": "text", "initial-cluster": "text", "initial-cluster-token": "text",
      "initial-advertise-peer-urls": "text", "skip-hash-check": "bool",
    });
    if ("error" in parsed) return fail(parsed.error);
    if (!parsed.file) return fail("snapshot restore needs a file");
    const v = parsed.values;
    const name = v.get("name") ?? DEFAULT_NAME;
    const advertised = urlList("initial-advertise-peer-urls", v.get("initial-advertise-peer-urls") ?? RESTORE_PEER_URL);
    if (typeof advertised === "string") return fail(advertised);
    const peerUrls = advertised.map(urlString);
    const cluster = initialCluster(v.get("initial-cluster") ?? peerUrls.map((u) => `${name}=${u}`).join(","), "new", name, peerUrls);
    if (typeof cluster === "string") return fail(cluster);
    const dataDir = v.get("data-dir") ?? `${name}.etcd`;
    const restored = await restoreBackup(parsed.file, {
      name, dataDir, initialCluster: cluster, clusterToken: v.get("initial-cluster-token") ?? DEFAULT_CLUSTER_TOKEN,
      skipHashCheck: v.get("skip-hash-check") === "true",
    });
    if ("error" in restored) return fail(restored.error);
    console.log(
      `restored snapshot ${parsed.file} into ${dataDir}: member ${restored.memberId} of cluster ${restored.clusterId}, ` +
        `revision ${restored.revision}, applied index ${restored.appliedIndex}`,
    );
    return 0;
  }
  console.error(SNAPSHOT_USAGE);
  return 2;
}

function fail(message: string): number {
  console.error(`Error: ${message}`);
  return 1;
}
