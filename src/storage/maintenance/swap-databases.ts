/**
 * SWAPDB: two Redis databases trade contents. Each database is a pair of tables in every
 * shard file (engine/sql.ts), so a swap renames the tables of both databases in every shard,
 * in one transaction per shard. Prepared statements name tables, so after the renames every
 * Keyspace reads its new contents with no statement to rebuild.
 *
 * Shards are separate files, so their commits are not one atomic step. A journal makes the
 * swap all-or-nothing across a crash: before any shard changes, `SWAPDB.journal` (epoch and
 * the two indexes) is written and fsynced; each shard's transaction also records the epoch in
 * its `swap_epoch` table; once every shard has committed and its WAL is on disk, the journal
 * goes. A server that starts with a journal finishes the swap in every shard whose epoch is
 * behind it, then removes the journal: either no shard swapped or all did.
 *
 * Index names are labels: after a swap `blobs_expires_at` may index `db3_blobs`. Triggers are
 * dropped and made again under their table's name, which is cheap; indexes keep their names,
 * since rebuilding one would read the whole table.
 */
import type { Database } from "bun:sqlite";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log.ts";
import { fsyncDir, fsyncFile } from "../engine/durable-fs.ts";
import {
  createFieldFilesSql,
  createFieldsSql,
  createLargeSql,
  keyspaceTables,
} from "../engine/sql.ts";
import type { KeyWatches } from "../engine/watch.ts";
import type { Keyspace } from "../keyspace/keyspace.ts";

export const SWAP_JOURNAL = "SWAPDB.journal";

interface Journal {
  readonly epoch: number;
  readonly a: number;
  readonly b: number;
}

/** What the swap needs of a shard: its connection and file path. */
export interface SwapShard {
  readonly db: Database;
  readonly path: string;
}

const EPOCH_TABLE = `CREATE TABLE IF NOT EXISTS swap_epoch (id INTEGER PRIMARY KEY CHECK (id = 0), epoch INTEGER NOT NULL)`;

