/**
 * One shard: one SQLite file (`shard_<i>.db`) opened once, in WAL mode, with its prepared
 * statements per Redis database (sql.ts names the tables). Reads run here directly; every
 * write goes through the shard's writer (writer.ts) so it lands in a group-commit
 * transaction. Knows nothing of the protocol.
 */
import { Database, type Statement } from "bun:sqlite";
import { limits } from "../../limits.ts";
import type { LargeFiles } from "../large/files.ts";
import type { ValueCache } from "./cache.ts";
import { slotOfKey } from "./key-slot.ts";
import type { KeyParam } from "./keys.ts";
import {
  upgradeSchemaFieldFiles,
  upgradeSchemaSlots,
  upgradeSchemaV1,
  upgradeSchemaV2,
} from "./schema-upgrade.ts";
import {
  createKeyspaceSql,
  dbOfKeysTable,
  FORMAT_VERSION,
  fieldSql,
  type KeyspaceTables,
  keySql,
  keyspaceTables,
  maintenanceSql,
  metaSql,
  ROW_STRING,
  type RowType,
} from "./sql.ts";

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
  type: RowType;
  /** A large hash's field count (0 for other types). */
  fields: number;
  /** The rowid: a large hash's fields carry it as hash_id. */
  id: number;
}

export interface StoredField {
  value: Uint8Array;
  expires_at: number | null;
}

export interface FieldPageRow {
  rowid: number;
  field: KeyParam;
  value: Uint8Array;
  expires_at: number | null;
}

/** Prepared statements for one database's keys and fields tables in one shard. */
export class KeyspaceStatements {
  readonly getStmt: Statement<StoredRow, [KeyParam]>;
  readonly hashRowStmt: Statement<{ id: number; fields: number }, [KeyParam]>;
  /** The last parameter is the key's cluster slot (slotOf), or null outside cluster mode. */
  readonly upsertStmt: Statement<
    unknown,
    [KeyParam, Uint8Array, number, ExpiryMs | null, number, number | null]
  >;
  /** Reads expires_at as an exact 64-bit integer (only for commands that report it). */
  readonly exactExpiryStmt: Statement<{ expires_at: bigint | null }, [KeyParam]>;
  readonly deleteStmt: Statement<{ expires_at: number | null; type: RowType }, [KeyParam]>;
  readonly deleteExpiredStmt: Statement<{ type: RowType }, [KeyParam, number]>;
  readonly setExpiryStmt: Statement<unknown, [KeyParam, ExpiryMs | null]>;
  /** src, dst, and dst's slot (slotOf): a renamed key moves to its new name's slot. */
  readonly renameStmt: Statement<unknown, [KeyParam, KeyParam, number | null]>;
  readonly addFieldsStmt: Statement<unknown, [number, number]>;
  readonly dropIfEmptyStmt: Statement<{ key: KeyParam }, [number]>;
  readonly keyOfIdStmt: Statement<{ key: KeyParam }, [number]>;
  readonly scanStmt: Statement<
    { rowid: number; key: KeyParam; expires_at: number | null; type: RowType },
    [number, number]
  >;
  readonly countLiveStmt: Statement<{ n: number }, [number]>;
  readonly countExpiringStmt: Statement<{ n: number }, [number]>;
  readonly sweepStmt: Statement<unknown, [number, number]>;
  readonly sweepKeysStmt: Statement<{ key: KeyParam; expires_at: number }, [number, number]>;
  readonly clearStmt: Statement<unknown, []>;
  readonly randomAfterStmt: Statement<{ key: KeyParam }, [number, number]>;
  readonly maxRowidStmt: Statement<{ m: number | null }, []>;
  readonly slotKeysStmt: Statement<{ key: KeyParam }, [number, number, number]>;
  readonly slotCountStmt: Statement<{ n: number }, [number, number]>;
  // Fields of large hashes.
  readonly fieldGetStmt: Statement<StoredField, [number, KeyParam]>;
  readonly fieldUpsertStmt: Statement<unknown, [number, KeyParam, Uint8Array, number | null]>;
  readonly fieldDeleteStmt: Statement<{ expires_at: number | null }, [number, KeyParam]>;
  readonly fieldSetExpiryStmt: Statement<unknown, [number, KeyParam, number | null]>;
  readonly fieldPageStmt: Statement<FieldPageRow, [number, number, number]>;
  readonly fieldCountExpiredStmt: Statement<{ n: number }, [number, number]>;
  readonly fieldSweepStmt: Statement<{ hash_id: number }, [number, number]>;
  readonly fieldClearStmt: Statement<unknown, []>;
  /** The data dir's large-value files (Shard.attachLarge), for rows of type 3. */
  large: LargeFiles | null = null;

