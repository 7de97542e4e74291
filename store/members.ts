/**
 * The cluster's members as replicated state: who they are, where to reach them, voter or learner.
 *
 * Owns: the `members` table of state.db. Writes land in the caller's transaction (the state's
 * open batch while applying), so membership changes atomically with the applied index.
 * Never: decides membership — applying committed entries does.
 */
import type { MemberRecord } from "../etcd/types.ts";
import type { Database } from "./sqlite.ts";


type Row = { id: string; name: string; peer_urls: string; client_urls: string; is_learner: number };

export class MemberTable {
  readonly #all;
  readonly #upsert;
  readonly #remove;

  constructor(db: Database) {
    this.#all = db.prepare("SELECT id, name, peer_urls, client_urls, is_learner FROM members");
    this.#upsert = db.prepare(
      `INSERT INTO members (id, name, peer_urls, client_urls, is_learner) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, peer_urls = excluded.peer_urls,
         client_urls = excluded.client_urls, is_learner = excluded.is_learner`,
    );
    this.#remove = db.prepare("DELETE FROM members WHERE id = ?");
  }

  /** Every member, ordered by id as etcd lists them. */
  list(): MemberRecord[] {
    return this.#all.all<Row>().map((r) => ({
      id: r.id,
      name: r.name,
      peerUrls: JSON.parse(r.peer_urls),
      clientUrls: JSON.parse(r.client_urls),
      isLearner: r.is_learner === 1,
    })).sort((a, b) => (BigInt(`0x${a.id}`) < BigInt(`0x${b.id}`) ? -1 : 1));
  }

  get(id: string): MemberRecord | undefined {
    return this.list().find((m) => m.id === id);
  }

  put(m: MemberRecord): void {
    this.#upsert.run(m.id, m.name, JSON.stringify(m.peerUrls), JSON.stringify(m.clientUrls), m.isLearner ? 1 : 0);
  }

  remove(id: string): void {
    this.#remove.run(id);
  }
}