/** The last swap this shard file took part in (0 = none). */
export function shardSwapEpoch(db: Database): number {
  const exists = db
    .query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'swap_epoch'`)
    .get();
  if (!exists) return 0;
  return (
    (db.query("SELECT epoch FROM swap_epoch WHERE id = 0").get() as { epoch: number } | null)
      ?.epoch ?? 0
  );
}

/** The journal of the next swap: one epoch above every shard's. */
export function nextJournal(shards: readonly SwapShard[], a: number, b: number): Journal {
  return { epoch: 1 + Math.max(0, ...shards.map((s) => shardSwapEpoch(s.db))), a, b };
}

/** Writes the journal durably (a temporary file, fsync, rename, fsync of the directory). */
export function writeJournal(dataDir: string, journal: Journal): void {
  const path = join(dataDir, SWAP_JOURNAL);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(journal));
  fsyncFile(tmp);
  renameSync(tmp, path);
  fsyncDir(dataDir);
}

/**
 * The swap on one shard, to run inside that shard's transaction: both databases' tables
 * (which must exist) trade names, their triggers are made again, and the epoch is recorded.
 */
export function swapInShard(db: Database, journal: Journal): void {
  const ta = keyspaceTables(journal.a);
  const tb = keyspaceTables(journal.b);
  for (const t of [ta, tb])
    for (const suffix of ["_drop_fields", "_retype_fields", "_large_delete", "_large_replace"])
      db.run(`DROP TRIGGER IF EXISTS "${t.keys}${suffix}"`);
  for (const t of [ta, tb])
    for (const suffix of ["_large_delete", "_large_replace"])
      db.run(`DROP TRIGGER IF EXISTS "${t.fields}${suffix}"`);
  for (const [x, y] of [
    [ta.keys, tb.keys],
    [ta.fields, tb.fields],
  ] as const) {
    db.run(`ALTER TABLE "${x}" RENAME TO "swap_tmp"`);
    db.run(`ALTER TABLE "${y}" RENAME TO "${x}"`);
    db.run(`ALTER TABLE "swap_tmp" RENAME TO "${y}"`);
  }
  // Re-creating the triggers also re-creates any index missing under these names.
  for (const t of [ta, tb])
    db.run(`${createFieldsSql(t)}\n${createLargeSql(t)}\n${createFieldFilesSql(t)}`);
  db.run(EPOCH_TABLE);
  db.query("INSERT OR REPLACE INTO swap_epoch (id, epoch) VALUES (0, ?1)").run(journal.epoch);
}

/** After every shard committed: their WALs (and files) on disk, then the journal goes. */
export function finishSwap(dataDir: string, shards: readonly SwapShard[]): void {
  for (const shard of shards) {
    if (existsSync(`${shard.path}-wal`)) fsyncFile(`${shard.path}-wal`);
    fsyncFile(shard.path);
  }
  rmSync(join(dataDir, SWAP_JOURNAL), { force: true });
  fsyncDir(dataDir);
}

/**
 * At startup, before any client: finishes a swap a crash interrupted. Returns the databases
 * it swapped, or null when there was nothing to do.
 */
export function recoverSwap(
  dataDir: string,
  shards: readonly SwapShard[],
  log?: Logger,
): Journal | null {
  const path = join(dataDir, SWAP_JOURNAL);
  if (!existsSync(path)) return null;
  let journal: Journal;
  try {
    journal = JSON.parse(readFileSync(path, "utf8")) as Journal;
  } catch {
    // Torn while being written: no shard can have started, since the journal comes first.
    rmSync(path, { force: true });
    return null;
  }
  let finished = 0;
  for (const shard of shards) {
    if (shardSwapEpoch(shard.db) >= journal.epoch) continue;
    shard.db.transaction(() => swapInShard(shard.db, journal))();
    finished++;
  }
  finishSwap(dataDir, shards);
  log?.warn(
    `SWAPDB ${journal.a} ${journal.b} was interrupted; finished it in ${finished} of ${shards.length} shard file(s)`,
  );
  return journal;
}

/**
 * Redis's touchAllWatchedKeysInDb both ways: a watched key of either database is touched when
 * it exists in either of them (its value changes or appears or goes), before the swap.
 */
export function touchSwappedWatches(watches: KeyWatches, a: Keyspace, b: Keyspace): void {
  const mine = [a, b].map((ks) => ({ ks, table: ks.keyTables[0]! }));
  watches.touchWhere((id) => {
    for (const { table } of mine) {
      const key = table.keyOfId(id);
      if (key === null) continue;
      return a.entry(key) !== null || b.entry(key) !== null;
    }
    return false;
  });
}

/** What a swap needs of the store. */
export interface SwapHost {
  readonly shards: readonly (SwapShard & { readonly cache: { clear(): void } | null })[];
  readonly watches: KeyWatches;
  readonly keyCounts: { forget(): void };
  keyspace(n: number): Keyspace;
  settle(): void;
  writeMany<T>(shards: readonly number[], fn: (now: number) => T): Promise<T>;
}

/**
 * SWAPDB a b on a running store: ordered after every write already queued, WATCHed keys
 * touched first, journal around the per-shard transactions, caches and counts dropped after.
 */
export async function swapDatabases(
  host: SwapHost,
  dataDir: string,
  a: number,
  b: number,
): Promise<void> {
  if (a === b) return;
  const ka = host.keyspace(a);
  const kb = host.keyspace(b);
  host.settle();
  touchSwappedWatches(host.watches, ka, kb);
  const journal = nextJournal(host.shards, a, b);
  writeJournal(dataDir, journal);
  await host.writeMany(
    host.shards.map((_, i) => i),
    () => {
      for (const shard of host.shards) swapInShard(shard.db, journal);
    },
  );
  finishSwap(dataDir, host.shards);
  // Cached rows and key counts name a database by index; both now hold other keys.
  for (const shard of host.shards) shard.cache?.clear();
  host.keyCounts.forget();
}
