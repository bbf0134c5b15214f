/**
 * Shared ground for the offline maintenance tools (migrate.ts, import.ts, backup.ts): the
 * data-dir lock they share with the server, shard-file listing, fsync of files and
 * directories, order-independent row checksums and their comparison, and the test-only crash
 * hook. It must not import protocol, commands or cluster code, and it never prints: tools
 * report through callbacks and the CLI decides what reaches the terminal.
 */

import { Database } from "bun:sqlite";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { decodeValue } from "../codecs/codec.ts";
import { type KeyParam, keyBytes } from "../engine/keys.ts";
import type { Router } from "../engine/routing.ts";
import type { SqliteSettings } from "../engine/shard.ts";
import {
  dbOfKeysTable,
  keyspaceTables,
  maintenanceSql,
  ROW_HASH_INLINE,
  ROW_HASH_TABLE,
  ROW_STRING,
} from "../engine/sql.ts";
import { decodeInline, type FieldItem } from "../keyspace/inline-hash.ts";

/**
 * The server's lock file name, as store.ts's LOCK_FILE (a unit test asserts they are equal).
 * Not imported from store.ts, so that store.ts can import migrate.ts without an import cycle.
 */
export const LOCK_FILE = "blobasaur.lock";

/** An operating failure of a maintenance tool: the message names paths; the CLI exits 1. */
export class MaintenanceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MaintenanceError";
  }
}

const SHARD_DB = /^shard_(\d+)\.db$/;
const SHARD_ANY = /^shard_\d+\.db(-wal|-shm|-journal)?$/;

/** Indexes of the `shard_<i>.db` files in `dir`, ascending. */
export function shardIndexes(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => SHARD_DB.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Every shard database file and its SQLite side files (-wal, -shm, -journal) in `dir`. */
export function shardFileNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => SHARD_ANY.test(name))
    .sort();
}

export function shardPath(dir: string, index: number): string {
  return join(dir, `shard_${index}.db`);
}

/** Settings for files the tools write themselves: no fsync per commit, fsyncFile at the end. */
export const bulkSqliteSettings: SqliteSettings = Object.freeze({
  cacheSizeMb: 64,
  busyTimeoutMs: 5000,
  synchronous: "OFF",
  mmapSizeMb: 0,
  journalSizeLimitMb: 64,
});

