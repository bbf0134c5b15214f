/**
 * Offline shard migration: re-shards a data dir from `old` to `new` shards, crash-safely.
 * This file owns the migration's phases and its on-disk protocol; it must not import protocol,
 * commands or cluster code, and never prints (the CLI gets lines through callbacks).
 *
 * Phases (the data-dir lock `blobasaur.lock` is held throughout, so no server runs meanwhile):
 *  1. copy: every live key row of every database's keys table, with all its columns
 *     (created_at, updated_at, version, expires_at, type) and its stored bytes unchanged, and
 *     the live fields of each large hash, go into a staging dir
 *     `<data_dir>/.migrate-<old>-to-<new>/shard_<i>.db`, routed by the new ring, in batches
 *     (migrate-copy.ts). Expired rows are dropped. The source files (format 2) are only read.
 *  2. verify: per table, row counts plus XOR and sum of per-row CRC-32s over (table, key,
 *     stored value, expires_at, created_at, updated_at, version, type, live field count) and
 *     per large hash field (hash key, field, stored value, expiry, position) of the old layout
 *     must equal those of the staged layout, and every staged row must sit in the shard the
 *     new ring picks.
 *  3. swap: write the marker `<data_dir>/MIGRATING` (JSON naming old, new, staging and backup
 *     dirs), move every old shard file into `<data_dir>/.migrate-backup-<old>-to-<new>-<stamp>/`,
 *     move the staged files in, fsync the directories, remove the marker.
 * A crash in phases 1-2 leaves the old layout untouched (the staging dir is rebuilt by the next
 * run). A crash in phase 3 leaves the marker: the server refuses to start (migrationInProgress)
 * and the next run finishes the swap (roll forward), or `--rollback` puts the old files back.
 * The swap is resumable because phase 3a (old files out) completes before 3b (new files in)
 * starts: while every staged file is still in staging, shard files in the data dir are old.
 */

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fsyncDir, fsyncFile } from "../engine/durable-fs.ts";
import { createRouter } from "../engine/routing.ts";
import { dbOfKeysTable } from "../engine/sql.ts";
import {
  acquireDataDirLock,
  crashPoint,
  MaintenanceError,
  shardFileNames,
  shardIndexes,
  shardPath,
} from "./data-dir.ts";
import { compareDigests, type Digest, digestLayout, digestRows } from "./digest.ts";
import { copyLayout } from "./migrate-copy.ts";

export const MIGRATION_MARKER = "MIGRATING";
const STAGING_DIR = /^\.migrate-\d+-to-\d+$/;
const BACKUP_DIR = /^\.migrate-backup-/;

export interface MigrationMarker {
  old: number;
  new: number;
  /** Directory names inside the data dir. */
  staging: string;
  backup: string;
  startedAt: string;
}

export interface MigrateOptions {
  dataDir: string;
  oldShards: number;
  newShards: number;
  /** Also compare the swapped-in layout with the backup of the old one after the swap. */
  verifyAfterSwap?: boolean;
  /** Rows read per batch. */
  batchRows?: number;
  /** ms since the epoch deciding which rows count as expired (default: now). */
  now?: number;
  onInfo?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface MigrateResult {
  /** Key rows (strings and hashes of every database). */
  keys: number;
  /** Field rows of large hashes (small hashes' fields live inside their key row). */
  fields: number;
  /** Databases holding keys. */
  tables: number;
  /** The old layout, kept until the next successful migration. */
  backupDir: string;
  /** True when this run finished a swap an earlier, interrupted run had started. */
  resumed: boolean;
}

/** The pending migration's marker, or null. */
export function readMarker(dataDir: string): MigrationMarker | null {
  const path = join(dataDir, MIGRATION_MARKER);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as MigrationMarker;
  } catch (error) {
    throw new MaintenanceError(
      `migration marker ${path} is unreadable: ${(error as Error).message}`,
    );
  }
}

/**
 * Why a server must not start on `dataDir` (an interrupted shard migration is mid-swap, so the
 * directory holds neither layout completely), or null when it may. Called by the Store.
 */
export function migrationInProgress(dataDir: string): string | null {
  const path = join(dataDir, MIGRATION_MARKER);
  if (!existsSync(path)) return null;
  let counts = "<old> <new>";
  try {
    const marker = JSON.parse(readFileSync(path, "utf8")) as MigrationMarker;
    counts = `${marker.old} ${marker.new}`;
  } catch {
    // An unreadable marker still means an unfinished swap.
  }
  return (
    `an interrupted shard migration is pending in ${dataDir} (marker ${path}): finish it with ` +
    `\`blobasaur shard migrate ${counts} --data-dir ${dataDir}\` or undo it with ` +
    `\`blobasaur shard migrate --rollback --data-dir ${dataDir}\``
  );
}