  constructor(
    db: Database,
    readonly tables: KeyspaceTables,
    /** Whether writes bind the cluster slot (Shard.keepSlots). */
    private readonly keepSlots: boolean,
  ) {
    const k = keySql(tables);
    this.getStmt = db.prepare(k.get);
    this.hashRowStmt = db.prepare(k.hashRow);
    this.upsertStmt = db.prepare(k.upsert);
    this.deleteStmt = db.prepare(k.delete);
    this.deleteExpiredStmt = db.prepare(k.deleteExpired);
    this.setExpiryStmt = db.prepare(k.setExpiry);
    this.exactExpiryStmt = db.prepare(k.exactExpiry);
    this.exactExpiryStmt.safeIntegers(true);
    this.renameStmt = db.prepare(k.rename);
    this.addFieldsStmt = db.prepare(k.addFields);
    this.dropIfEmptyStmt = db.prepare(k.dropIfEmpty);
    this.keyOfIdStmt = db.prepare(k.keyOfId);
    this.scanStmt = db.prepare(k.scan);
    this.countLiveStmt = db.prepare(k.countLive);
    this.countExpiringStmt = db.prepare(k.countExpiring);
    this.sweepStmt = db.prepare(k.sweep);
    this.sweepKeysStmt = db.prepare(k.sweepKeys);
    this.clearStmt = db.prepare(k.clear);
    this.randomAfterStmt = db.prepare(k.randomAfter);
    this.maxRowidStmt = db.prepare(k.maxRowid);
    this.slotKeysStmt = db.prepare(k.slotKeys);
    this.slotCountStmt = db.prepare(k.slotCount);
    const f = fieldSql(tables);
    this.fieldGetStmt = db.prepare(f.get);
    this.fieldUpsertStmt = db.prepare(f.upsert);
    this.fieldDeleteStmt = db.prepare(f.delete);
    this.fieldSetExpiryStmt = db.prepare(f.setExpiry);
    this.fieldPageStmt = db.prepare(f.page);
    this.fieldCountExpiredStmt = db.prepare(f.countExpired);
    this.fieldSweepStmt = db.prepare(f.sweep);
    this.fieldClearStmt = db.prepare(f.clear);
  }

  /** Writes a string row from already encoded bytes (tests and tools; commands use KeyTable). */
  upsert(key: KeyParam, stored: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    this.upsertStmt.run(key, stored, now, expiresAt, ROW_STRING, this.slotOf(key));
  }

  /**
   * The value a write binds in the `slot` column: the key's cluster slot on a cluster node,
   * NULL otherwise. Outside cluster mode the partial slot index then holds nothing, so a
   * standalone server pays neither the CRC nor an index entry per new key (measured: new-key
   * HSET 57 -> 77 µs of server CPU per request when every write kept the index).
   */
  slotOf(key: KeyParam): number | null {
    return this.keepSlots ? slotOfKey(key) : null;
  }
}

export class Shard {
  readonly db: Database;
  /** Statements of every database whose tables exist in this file, by database index. */
  private readonly keyspaces = new Map<number, KeyspaceStatements>();
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepointStmt: Statement;
  private readonly releaseStmt: Statement;
  private readonly rollbackToStmt: Statement;
  /** Set by close(): no transaction may begin afterwards. */
  private closed = false;
  /** The value cache's staged position at the current savepoint. */
  private cacheMark = 0;
  /** The file's format when it was opened (1 = needs the namespace move of upgrade.ts). */
  readonly openedFormat: number;