/** True when `dir` is missing or holds nothing at all. */
export function isEmptyOrMissing(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live pid holding `dataDir`'s lock, or null when the lock is free or stale. */
export function lockHolder(dataDir: string): number | null {
  const path = join(dataDir, LOCK_FILE);
  if (!existsSync(path)) return null;
  const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

/**
 * Takes the server's lock file (`blobasaur.lock`, holding a pid) for the duration of an
 * offline tool, so no server starts on the directory meanwhile and the tool refuses to run
 * while one does. A lock left by a dead process is stale and replaced. Returns the release.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  const holder = lockHolder(dataDir);
  if (holder !== null) {
    throw new MaintenanceError(
      `data dir ${dataDir} is in use by a running blobasaur process (pid ${holder}, lock file ${path}); stop it first`,
    );
  }
  rmSync(path, { force: true });
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    throw new MaintenanceError(`cannot take the lock file ${path}: ${(error as Error).message}`);
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
  return () => {
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {
      // Already gone: nothing to release.
    }
  };
}

/** Order-independent digest of one table's rows: count, XOR and sum (mod 2^32) of row CRCs. */
export interface TableDigest {
  rows: number;
  xor: number;
  sum: number;
}

/** Table name → digest, across every shard of a layout. */
export type Digest = Map<string, TableDigest>;

const encoder = new TextEncoder();

/**
 * CRC-32 of one row: table, key (with its TEXT/BLOB kind), value and expiry, each
 * length-prefixed so no two different rows serialise alike. `meta` adds further columns
 * (migrate includes created_at, updated_at and version).
 */
export function rowCrc(
  table: string,
  key: KeyParam,
  value: Uint8Array,
  expiresAt: bigint | number | null,
  meta = "",
): number {
  const keyText = typeof key === "string";
  let crc = Bun.hash.crc32(`${table.length}:${table}|${keyText ? "T" : "B"}${key.length}:`);
  crc = Bun.hash.crc32(keyText ? encoder.encode(key) : key, crc);
  crc = Bun.hash.crc32(`|${value.length}:`, crc);
  crc = Bun.hash.crc32(value, crc);
  return Bun.hash.crc32(`|${expiresAt === null ? "-" : String(expiresAt)}|${meta}`, crc);
}

export function addToDigest(digest: Digest, table: string, crc: number, sign: 1 | -1 = 1): void {
  let d = digest.get(table);
  if (d === undefined) {
    d = { rows: 0, xor: 0, sum: 0 };
    digest.set(table, d);
  }
  d.rows += sign;
  d.xor = (d.xor ^ crc) >>> 0;
  d.sum = (d.sum + sign * crc) >>> 0;
}

/** Human-readable differences between two digests (empty when they match). */
export function compareDigests(
  expected: Digest,
  actual: Digest,
  expectedLabel: string,
  actualLabel: string,
): string[] {
  const problems: string[] = [];
  const empty: TableDigest = { rows: 0, xor: 0, sum: 0 };
  const tables = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const table of tables) {
    const e = expected.get(table) ?? empty;
    const a = actual.get(table) ?? empty;
    if (e.rows !== a.rows) {
      problems.push(
        `table ${table}: ${e.rows} row(s) in ${expectedLabel}, ${a.rows} in ${actualLabel}`,
      );
    } else if (e.xor !== a.xor || e.sum !== a.sum) {
      problems.push(
        `table ${table}: ${e.rows} row(s) on both sides but checksums differ (${expectedLabel} ${hex(e.xor)}/${hex(e.sum)}, ${actualLabel} ${hex(a.xor)}/${hex(a.sum)})`,
      );
    }
  }
  return problems;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

export function digestRows(digest: Digest): number {
  let n = 0;
  for (const d of digest.values()) n += d.rows;
  return n;
}

/**
 * Test-only crash injection: BLOBASAUR_TEST_CRASH=<stage>:<n> kills this process with
 * SIGKILL (no cleanup, like a power cut) once `count` reaches n at `stage` ("copy" counts
 * copied rows, "swap" counts file renames). Unset in production; only tests set it.
 */
export function crashPoint(stage: "copy" | "swap", count: number): void {
  const spec = process.env.BLOBASAUR_TEST_CRASH;
  if (spec === undefined || spec === "") return;
  const [want, n] = spec.split(":");
  if (want === stage && count >= Number(n)) process.kill(process.pid, "SIGKILL");
}

/** Opens one of our shard files for a maintenance tool: read-write, no create, exact integers. */
export function openShardFile(path: string, readonly = false): Database {
  if (!existsSync(path)) throw new MaintenanceError(`shard file ${path} does not exist`);
  try {
    const db = readonly
      ? new Database(path, { readonly: true, strict: true, safeIntegers: true })
      : new Database(path, { readwrite: true, create: false, strict: true, safeIntegers: true });
    db.run("PRAGMA busy_timeout = 5000");
    return db;
  } catch (error) {
    throw new MaintenanceError(`cannot open ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The keys tables (`blobs`, `db<N>_blobs`) of one open file (format 2). */
export function keyTables(db: Database): string[] {
  return (db.query(maintenanceSql.listKeyTables).all() as { name: string }[]).map((r) => r.name);
}

/** `blobs` and every `blobs_*` table of one open file (format 1, or the Rust original's). */
export function legacyTables(db: Database): string[] {
  return (db.query(maintenanceSql.listLegacyTables).all() as { name: string }[]).map((r) => r.name);
}

/** The fields table that belongs to a keys table (`blobs` → `fields`). */
export function fieldsTableOf(keysTable: string): string {
  const n = dbOfKeysTable(keysTable);
  if (n === null) throw new MaintenanceError(`${keysTable} is not a keys table`);
  return keyspaceTables(n).fields;
}

/**
 * CRC-32 of one field of a hash: the table label, the hash's key bytes, the field bytes, value
 * and expiry, length-prefixed like rowCrc. `meta` adds the field's position in the hash, so a
 * digest also checks insertion order (HGETALL's order).
 */
export function fieldCrc(
  table: string,
  hashKey: Uint8Array,
  field: Uint8Array,
  value: Uint8Array,
  expiresAt: bigint | number | null,
  meta = "",
): number {
  let crc = Bun.hash.crc32(`${table.length}:${table}|${hashKey.length}:`);
  crc = Bun.hash.crc32(hashKey, crc);
  crc = Bun.hash.crc32(`|${field.length}:`, crc);
  crc = Bun.hash.crc32(field, crc);
  return rowCrc(table, "", value, expiresAt, `${crc}|${meta}`);
}

interface FullRow {
  id: bigint;
  key: KeyParam;
  value: Uint8Array;
  created_at: bigint;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
  type: bigint;
}

interface FieldRow {
  field: KeyParam;
  value: Uint8Array;
  expires_at: bigint | null;
}

export interface DigestOptions {
  /** Live at this time (ms): rows and fields with expires_at <= now are left out. */
  now: number;
  /** When set, every row must sit in the shard this router picks for its key. */
  router?: Router;
  /**
   * Checksum decoded values (import): strings under their keys table, hash keys under
   * `<keys>:hashes` (empty value) and every live field of a hash, inline or large, under
   * `<keys>:fields`. Otherwise (migrate) stored bytes plus every column, per table.
   */
  decoded?: boolean;
}

/**
 * The digest of a whole layout (shard i = paths[i], format 2): every live key row of every
 * database and, for large hashes, their live fields (a large hash without one is dead and left
 * out, as the copy leaves it out). Throws MaintenanceError when a row sits in the wrong shard
 * for `router`. Each file is opened and closed here.
 */
export function digestLayout(paths: readonly string[], options: DigestOptions): Digest {
  const digest: Digest = new Map();
  paths.forEach((path, shard) => {
    const db = openShardFile(path);
    try {
      for (const table of keyTables(db)) {
        const fieldsTable = fieldsTableOf(table);
        const fieldsOf = db.query(maintenanceSql.fieldsOf(fieldsTable));
        const stmt = db.query(maintenanceSql.allLiveKeys(table));
        for (const row of stmt.iterate(options.now) as IterableIterator<FullRow>) {
          const key = keyBytes(row.key);
          if (options.router && options.router.shardOf(key) !== shard) {
            throw new MaintenanceError(
              `table ${table} in ${path}: key ${JSON.stringify(String(row.key))} belongs in shard ${options.router.shardOf(key)}, not ${shard}`,
            );
          }
          const type = Number(row.type);
          const fields: FieldItem[] = [];
          if (type === ROW_HASH_TABLE) {
            for (const f of fieldsOf.iterate(row.id, options.now) as IterableIterator<FieldRow>) {
              const value = options.decoded ? decodeValue(f.value) : f.value;
              fields.push({ field: keyBytes(f.field), value, expiresAt: expiryOf(f.expires_at) });
            }
            if (fields.length === 0) continue;
          } else if (type === ROW_HASH_INLINE && options.decoded) {
            for (const f of decodeInline(decodeValue(row.value))) {
              if (f.expiresAt === null || f.expiresAt > options.now) fields.push(f);
            }
          }
          if (options.decoded) {
            if (type === ROW_STRING) {
              addToDigest(
                digest,
                table,
                rowCrc(table, row.key, decodeValue(row.value), row.expires_at),
              );
            } else {
              const label = `${table}:hashes`;
              addToDigest(digest, label, rowCrc(label, row.key, new Uint8Array(0), row.expires_at));
            }
          } else {
            const meta = `${row.created_at}|${row.updated_at}|${row.version}|${type}|${fields.length}`;
            addToDigest(digest, table, rowCrc(table, row.key, row.value, row.expires_at, meta));
          }
          const label = options.decoded ? `${table}:fields` : fieldsTable;
          fields.forEach((f, i) => {
            addToDigest(digest, label, fieldCrc(label, key, f.field, f.value, f.expiresAt, `${i}`));
          });
        }
        stmt.finalize();
        fieldsOf.finalize();
      }
    } finally {
      db.close();
    }
  });
  return digest;
}

const expiryOf = (at: bigint | null): number | null => (at === null ? null : Number(at));
