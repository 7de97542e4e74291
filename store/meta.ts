/**
 * Named scalars of the member's state (revision, compact revision, applied index, identity).
 *
 * Owns: reading and writing the `meta` table. Never: opens transactions — a write here lands in
 * whatever transaction the caller holds, so a scalar changes atomically with what it describes.
 */
import type { Database, SqlValue } from "./sqlite.ts";

export class Meta {
  readonly #get;
  readonly #set;

  constructor(db: Database) {
    this.#get = db.prepare("SELECT value FROM meta WHERE name = ?");
    this.#set = db.prepare("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  }

  number(name: string, fallback: number): number {
    const v = this.#get.get<{ value: SqlValue }>(name)?.value;
    return typeof v === "number" ? v : fallback;
  }

  text(name: string): string | undefined {
    const v = this.#get.get<{ value: SqlValue }>(name)?.value;
    return typeof v === "string" ? v : undefined;
  }

  set(name: string, value: number | string): void {
    this.#set.run(name, value);
  }
}
