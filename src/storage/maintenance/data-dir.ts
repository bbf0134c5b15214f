/**
 * Shared ground for the offline maintenance tools (migrate.ts, import.ts, backup.ts): the
 * data-dir lock they share with the server, shard-file listing, fsync of files and
 * directories, and the test-only crash hook (the checksums are in digest.ts). It must not import protocol, commands or cluster code, and it never prints: tools
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
import type { SqliteSettings } from "../engine/shard.ts";
import { dbOfKeysTable, keyspaceTables, maintenanceSql } from "../engine/sql.ts";

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
