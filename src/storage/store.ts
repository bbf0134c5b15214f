/**
 * The store: opens the data directory, owns every shard, its writer and the key router, and
 * offers commands a small vocabulary over rows (read live rows, queue writes). Values are
 * encoded by the codec on the way in and decoded on the way out; callers see plain bytes.
 * It must not import protocol, commands or cluster code.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import { type CompressionSettings, ValueCodec } from "./codecs/codec.ts";
import { CacheBudget, ValueCache } from "./engine/cache.ts";
import { createRouter, type Router } from "./engine/routing.ts";
import { Shard, type SqliteSettings } from "./engine/shard.ts";
import { KeyWatches } from "./engine/watch.ts";
import { type AutoVacuumUpgradeReport, upgradeLegacyAutoVacuum } from "./jobs/auto-vacuum.ts";
import { Checkpointer } from "./jobs/checkpointer.ts";
import { availableMemory, Prewarmer, planPrewarm } from "./jobs/prewarm.ts";
import { Keyspace } from "./keyspace/keyspace.ts";
import { LazyExpiry } from "./keyspace/lazy-expiry.ts";
import type { HashLimits } from "./keyspace/rows.ts";
import { KeyCounts } from "./keyspace/stats.ts";
import { LargeFiles } from "./large/files.ts";
import { acquireDataDirLock } from "./maintenance/data-dir.ts";
import { migrationInProgress } from "./maintenance/migrate.ts";
import { recoverSwap, swapDatabases } from "./maintenance/swap-databases.ts";
import { upgradeNamespaces } from "./maintenance/upgrade.ts";
import { WriteScheduler } from "./writes/scheduler.ts";
import { ShardWriter, type WriteFn, type WriterEvents } from "./writes/shard-writer.ts";
import { WalSyncer } from "./writes/syncer.ts";

export interface StoreOptions {
  dataDir: string;
  numShards: number;
  sqlite: SqliteSettings;
  compression: CompressionSettings;
  batchSize: number;
  batchTimeoutMs: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  clock?: () => number;
  events?: WriterEvents;
  log?: Logger;
  /** Acknowledge writes before they commit, serving reads from the pending overlay. */
  asyncWrite?: boolean;
  /** Memory for the value cache in front of SQLite, in MB for all shards together. */
  valueCacheMb?: number;
  /** Let SQLite fsync inside COMMIT even for synchronous = FULL (no fsync Worker). */
  inlineFsync?: boolean;
  /** Redis databases (SELECT 0..databases-1); default 16. */
  databases?: number;
  /** When a small (inline) hash converts to the large encoding; Redis's defaults 128 / 64. */
  hashLimits?: HashLimits;
  /** Bulk strings longer than this are streamed into a file under large/ (default 1 MiB). */
  largeValueThresholdBytes?: number;
  /**
   * Keep each key's cluster slot in the indexed `slot` column (a cluster node: GETKEYSINSLOT
   * and MIGRATE list a slot without a scan). Off by default: a standalone server writes NULL
   * there and pays nothing for the index.
   */
  clusterSlots?: boolean;
}

/** The lock file that keeps one server (or offline tool) per data dir; see maintenance.ts. */
export { LOCK_FILE } from "./maintenance/data-dir.ts";

const SHARD_FILE = /^shard_(\d+)\.db$/;

export class StoreOpenError extends Error {}

export { Keyspace };