  constructor(
    readonly index: number,
    readonly path: string,
    settings: SqliteSettings,
    shardCount: number,
    /**
     * Whether writes keep the cluster slot column and its index: a cluster node's store, and
     * the offline tools that write whole files (the marker stays true only for such a file).
     */
    readonly keepSlots: boolean,
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
    const version = (db.query(maintenanceSql.userVersion).get() as { user_version: number })
      .user_version;
    this.openedFormat = version === 0 ? FORMAT_VERSION : version;
    if (version > FORMAT_VERSION) {
      db.close();
      throw new Error(
        `${path} has data format ${version}, newer than this server understands (${FORMAT_VERSION}); upgrade blobasaur`,
      );
    }
    upgradeSchemaSlots(db, version === 0, keepSlots);
    if (version === 1) {
      // 1 → 3 in one start: user_version moves once upgradeNamespaces has finished (store.ts).
      upgradeSchemaV1(db);
      upgradeSchemaV2(db, false);
    } else if (version === 2) upgradeSchemaV2(db);
    else {
      db.transaction(() => {
        db.run(createKeyspaceSql(keyspaceTables(0)));
        if (version === 0) db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
      })();
    }
    upgradeSchemaFieldFiles(db, version);
    for (const { name } of db.query(maintenanceSql.listKeyTables).all() as { name: string }[]) {
      const n = dbOfKeysTable(name);
      if (n !== null)
        this.keyspaces.set(n, new KeyspaceStatements(db, keyspaceTables(n), keepSlots));
    }
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
    this.savepointStmt = db.prepare("SAVEPOINT op");
    this.releaseStmt = db.prepare("RELEASE op");
    this.rollbackToStmt = db.prepare("ROLLBACK TO op");
  }

  /** Whether every key row of this file has its slot (the back-fill marker, schema-upgrade.ts). */
  get slotsComplete(): boolean {
    const row = this.db.query(metaSql.get).get(metaSql.slotsComplete) as { value: number } | null;
    return row?.value === 1;
  }

  /** Database 0's statements (its tables always exist). */
  get blobs(): KeyspaceStatements {
    return this.keyspaces.get(0)!;
  }

  /** The statements of database `n`, or null while its tables don't exist in this file. */
  statements(n: number): KeyspaceStatements | null {
    return this.keyspaces.get(n) ?? null;
  }

  /**
   * Creates database `n`'s tables (once per database and file, never per key) and returns
   * their statements. Runs in a transaction of its own, so it must not be called from inside
   * a writer transaction: Store opens a database before any command uses it.
   */
  createKeyspace(n: number): KeyspaceStatements {
    const existing = this.keyspaces.get(n);
    if (existing) return existing;
    const tables = keyspaceTables(n);
    if (this.db.inTransaction) this.db.run(createKeyspaceSql(tables));
    else this.db.transaction(() => this.db.run(createKeyspaceSql(tables)))();
    const made = new KeyspaceStatements(this.db, tables, this.keepSlots);
    made.large = this.large;
    this.keyspaces.set(n, made);
    return made;
  }

  /** The data dir's large-value files, shared by every shard (set once by the Store). */
  large: LargeFiles | null = null;

  attachLarge(large: LargeFiles): void {
    this.large = large;
    for (const statements of this.keyspaces.values()) statements.large = large;
  }

  /** Database indexes with tables in this file. */
  databases(): number[] {
    return [...this.keyspaces.keys()].sort((a, b) => a - b);
  }

  /**
   * The value cache in front of this file (cache.ts), if any. Transactions drive it so that
   * what a transaction writes becomes visible in the cache only once it has committed.
   */
  cache: ValueCache | null = null;

  beginImmediate(): void {
    // bun:sqlite runs prepared statements on a closed database without a word: a write that
    // arrives after close() (a late timer, a connection still sending) must fail instead.
    if (this.closed) throw new Error(`${this.path} is closed`);
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
    if (this.inTransaction) this.rollback.run();
  }
  get inTransaction(): boolean {
    return !this.closed && this.db.inTransaction;
  }

  /**
   * One operation's savepoint inside the writer's transaction (ShardWriter): an operation
   * that throws after some of its statements ran is undone alone, its staged cache entries
   * with it, and the batch's other operations keep theirs. ~0.3 µs an operation.
   */
  savepoint(): void {
    this.savepointStmt.run();
    this.cacheMark = this.cache?.mark() ?? 0;
  }

  releaseSavepoint(): void {
    this.releaseStmt.run();
  }

  rollbackToSavepoint(): void {
    this.rollbackToStmt.run();
    this.releaseStmt.run();
    this.cache?.rollbackTo(this.cacheMark);
  }

  /**
   * Runs `body` in its own write transaction with the value cache staged (offline tools and
   * the format upgrade; the server's writes go through the shard writer instead).
   */
  runTransaction<T>(body: () => T): T {
    this.beginImmediate();
    try {
      const result = body();
      this.commitTransaction();
      return result;
    } catch (error) {
      this.rollbackTransaction();
      throw error;
    }
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
    this.closed = true;
    this.db.close();
  }
}
