/**
 * `concord snapshot restore`, as etcdutl's: a new member's data dir made from a backup, for a new
 * cluster that starts from the backup's keys, revisions, leases, users and roles. Every member of
 * the new cluster restores the same backup with its own --name and the same --initial-cluster and
 * token, then starts with them.
 *
 * Owns: the order of a restore — the database taken out of the backup (its digest checked), the old
 * cluster's members and alarms dropped (their ids mean nothing in the new cluster), the log started
 * where the state is applied to (term 1, as etcd's restored WAL), the new members and this one's
 * ids settled as a founding member's are — all in a directory beside the data dir, renamed into
 * place only once whole. Never: serves, or starts Raft.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { extractBackup } from "../store/backup_file.ts";
import { openStore } from "../store/open.ts";
import { found, settle } from "./bootstrap.ts";
import { idToHex } from "./identity.ts";

export interface RestoreOptions {
  name: string;
  dataDir: string;
  initialCluster: { name: string; peerUrls: string[] }[];
  clusterToken: string;
  skipHashCheck: boolean;
}

export interface Restored {
  memberId: string;
  clusterId: string;
  revision: number;
  appliedIndex: number;
}

export async function restoreBackup(file: string, options: RestoreOptions): Promise<Restored | { error: string }> {
  if (existsSync(options.dataDir)) return { error: `data-dir ${JSON.stringify(options.dataDir)} exists` };
  const settled = found(options);
  if ("error" in settled) return settled;
  const building = `${options.dataDir}.restoring`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(join(building, "member"), { recursive: true });
  try {
    const extracted = extractBackup(file, join(building, "member", "state.db"), options.skipHashCheck);
    if ("error" in extracted) return extracted;
    const store = await openStore(building);
    let restored: Restored;
    try {
      const applied = store.stateMachine.appliedIndex;
      if (applied === 0) return { error: "not a snapshot of a member's state: nothing was ever applied to it" };
      store.initialise(() => {
        for (const m of store.members.list()) store.members.remove(m.id);
        for (const a of store.alarms.list()) store.alarms.deactivate(a.memberId, a.alarm);
      });
      await store.log.restore(applied, 1);
      await store.log.persist([], { term: 1, vote: "", commit: applied });
      await settle(store, settled);
      restored = { memberId: idToHex(settled.id), clusterId: idToHex(settled.clusterId), revision: store.mvcc.revision, appliedIndex: applied };
    } finally {
      await store.close();
    }
    mkdirSync(dirname(options.dataDir), { recursive: true });
    renameSync(building, options.dataDir);
    return restored;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}
