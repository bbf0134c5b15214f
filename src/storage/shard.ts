/**
 * One shard: one SQLite file (`shard_<i>.db`) opened once, in WAL mode, with its prepared
 * statements. Reads run here directly; every write goes through the shard's writer
 * (writer.ts) so it lands in a group-commit transaction. Knows nothing of the protocol.
 */
import { Database, type Statement } from "bun:sqlite";
import { limits } from "../limits.ts";
import type { ValueCache } from "./cache.ts";
import type { KeyParam } from "./keys.ts";
import { createTableSql, FORMAT_VERSION, tableSql } from "./sql.ts";

export interface SqliteSettings {
  cacheSizeMb: number;
  busyTimeoutMs: number;
  synchronous: "OFF" | "NORMAL" | "FULL";
  mmapSizeMb: number;
  journalSizeLimitMb: number;
  autoUpgradeLegacyAutoVacuum?: boolean;
  autoUpgradeLegacyAutoVacuumConcurrency?: number;
  /** Read the shard files once at startup so the OS caches them (prewarm.ts); default true. */
  prewarm?: boolean;
}

/**
 * An absolute expiry in ms. Times beyond 2^53 ms (year 287,396) are kept exact as bigint, as
 * Redis keeps any 64-bit expiry; reads compare them as (lossy) numbers, which is harmless.
 */
export type ExpiryMs = number | bigint;

export interface StoredRow {
  value: Uint8Array;
  expires_at: number | null;
}

/** Prepared statements for one table of one shard. */
export class TableStatements {
  readonly getStmt: Statement<StoredRow, [KeyParam]>;
  readonly upsertStmt: Statement<unknown, [KeyParam, Uint8Array, number, ExpiryMs | null]>;
  readonly upsertVersionStmt: Statement<
    { version: number },
    [KeyParam, Uint8Array, number, ExpiryMs | null]
  >;
  /** Reads expires_at as an exact 64-bit integer (only for commands that report it). */
  readonly exactExpiryStmt: Statement<{ expires_at: bigint | null }, [KeyParam]>;
  readonly deleteStmt: Statement<{ expires_at: number | null }, [KeyParam]>;
  readonly setExpiryStmt: Statement<unknown, [KeyParam, ExpiryMs | null]>;
  readonly scanStmt: Statement<
    { rowid: number; key: KeyParam; expires_at: number | null },
    [number, number]
  >;
  readonly countLiveStmt: Statement<{ n: number }, [number]>;
  readonly countExpiringStmt: Statement<{ n: number }, [number]>;
  readonly sweepStmt: Statement<unknown, [number, number]>;
  readonly clearStmt: Statement<unknown, []>;
  readonly randomAfterStmt: Statement<{ key: KeyParam }, [number, number]>;
  readonly maxRowidStmt: Statement<{ m: number | null }, []>;

  constructor(db: Database, table: string) {
    const sql = tableSql(table);
    this.getStmt = db.prepare(sql.get);
    this.upsertStmt = db.prepare(sql.upsert);
    this.upsertVersionStmt = db.prepare(sql.upsertVersion);
    this.deleteStmt = db.prepare(sql.delete);
    this.setExpiryStmt = db.prepare(sql.setExpiry);
    this.exactExpiryStmt = db.prepare(sql.exactExpiry);
    this.exactExpiryStmt.safeIntegers(true);
    this.scanStmt = db.prepare(sql.scan);
    this.countLiveStmt = db.prepare(sql.countLive);
    this.countExpiringStmt = db.prepare(sql.countExpiring);
    this.sweepStmt = db.prepare(sql.sweep);
    this.clearStmt = db.prepare(sql.clear);
    this.randomAfterStmt = db.prepare(sql.randomAfter);
    this.maxRowidStmt = db.prepare(sql.maxRowid);
  }

  /** The live row for a key, or null when absent or expired at `now`. */
  live(key: KeyParam, now: number): StoredRow | null {
    const row = this.getStmt.get(key);
    if (row === null) return null;
    if (row.expires_at !== null && row.expires_at <= now) return null;
    return row;
  }

  /** Deletes the key; true when a live row was removed (an expired row counts as absent). */
  remove(key: KeyParam, now: number): boolean {
    const row = this.deleteStmt.get(key);
    return row !== null && (row.expires_at === null || row.expires_at > now);
  }

  upsert(key: KeyParam, stored: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    this.upsertStmt.run(key, stored, now, expiresAt);
  }
}

export class Shard {
  readonly db: Database;
  readonly blobs: TableStatements;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;

  constructor(
    readonly index: number,
    readonly path: string,
    settings: SqliteSettings,
    shardCount: number,
  ) {
    this.db = new Database(path, { create: true, strict: true });
    const db = this.db;
    // auto_vacuum must be set before the first table exists to take effect on a new file.
    db.run("PRAGMA auto_vacuum = INCREMENTAL");
    db.run("PRAGMA journal_mode = WAL");
    db.run(`PRAGMA synchronous = ${settings.synchronous}`);
    db.run(`PRAGMA busy_timeout = ${Math.trunc(settings.busyTimeoutMs)}`);
    const cacheKib = Math.max(1024, Math.floor((settings.cacheSizeMb * 1024) / shardCount));
    db.run(`PRAGMA cache_size = -${cacheKib}`);
    db.run("PRAGMA temp_store = MEMORY");
    const mmapBytes = Math.floor((settings.mmapSizeMb * 1024 * 1024) / shardCount);
    if (mmapBytes > 0) db.run(`PRAGMA mmap_size = ${mmapBytes}`);
    db.run(`PRAGMA journal_size_limit = ${Math.trunc(settings.journalSizeLimitMb * 1024 * 1024)}`);
    // Checkpoints normally run in the checkpoint Worker (checkpointer.ts), off the request path.
    db.run(`PRAGMA wal_autocheckpoint = ${limits.walAutoCheckpointPages}`);
    db.run(createTableSql("blobs"));
    const version = (db.query("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version === 0) db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
    else if (version > FORMAT_VERSION) {
      db.close();
      throw new Error(
        `${path} has data format ${version}, newer than this server understands (${FORMAT_VERSION}); upgrade blobasaur`,
      );
    }
    this.blobs = new TableStatements(db, "blobs");
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
  }

  /**
   * The value cache in front of this file (cache.ts), if any. Transactions drive it so that
   * what a transaction writes becomes visible in the cache only once it has committed.
   */
  cache: ValueCache | null = null;

  beginImmediate(): void {
    // A transaction SQLite rolled back by itself (disk full) may have left entries staged.
    this.cache?.rollback();
    this.begin.run();
    this.cache?.begin();
  }
  commitTransaction(): void {
    this.commit.run();
    this.cache?.commit();
  }
  rollbackTransaction(): void {
    this.cache?.rollback();
    if (this.db.inTransaction) this.rollback.run();
  }
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** Folds the WAL back into the database file without blocking readers for long. */
  checkpoint(mode: "PASSIVE" | "TRUNCATE" = "PASSIVE"): void {
    this.db.run(`PRAGMA wal_checkpoint(${mode})`);
  }

  close(): void {
    try {
      this.checkpoint("TRUNCATE");
    } catch {
      // A failed final checkpoint loses nothing: the WAL is replayed on the next open.
    }
    this.db.close();
  }
}
