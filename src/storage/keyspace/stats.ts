/**
 * Key counts per Redis database and shard, cached, for INFO keyspace and the `blobasaur_keys`
 * gauge of /metrics. Reads the key tables' count statements directly (a statistic, not a
 * key access).
 */

import type { Database } from "bun:sqlite";
import { limits } from "../../limits.ts";
import type { KeyTable } from "./key-table.ts";
import type { Keyspace } from "./keyspace.ts";

const KEYSPACE_CACHE_MS = limits.keyCountReuseMs;
const CHEAP_COUNT_ROWS = limits.keyCountCheapRows;
const TTL_SAMPLE_ROWS = limits.avgTtlSampleRows;

/** What the counts read of the store: its files, its opened databases, and settle(). */
export interface CountedStore {
  readonly shards: readonly { readonly db: Database }[];
  openKeyspaces(): Iterable<Keyspace>;
  settle(): void;
}

export interface ShardKeyspace {
  keys: number;
  expires: number;
  /** Mean remaining TTL (ms) of the sampled rows that have one; 0 when none did. */
  avgTtlMs: number;
  countedAt: number;
  /** The shard connection's SQLite total_changes() when counted. */
  changes: number;
}

/**
 * Key counts per database and shard for INFO keyspace and the `blobasaur_keys` gauge. Counting
 * live rows scans a table, so a count is reused while it can still be right and recounted
 * only when it may be stale and recounting is affordable:
 *  - a shard with no writes since its count (SQLite's total_changes() of the shard's one
 *    connection, an O(1) read) reuses it for up to KEYSPACE_CACHE_MS (keys also leave the
 *    count by expiring, so it is not reused forever);
 *  - a table that changed is recounted at once when it is small (largest rowid below
 *    CHEAP_COUNT_ROWS, so a count takes well under a millisecond), and at most every
 *    KEYSPACE_CACHE_MS when it is large: there INFO may lag writes by up to that long.
 * DBSIZE still counts exactly. avg_ttl is estimated, as Redis does, from a sample: up to
 * TTL_SAMPLE_ROWS rows read in rowid order from a random point of each table. The cache
 * belongs to the Store (Store.keyCounts), so servers in one process never share it. Only
 * databases opened so far are counted: the others hold no key.
 */
export class KeyCounts {
  private readonly cached = new Map<number, ShardKeyspace[]>();

  constructor(private readonly store: CountedStore) {}

  /** Forgets every count (SWAPDB moved keys between databases). */
  forget(): void {
    this.cached.clear();
  }

  /** Per opened database (by index): its counts per shard. */
  byDb(): Map<number, ShardKeyspace[]> {
    return keyspaceByDb(this.store, this.cached);
  }

  /** Live keys per shard, every database together (the `blobasaur_keys` gauge). */
  byShard(): ShardKeyspace[] {
    const out: ShardKeyspace[] = [];
    for (const perShard of this.byDb().values()) {
      perShard.forEach((entry, i) => {
        const sum = out[i];
        if (!sum) out[i] = { ...entry };
        else {
          sum.keys += entry.keys;
          sum.expires += entry.expires;
        }
      });
    }
    return out;
  }
}

function keyspaceByDb(
  store: CountedStore,
  cached: Map<number, ShardKeyspace[]>,
): Map<number, ShardKeyspace[]> {
  // Acknowledged async writes are committed first, so the counts include them (as DBSIZE does).
  store.settle();
  const wall = Date.now();
  const changes = store.shards.map(
    (shard) =>
      (shard.db.query("SELECT total_changes() AS n").get() as { n: number } | null)?.n ?? 0,
  );
  for (const keyspace of store.openKeyspaces()) {
    let perShard = cached.get(keyspace.index);
    if (!perShard) {
      perShard = [];
      cached.set(keyspace.index, perShard);
    }
    countKeyspace(keyspace, perShard, changes, wall);
  }
  return cached;
}

function countKeyspace(
  keyspace: Keyspace,
  perShard: ShardKeyspace[],
  changes: number[],
  wall: number,
): void {
  const now = keyspace.now();
  keyspace.keyTables.forEach((table, i) => {
    const s = table.statements;
    const entry = perShard[i];
    if (entry && wall - entry.countedAt < KEYSPACE_CACHE_MS) {
      if (entry.changes === changes[i]) return;
      if ((s.maxRowidStmt.get()?.m ?? 0) >= CHEAP_COUNT_ROWS) return;
    }
    perShard[i] = {
      keys: s.countLiveStmt.get(now)?.n ?? 0,
      expires: s.countExpiringStmt.get(now)?.n ?? 0,
      avgTtlMs: sampleAvgTtl(table, now),
      countedAt: wall,
      changes: changes[i]!,
    };
  });
}

function sampleAvgTtl(table: KeyTable, now: number): number {
  const s = table.statements;
  const max = s.maxRowidStmt.get()?.m ?? 0;
  if (max <= 0) return 0;
  const start = Math.floor(Math.random() * max);
  let rows = s.scanStmt.all(start, TTL_SAMPLE_ROWS);
  if (rows.length < TTL_SAMPLE_ROWS && start > 0) {
    rows = rows.concat(s.scanStmt.all(0, TTL_SAMPLE_ROWS - rows.length));
  }
  let sum = 0;
  let n = 0;
  for (const r of rows) {
    if (r.expires_at !== null && r.expires_at > now) {
      sum += r.expires_at - now;
      n++;
    }
  }
  return n > 0 ? Math.round(sum / n) : 0;
}