function writeMarker(dataDir: string, marker: MigrationMarker): void {
  const path = join(dataDir, MIGRATION_MARKER);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(marker, null, 2)}\n`);
  fsyncFile(`${path}.tmp`);
  renameSync(`${path}.tmp`, path);
  fsyncDir(dataDir);
}

function removeMarker(dataDir: string): void {
  rmSync(join(dataDir, MIGRATION_MARKER), { force: true });
  fsyncDir(dataDir);
}

/** Databases in a digest (migrate digests label key rows by keys table, fields by fields table). */
function keysTables(digest: Digest): number {
  return [...digest.keys()].filter((t) => dbOfKeysTable(t) !== null).length;
}

/** Field rows of large hashes in a digest. */
function fieldRows(digest: Digest): number {
  let n = 0;
  for (const [table, d] of digest) if (dbOfKeysTable(table) === null) n += d.rows;
  return n;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The data dir must hold exactly shard_0..shard_<n-1>. */
function expectLayout(dir: string, n: number, what: string): void {
  const found = shardIndexes(dir);
  const missing = range(n).filter((i) => !found.includes(i));
  const extra = found.filter((i) => i >= n);
  if (missing.length === 0 && extra.length === 0) return;
  const list = (xs: number[]) => xs.map((i) => shardPath(dir, i)).join(", ");
  throw new MaintenanceError(
    `${what}: expected ${n} shard file(s) in ${dir}` +
      (missing.length > 0 ? `; missing ${list(missing)}` : "") +
      (extra.length > 0 ? `; unexpected ${list(extra)}` : ""),
  );
}

/** Runs a migration, or finishes the interrupted one it finds. Throws MaintenanceError. */
export function migrateShards(options: MigrateOptions): MigrateResult {
  const { dataDir, oldShards, newShards } = options;
  const info = options.onInfo ?? (() => {});
  if (
    !Number.isInteger(oldShards) ||
    !Number.isInteger(newShards) ||
    oldShards < 1 ||
    newShards < 1
  ) {
    throw new RangeError("shard counts must be integers >= 1");
  }
  if (oldShards === newShards) throw new RangeError("old and new shard counts are the same");
  if (!existsSync(dataDir)) throw new MaintenanceError(`data dir ${dataDir} does not exist`);
  const release = acquireDataDirLock(dataDir);
  try {
    const pending = readMarker(dataDir);
    if (pending !== null) {
      if (pending.old !== oldShards || pending.new !== newShards) {
        throw new MaintenanceError(
          `an interrupted migration ${pending.old} -> ${pending.new} is pending in ${dataDir} (marker ${join(dataDir, MIGRATION_MARKER)}); finish it with \`shard migrate ${pending.old} ${pending.new}\` or undo it with \`shard migrate --rollback\``,
        );
      }
      info(`finishing the interrupted swap ${pending.old} -> ${pending.new} in ${dataDir}`);
      finishSwap(dataDir, pending);
      return afterSwap(options, pending, true, null);
    }
    expectLayout(dataDir, oldShards, "cannot migrate");
    for (const name of readdirSync(dataDir)) {
      if (STAGING_DIR.test(name)) rmSync(join(dataDir, name), { recursive: true, force: true });
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "Z");
    const marker: MigrationMarker = {
      old: oldShards,
      new: newShards,
      staging: `.migrate-${oldShards}-to-${newShards}`,
      backup: `.migrate-backup-${oldShards}-to-${newShards}-${stamp}`,
      startedAt: new Date().toISOString(),
    };
    const staging = join(dataDir, marker.staging);
    mkdirSync(staging);
    const now = options.now ?? Date.now();
    const oldPaths = range(oldShards).map((i) => shardPath(dataDir, i));
    const newPaths = range(newShards).map((i) => shardPath(staging, i));
    info(
      `copying ${oldShards} shard(s) in ${dataDir} into ${newShards} staged shard(s) in ${staging}`,
    );
    const copied = copyLayout(oldPaths, newPaths, now, options);
    const copiedRows = copied.keys + copied.fields;
    info(`verifying ${staging} against ${dataDir}`);
    const expected = digestLayout(oldPaths, { now });
    const actual = digestLayout(newPaths, { now, router: createRouter(newShards) });
    const problems = compareDigests(expected, actual, "the old layout", "the staged layout");
    if (problems.length > 0 || digestRows(expected) !== copiedRows) {
      throw new MaintenanceError(
        `verification failed before the swap; ${dataDir} is unchanged (staged copy left in ${staging}): ${problems.join("; ") || `copied ${copiedRows} rows, expected ${digestRows(expected)}`}`,
      );
    }
    info(
      `verified ${copied.keys} key(s) and ${copied.fields} field(s) of large hashes in ${keysTables(expected)} database table(s); swapping layouts`,
    );
    writeMarker(dataDir, marker);
    finishSwap(dataDir, marker);
    return afterSwap(options, marker, false, { ...copied, tables: keysTables(expected) });
  } finally {
    release();
  }
}