export class Store {
  readonly shards: Shard[] = [];
  readonly writers: ShardWriter[] = [];
  /** The Redis databases opened so far, by index (database 0 always). */
  private readonly keyspaces = new Map<number, Keyspace>();
  readonly databases: number;
  /** Shared by every hash of every database; CONFIG SET hash-max-listpack-* changes it. */
  readonly hashLimits: HashLimits;
  /** Which clients WATCH which keys. */
  readonly watches = new KeyWatches();
  /** Reads that find an expired key remove it and report it while someone listens. */
  readonly lazyExpiry = new LazyExpiry();
  /** Cached key counts per database and shard, for INFO keyspace and /metrics. */
  readonly keyCounts = new KeyCounts(this);
  /** Nesting depth of exclusive sections (EXEC): writes then go through the overlay. */
  private exclusiveDepth = 0;
  readonly asyncWrite: boolean;
  readonly scheduler: WriteScheduler;
  readonly router: Router;
  readonly codec: ValueCodec;
  readonly now: () => number;
  readonly checkpointer: Checkpointer;
  /** The startup prewarm of the shard files; null when `[sqlite] prewarm = false`. */
  readonly prewarm: Prewarmer | null;
  /** The off-loop WAL fsync for synchronous = FULL, or null (other settings, or no Worker). */
  readonly syncer: WalSyncer | null = null;
  /** What the startup auto_vacuum upgrade did (the metrics registry renders it). */
  readonly autoVacuumUpgrade: AutoVacuumUpgradeReport;
  /** Large values kept in files beside the shards (storage/large/). */
  readonly large: LargeFiles;
  private readonly releaseLock: () => void;
  private closed = false;

  constructor(readonly options: StoreOptions) {
    this.now = options.clock ?? Date.now;
    this.asyncWrite = options.asyncWrite ?? false;
    this.databases = options.databases ?? 16;
    this.hashLimits = { ...(options.hashLimits ?? { maxEntries: 128, maxValueBytes: 64 }) };
    this.codec = new ValueCodec(options.compression);
    this.router = createRouter(options.numShards);
    mkdirSync(options.dataDir, { recursive: true });
    // An interrupted `shard migrate` swap leaves a marker: refuse it before the file check.
    const pending = migrationInProgress(options.dataDir);
    if (pending !== null) throw new StoreOpenError(pending);
    checkShardFiles(options.dataDir, options.numShards);
    // One server per data dir; offline tools (migrate) take the same lock.
    try {
      this.releaseLock = acquireDataDirLock(options.dataDir);
    } catch (error) {
      throw new StoreOpenError((error as Error).message);
    }
    // synchronous = FULL: commit with NORMAL and fsync the WAL in a Worker before any result
    // is released, so the event loop never waits for the disk (storage/writes/syncer.ts).
    let sqlite = options.sqlite;
    if (sqlite.synchronous === "FULL" && !options.inlineFsync) {
      const syncer = new WalSyncer();
      if (syncer.start(options.log)) {
        this.syncer = syncer;
        sqlite = { ...sqlite, synchronous: "NORMAL" };
      }
    }
    this.scheduler = new WriteScheduler(
      options.batchTimeoutMs,
      this.now,
      options.events,
      this.syncer,
    );
    try {
      // Before any Shard opens its connection: Shard's `PRAGMA auto_vacuum = INCREMENTAL`
      // does nothing to an existing file until a VACUUM rebuilds it (storage/maintenance/vacuum.ts).
      this.autoVacuumUpgrade = upgradeLegacyAutoVacuum(
        Array.from({ length: options.numShards }, (_, i) => join(options.dataDir, `shard_${i}.db`)),
        {
          enabled: options.sqlite.autoUpgradeLegacyAutoVacuum ?? true,
          concurrency: options.sqlite.autoUpgradeLegacyAutoVacuumConcurrency ?? 2,
          busyTimeoutMs: options.sqlite.busyTimeoutMs,
          log: options.log,
        },
      );
      // One bound for every shard's cache: a busy shard may use what idle ones leave.
      const cacheBudget = new CacheBudget((options.valueCacheMb ?? 64) * 1024 * 1024);
      for (let i = 0; i < options.numShards; i++) {
        const shard = new Shard(
          i,
          join(options.dataDir, `shard_${i}.db`),
          sqlite,
          options.numShards,
          options.clusterSlots ?? false,
        );
        this.shards.push(shard);
        const writer = new ShardWriter(shard, this.scheduler, options.batchSize);
        this.writers.push(writer);
        this.scheduler.add(writer);
        const cacheBytes = Math.floor(
          ((options.valueCacheMb ?? 64) * 1024 * 1024) / options.numShards,
        );
        const cache = new ValueCache(
          cacheBytes,
          Math.floor(cacheBytes * limits.valueCacheEntryShare),
          limits.writeThroughBytesMax,
          cacheBudget,
        );
        shard.cache = cache;
      }
      this.large = new LargeFiles(
        options.dataDir,
        this.codec,
        {
          thresholdBytes: options.largeValueThresholdBytes ?? limits.largeValueThresholdBytes,
          chunkBytes: limits.largeChunkBytes,
          collectIntervalMs: limits.largeCollectIntervalMs,
        },
        options.log,
      );
      for (const shard of this.shards) shard.attachLarge(this.large);
      // Before any table is read: a SWAPDB a crash interrupted is finished in every file.
      recoverSwap(options.dataDir, this.shards, options.log);
      this.keyspaces.set(0, new Keyspace(0, this));
      // Databases that already hold tables are opened now, so SCAN/INFO see them at once.
      const found = new Set(this.shards.flatMap((shard) => shard.databases()));
      for (const n of [...found].sort((a, b) => a - b)) {
        if (n > 0 && n < this.databases) this.keyspaces.set(n, new Keyspace(n, this));
      }
      if (this.shards.some((s) => s.openedFormat < 2)) upgradeNamespaces(this, options.log);
      // Before any client: files a crash left between their rename and their row's COMMIT.
      this.large.removeOrphans(this.shards);
    } catch (error) {
      for (const shard of this.shards) shard.db.close();
      this.releaseLock();
      throw error;
    }
    this.checkpointer = new Checkpointer({
      paths: this.shards.map((s) => s.path),
      walBytesThreshold: limits.walCheckpointBytes,
      intervalMs: limits.walCheckpointIntervalMs,
      busyTimeoutMs: options.sqlite.busyTimeoutMs,
      log: options.log,
    });
    this.checkpointer.start();
    this.large.start(this);
    this.prewarm =
      (options.sqlite.prewarm ?? true)
        ? new Prewarmer(
            planPrewarm(
              this.shards.map((s) => s.path),
              availableMemory(),
            ),
            options.log,
          )
        : null;
  }

