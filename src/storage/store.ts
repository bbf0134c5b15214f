/**
 * The store: opens the data directory, owns every shard, its writer and the key router, and
 * offers commands a small vocabulary over rows (read live rows, queue writes). Values are
 * encoded by the codec on the way in and decoded on the way out; callers see plain bytes.
 * It must not import protocol, commands or cluster code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValueCodec, type CompressionSettings } from "./codecs/codec.ts";
import { type KeyParam, keyParam } from "./keys.ts";
import { createRouter, type Router } from "./routing.ts";
import { Shard, type SqliteSettings, type TableStatements } from "./shard.ts";
import { ShardWriter, WriteScheduler, type WriteFn, type WriterEvents } from "./writer.ts";

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
}

export interface LiveEntry {
  value: Uint8Array;
  expiresAt: number | null;
}

export const LOCK_FILE = "blobasaur.lock";
const SHARD_FILE = /^shard_(\d+)\.db$/;

export class StoreOpenError extends Error {}

/** Row operations on the default table of one shard, with expiry and codec applied. */
export class KeyTable {
  constructor(
    readonly shardIndex: number,
    readonly statements: TableStatements,
    private readonly codec: ValueCodec,
  ) {}

  live(key: KeyParam, now: number): LiveEntry | null {
    const row = this.statements.live(key, now);
    if (row === null) return null;
    return { value: this.codec.decode(row.value), expiresAt: row.expires_at };
  }

  has(key: KeyParam, now: number): boolean {
    return this.statements.live(key, now) !== null;
  }

  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: number | null): void {
    this.statements.upsert(key, this.codec.encode(value), now, expiresAt);
  }

  remove(key: KeyParam, now: number): boolean {
    return this.statements.remove(key, now);
  }

  setExpiry(key: KeyParam, expiresAt: number | null): void {
    this.statements.setExpiryStmt.run(key, expiresAt);
  }
}

export class Store {
  readonly shards: Shard[] = [];
  readonly writers: ShardWriter[] = [];
  readonly tables: KeyTable[] = [];
  readonly scheduler: WriteScheduler;
  readonly router: Router;
  readonly codec: ValueCodec;
  readonly now: () => number;
  private readonly lockPath: string;
  private closed = false;

  constructor(readonly options: StoreOptions) {
    this.now = options.clock ?? Date.now;
    this.codec = new ValueCodec(options.compression);
    this.router = createRouter(options.numShards);
    mkdirSync(options.dataDir, { recursive: true });
    checkShardFiles(options.dataDir, options.numShards);
    this.lockPath = join(options.dataDir, LOCK_FILE);
    takeLock(this.lockPath);
    this.scheduler = new WriteScheduler(options.batchTimeoutMs, this.now, options.events);
    try {
      for (let i = 0; i < options.numShards; i++) {
        const shard = new Shard(i, join(options.dataDir, `shard_${i}.db`), options.sqlite, options.numShards);
        this.shards.push(shard);
        const writer = new ShardWriter(shard, this.scheduler, options.batchSize);
        this.writers.push(writer);
        this.scheduler.add(writer);
        this.tables.push(new KeyTable(i, shard.blobs, this.codec));
      }
    } catch (error) {
      for (const shard of this.shards) shard.db.close();
      rmSync(this.lockPath, { force: true });
      throw error;
    }
  }

  get shardCount(): number {
    return this.shards.length;
  }

  shardOf(key: Uint8Array): number {
    return this.router.shardOf(key);
  }

  /** The default-table view of the shard that owns `key`. */
  tableFor(key: Uint8Array): KeyTable {
    return this.tables[this.router.shardOf(key)]!;
  }

  /** Reads the live value of one key. */
  get(key: Uint8Array): LiveEntry | null {
    return this.tableFor(key).live(keyParam(key), this.now());
  }

  /** Queues `fn` on the writer of `key`'s shard; resolves after its transaction commits. */
  write<T>(key: Uint8Array, fn: (table: KeyTable, now: number) => T): Promise<T> {
    const shard = this.router.shardOf(key);
    const table = this.tables[shard]!;
    return this.writers[shard]!.submit((now) => fn(table, now));
  }

  /** Queues `fn` on one shard's writer. */
  writeShard<T>(shard: number, fn: WriteFn<T>): Promise<T> {
    return this.writers[shard]!.submit(fn);
  }

  /**
   * Runs `fn` once with every listed shard inside its own open transaction, ordered after the
   * writes already queued on each of those shards. For commands that must read and write
   * several shards atomically (RENAME, MSETNX, cross-shard all-or-nothing hash commands).
   */
  writeMany<T>(shards: readonly number[], fn: WriteFn<T>): Promise<T> {
    const unique = [...new Set(shards)].sort((a, b) => a - b);
    if (unique.length === 1) return this.writers[unique[0]!]!.submit(fn);
    return this.scheduler.submitMulti(
      unique.map((i) => this.writers[i]!),
      fn,
    );
  }

  /** Groups keys by shard, preserving each key's position, for multi-key commands. */
  groupByShard(keys: Uint8Array[]): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const s = this.router.shardOf(keys[i]!);
      const list = groups.get(s);
      if (list) list.push(i);
      else groups.set(s, [i]);
    }
    return groups;
  }

  /** Waits for every queued write, then closes the databases and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.drain();
    for (const shard of this.shards) shard.close();
    rmSync(this.lockPath, { force: true });
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

/** One server per data dir: a lock file holding our pid, stale when that pid is gone. */
function takeLock(path: string): void {
  if (existsSync(path)) {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new StoreOpenError(
        `data dir is in use by another blobasaur process (pid ${pid}, lock file ${path})`,
      );
    }
  }
  writeFileSync(path, `${process.pid}\n`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