/** Phase 3, idempotent: moves old files out and staged files in, then drops the marker. */
function finishSwap(dataDir: string, marker: MigrationMarker): void {
  const staging = join(dataDir, marker.staging);
  const backup = join(dataDir, marker.backup);
  let renames = 0;
  const stagedAll = range(marker.new).every((i) => existsSync(shardPath(staging, i)));
  if (stagedAll) {
    mkdirSync(backup, { recursive: true });
    for (const name of shardFileNames(dataDir)) {
      renameSync(join(dataDir, name), join(backup, name));
      crashPoint("swap", ++renames);
    }
    fsyncDir(backup);
    fsyncDir(dataDir);
  }
  for (const i of range(marker.new)) {
    if (!existsSync(shardPath(staging, i))) continue;
    renameSync(shardPath(staging, i), shardPath(dataDir, i));
    crashPoint("swap", ++renames);
  }
  fsyncDir(dataDir);
  expectLayout(
    dataDir,
    marker.new,
    `the swap cannot complete (the old layout is in ${backup}; \`shard migrate --rollback\` restores it)`,
  );
  removeMarker(dataDir);
  rmSync(staging, { recursive: true, force: true });
}

function afterSwap(
  options: MigrateOptions,
  marker: MigrationMarker,
  resumed: boolean,
  copied: { keys: number; fields: number; tables: number } | null,
): MigrateResult {
  const { dataDir } = options;
  const backup = join(dataDir, marker.backup);
  let stats = copied;
  if (options.verifyAfterSwap || stats === null) {
    const now = Date.now();
    const oldPaths = range(marker.old).map((i) => shardPath(backup, i));
    const newPaths = range(marker.new).map((i) => shardPath(dataDir, i));
    const expected = digestLayout(oldPaths, { now });
    const actual = digestLayout(newPaths, { now, router: createRouter(marker.new) });
    const problems = compareDigests(
      expected,
      actual,
      `the backup ${backup}`,
      `the data dir ${dataDir}`,
    );
    if (problems.length > 0) {
      throw new MaintenanceError(
        `verification after the swap failed (the old layout is kept in ${backup}): ${problems.join("; ")}`,
      );
    }
    const fields = fieldRows(actual);
    options.onInfo?.(
      `verified ${dataDir} against the backup ${backup}: ${digestRows(actual) - fields} key(s) and ${fields} field(s) of large hashes match`,
    );
    stats = { keys: digestRows(actual) - fields, fields, tables: keysTables(actual) };
  }
  for (const name of readdirSync(dataDir)) {
    if (BACKUP_DIR.test(name) && name !== marker.backup) {
      rmSync(join(dataDir, name), { recursive: true, force: true });
    }
  }
  return { ...stats, backupDir: backup, resumed };
}

/**
 * Undoes an interrupted swap: staged files go back to staging and the old files come back from
 * the backup. Without a pending marker there is nothing to undo (the old layout is intact);
 * leftover staging dirs are removed. Returns whether a swap was rolled back.
 */
export function rollbackMigration(
  dataDir: string,
  onInfo: (line: string) => void = () => {},
): boolean {
  if (!existsSync(dataDir)) throw new MaintenanceError(`data dir ${dataDir} does not exist`);
  const release = acquireDataDirLock(dataDir);
  try {
    const marker = readMarker(dataDir);
    if (marker === null) {
      for (const name of readdirSync(dataDir)) {
        if (STAGING_DIR.test(name)) rmSync(join(dataDir, name), { recursive: true, force: true });
      }
      onInfo(`no interrupted migration in ${dataDir}; nothing to roll back`);
      return false;
    }
    const staging = join(dataDir, marker.staging);
    const backup = join(dataDir, marker.backup);
    const stagedAll = range(marker.new).every((i) => existsSync(shardPath(staging, i)));
    if (!stagedAll) {
      mkdirSync(staging, { recursive: true });
      for (const name of shardFileNames(dataDir))
        renameSync(join(dataDir, name), join(staging, name));
      fsyncDir(staging);
    }
    if (existsSync(backup)) {
      for (const name of shardFileNames(backup))
        renameSync(join(backup, name), join(dataDir, name));
      fsyncDir(backup);
    }
    fsyncDir(dataDir);
    expectLayout(dataDir, marker.old, "rollback cannot restore the old layout");
    removeMarker(dataDir);
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(backup) && readdirSync(backup).length === 0) rmSync(backup, { recursive: true });
    onInfo(
      `rolled back the interrupted migration ${marker.old} -> ${marker.new}: ${dataDir} holds ${marker.old} shard(s) again`,
    );
    return true;
  } finally {
    release();
  }
}