  /** The value caches of all shards together, for INFO and /metrics. */
  valueCacheStats(): {
    entries: number;
    usedBytes: number;
    limitBytes: number;
    hits: number;
    misses: number;
  } {
    const total = { entries: 0, usedBytes: 0, limitBytes: 0, hits: 0, misses: 0 };
    for (const { cache } of this.shards) {
      if (!cache) continue;
      total.entries += cache.size;
      total.usedBytes += cache.usedBytes;
      total.limitBytes += cache.limitBytes;
      total.hits += cache.hits;
      total.misses += cache.misses;
    }
    return total;
  }

  get shardCount(): number {
    return this.shards.length;
  }

  shardOf(key: Uint8Array): number {
    return this.router.shardOf(key);
  }

  /**
   * Redis database `n` (0 ≤ n < databases). Its tables are created in every shard file the
   * first time it is used (a handful of tables per database, never one per key).
   */
  keyspace(n: number): Keyspace {
    let ks = this.keyspaces.get(n);
    if (ks === undefined) {
      if (!Number.isInteger(n) || n < 0 || n >= this.databases)
        throw new RangeError(`database ${n} outside 0..${this.databases - 1}`);
      ks = new Keyspace(n, this);
      this.keyspaces.set(n, ks);
    }
    return ks;
  }

  /** Database 0, where every client starts. */
  get db0(): Keyspace {
    return this.keyspaces.get(0)!;
  }

  /** The databases opened so far (those that may hold keys), by index. */
  openKeyspaces(): Keyspace[] {
    return [...this.keyspaces.values()].sort((a, b) => a.index - b.index);
  }

  /**
   * Queues a raw operation (statements on the shard directly) on one shard's writer. It is
   * acknowledged after COMMIT in both modes: maintenance, sweeps and FLUSHDB use it.
   */
  writeShard<T>(shard: number, fn: WriteFn<T>): Promise<T> {
    return this.writers[shard]!.submit(fn);
  }

  /** True while EXEC runs (see exclusive()). */
  get inExclusive(): boolean {
    return this.exclusiveDepth > 0;
  }

