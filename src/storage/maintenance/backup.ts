/**
 * Online backup: a consistent snapshot of every shard file of a data dir, taken while a server
 * keeps serving, with SQLite's `VACUUM INTO` on a connection of our own (one read transaction
 * per shard, so each copy is a committed state of its shard; the server's writers are not
 * blocked, and the server's lock is neither needed nor taken).
 * Cross-shard consistency: each shard is copied at its own instant, one after another, so a
 * multi-shard command (MSET, RENAME, a multi-field HSET…) committed between two shards'
 * snapshots may be in the backup for some shards only.
 * Large values (storage/large/): the files the snapshots reference are hard-linked (or
 * copied, across file systems) into `<toDir>/large/`, consistently with each snapshot.
 * Restore: stop the server, copy the `shard_<i>.db` files and the `large/` directory into an
 * empty data_dir, set num_shards to the number of files, start the server.
 * It must not import protocol, commands or cluster code, and never prints.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fsyncDir, fsyncFile } from "../engine/durable-fs.ts";
import { maintenanceSql } from "../engine/sql.ts";
import { LargeBackup } from "../large/backup.ts";
import {
  isEmptyOrMissing,
  MaintenanceError,
  openShardFile,
  shardIndexes,
  shardPath,
} from "./data-dir.ts";
import { migrationInProgress } from "./migrate.ts";

export interface BackupOptions {
  dataDir: string;
  /** Missing or empty; created when missing. */
  toDir: string;
  /** Called after each shard is copied. */
  onShard?: (shard: number, of: number, bytes: number, path: string) => void;
}

export interface BackupResult {
  shards: number;
  bytes: number;
  files: string[];
  /** Large-value files linked (or copied) into `<toDir>/large/`. */
  largeFiles: number;
}

/** Snapshots of one shard taken before giving up on a shard whose large values keep going. */
const LARGE_SNAPSHOT_ATTEMPTS = 5;

/** Copies every shard of `dataDir` into `toDir`. Throws MaintenanceError (naming paths). */
export function backupDataDir(options: BackupOptions): BackupResult {
  const dataDir = resolve(options.dataDir);
  const toDir = resolve(options.toDir);
  if (!existsSync(dataDir)) throw new MaintenanceError(`data dir ${dataDir} does not exist`);
  if (toDir === dataDir || toDir.startsWith(`${dataDir}/`)) {
    throw new MaintenanceError(`backup target ${toDir} must be outside the data dir ${dataDir}`);
  }
  const pending = migrationInProgress(dataDir);
  if (pending !== null) throw new MaintenanceError(`cannot back up: ${pending}`);
  const shards = shardIndexes(dataDir);
  if (shards.length === 0)
    throw new MaintenanceError(`no shard files (shard_<i>.db) in ${dataDir}`);
  const gaps = shards.filter((s, i) => s !== i);
  if (gaps.length > 0) {
    throw new MaintenanceError(
      `shard files in ${dataDir} are not numbered 0..${shards.length - 1}: found ${shards.map((i) => `shard_${i}.db`).join(", ")}`,
    );
  }
  if (!isEmptyOrMissing(toDir)) {
    throw new MaintenanceError(
      `backup target ${toDir} is not empty; choose a new or empty directory`,
    );
  }
  mkdirSync(toDir, { recursive: true });
  const large = new LargeBackup(dataDir, toDir);
  large.linkPresent();
  const files: string[] = [];
  let bytes = 0;
  for (const shard of shards) {
    const source = shardPath(dataDir, shard);
    const target = shardPath(toDir, shard);
    const partial = `${target}.partial`;
    for (let attempt = 1; ; attempt++) {
      const db = openShardFile(source);
      try {
        db.run(maintenanceSql.vacuumInto, [partial]);
      } catch (error) {
        rmSync(partial, { force: true });
        throw new MaintenanceError(
          `cannot copy ${source} to ${partial}: ${(error as Error).message}`,
        );
      } finally {
        db.close();
      }
      checkCopy(partial);
      // The large-value files this snapshot references (storage/large/backup.ts).
      const snapshot = openShardFile(partial, true);
      let whole: boolean;
      try {
        whole = large.linkReferenced(snapshot);
      } finally {
        snapshot.close();
      }
      if (whole) break;
      rmSync(partial, { force: true });
      if (attempt === LARGE_SNAPSHOT_ATTEMPTS)
        throw new MaintenanceError(
          `large values of ${source} kept being deleted during the backup; try again`,
        );
    }
    fsyncFile(partial);
    renameSync(partial, target);
    fsyncDir(toDir);
    const size = statSync(target).size;
    bytes += size;
    files.push(target);
    options.onShard?.(shard, shards.length, size, target);
  }
  large.prune();
  if (existsSync(join(toDir, "large"))) fsyncDir(join(toDir, "large"));
  return { shards: shards.length, bytes, files, largeFiles: large.files };
}

/** The copy must be a sound database file before it gets its final name. */
function checkCopy(path: string): void {
  const db = openShardFile(path);
  try {
    const rows = db.query(maintenanceSql.quickCheck).all() as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length > 0) {
      throw new MaintenanceError(`the copy ${path} fails quick_check: ${problems.join("; ")}`);
    }
  } finally {
    db.close();
  }
}