  /**
   * Runs `body` with every shard's writes going through the pending overlay, so it reads its
   * own writes at once, then commits them all in one synchronous pass: the writes of one
   * EXEC share one transaction per shard. The caller keeps other clients out meanwhile.
   */
  async exclusive<T>(body: () => Promise<T>): Promise<{ result: T; failed: boolean }> {
    const failuresBefore = this.asyncFailures;
    this.exclusiveDepth++;
    let result: T;
    try {
      result = await body();
    } finally {
      this.exclusiveDepth--;
      if (this.exclusiveDepth === 0) this.scheduler.run();
    }
    // With the fsync Worker, commits report back only once their WAL is on disk.
    await this.scheduler.synced();
    // The commits' results reach the overlay through promise callbacks: let them run.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    return { result, failed: this.asyncFailures !== failuresBefore };
  }

  /** Removes every key of every database (FLUSHALL), after queued writes. */
  async clear(): Promise<void> {
    await Promise.all(this.openKeyspaces().map((ks) => ks.clear()));
  }

  /** Commits every pending write now, so scans over SQLite see them (async mode). */
  settle(): void {
    if (this.asyncWrite && this.scheduler.pendingOps > 0) this.scheduler.run();
  }

  asyncFailure(shard: number, error: unknown): void {
    this.asyncFailures++;
    this.options.log?.error(
      `shard ${shard}: an acknowledged async write failed to commit and was dropped: ${(error as Error)?.message ?? error}`,
    );
  }

  /** Async writes acknowledged but then lost to a failed commit (reported in metrics). */
  asyncFailures = 0;

  /**
   * Runs `fn` once with every listed shard inside its own open transaction, ordered after the
   * writes already queued on each of those shards. For commands that must read and write
   * several shards atomically (RENAME, MSETNX, COPY). It is acknowledged after its commits in
   * both modes.
   */
  writeMany<T>(shards: readonly number[], fn: WriteFn<T>): Promise<T> {
    // Shards commit in the caller's order (deadlock freedom comes from the scheduler's global
    // marker order, not from sorting): RENAME lists the destination first, so a crash between
    // the two commits can leave a duplicate but never lose the value.
    const unique = [...new Set(shards)];
    if (unique.length === 1) return this.writers[unique[0]!]!.submit(fn);
    return this.scheduler.submitMulti(
      unique.map((i) => this.writers[i]!),
      fn,
    );
  }

  /**
   * SWAPDB a b: the two databases trade contents in every shard, all or nothing across a
   * crash (maintenance/swap-databases.ts), ordered after every write already queued. WATCHed
   * keys of either database that exist in either are touched first, as Redis does.
   */
  swapDatabases(a: number, b: number): Promise<void> {
    return swapDatabases(this, this.options.dataDir, a, b);
  }

  /** Waits for every queued write, then closes the databases and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.drain();
    this.large.stop();
    this.syncer?.stop();
    await this.checkpointer.stop();
    this.prewarm?.stop();
    for (const shard of this.shards) shard.close();
    this.releaseLock();
  }
}

/** Refuses a data dir whose shard files don't match the configured count. */
function checkShardFiles(dataDir: string, numShards: number): void {
  const found = readdirSync(dataDir)
    .map((name) => SHARD_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (found.length === 0) return;
  const extra = found.filter((i) => i >= numShards);
  const missing: number[] = [];
  for (let i = 0; i < numShards; i++) if (!found.includes(i)) missing.push(i);
  if (extra.length === 0 && missing.length === 0) return;
  const parts = [
    `shard count mismatch in ${dataDir}: num_shards = ${numShards}, but the directory holds ${found.length} shard file(s) (${found.map((i) => `shard_${i}.db`).join(", ")})`,
  ];
  if (missing.length > 0) parts.push(`missing: ${missing.map((i) => `shard_${i}.db`).join(", ")}`);
  if (extra.length > 0) parts.push(`unexpected: ${extra.map((i) => `shard_${i}.db`).join(", ")}`);
  parts.push("set num_shards to match, or change the layout with `blobasaur shard migrate`");
  throw new StoreOpenError(parts.join("; "));
}
