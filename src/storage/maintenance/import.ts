/**
 * Import of a data dir written by the Rust original (reference §4): tables `blobs` and
 * `blobs_<ns>` with a `data` column, times in unix seconds, values as bare codec streams with no
 * header (gzip 1f8b…, zstd 28b52ffd…, LZ4 frame 04224d18…, raw brotli, or identity for none).
 * The result is format 2 (sql.ts), database 0: `blobs` rows become string keys, re-routed with
 * our ring into N new shards; each namespace `blobs_<ns>` becomes the hash key `<ns>`, placed by
 * its key (import-hashes.ts, which also settles a namespace whose name a string holds). Times
 * become milliseconds, and each value is decoded and stored raw behind our codec header 0
 * (rawEncode): the server's configured compression applies from the next write of each key.
 * A value longer than the large-value threshold goes to a file under `large/`, as the server
 * would store it (string rows of type 3, hash fields as references). Expired rows are dropped.
 * The target must be empty; files are built in `<out>/.import-staging/`, verified (count, XOR
 * and sum of CRC-32s over every string's key, decoded value and expiry, every hash's key, and
 * every field's hash, name, decoded value, expiry and position; file values are read back)
 * and only then moved in: `large/` first, then the shards highest first, so an interrupted
 * move never leaves a set a server would accept (shard_0.db arrives last). Sources are opened read-only and never modified. Data dirs of this
 * server (format 1 or 2) are not imported: `shard migrate` re-shards them.
 * It must not import protocol, commands or cluster code, and never prints.
 */

import type { Database, Statement } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { limits } from "../../limits.ts";
import { decodeValue, rawEncode } from "../codecs/codec.ts";
import { fsyncDir, fsyncFile } from "../engine/durable-fs.ts";
import { slotOfKey } from "../engine/key-slot.ts";
import { type KeyParam, keyBytes, keyParam } from "../engine/keys.ts";
import { createRouter } from "../engine/routing.ts";
import { Shard } from "../engine/shard.ts";
import {
  keyspaceTables,
  largeSql,
  maintenanceSql,
  ROW_STRING,
  ROW_STRING_FILE,
} from "../engine/sql.ts";
import { LargeFiles } from "../large/files.ts";
import { encodeRef } from "../large/format.ts";
import { acrossTargets, copyPages } from "./copy-pages.ts";
import {
  acquireDataDirLock,
  bulkSqliteSettings,
  isEmptyOrMissing,
  legacyTables,
  MaintenanceError,
  openShardFile,
  shardIndexes,
  shardPath,
} from "./data-dir.ts";
import {
  addToDigest,
  compareDigests,
  type Digest,
  digestLayout,
  fileValue,
  rowCrc,
} from "./digest.ts";
import {
  type ImportConflict,
  importNamespaces,
  type NamespaceSource,
  namespaceSpellings,
  type OnConflict,
  rawCodec,
} from "./import-hashes.ts";
import { decodeLegacy, type LegacyCompression } from "./legacy-codecs.ts";

export { type ImportConflict, ON_CONFLICT, type OnConflict } from "./import-hashes.ts";
export { LEGACY_COMPRESSIONS, type LegacyCompression } from "./legacy-codecs.ts";

export interface ImportOptions {
  fromDir: string;
  outDir: string;
  shards: number;
  /** The Rust server's setting; null = detect per value by magic bytes, else raw. */
  compression: LegacyCompression | null;
  /** A namespace whose name a string holds (import-hashes.ts); default "rename". */
  onConflict?: OnConflict;
  batchRows?: number;
  /** Values longer than this go to files under large/ (default: the server's default). */
  largeValueThresholdBytes?: number;
  /** ms since the epoch deciding which rows count as expired (default: now). */
  now?: number;
  onInfo?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  /** String keys imported. */
  strings: number;
  /** Hash keys made from namespaces, and the fields they hold. */
  hashes: number;
  fields: number;
  sourceShards: number;
  /** Keys or fields found in more than one source shard (a failed Rust migration leaves them): newest kept. */
  duplicates: number;
  /** Namespaces that shared their name with a string, and what became of each. */
  conflicts: ImportConflict[];
  /** How many values were decoded as each codec. */
  decodedAs: Record<LegacyCompression, number>;
  /** Values (strings and fields) stored in files under large/. */
  files: number;
}

interface LegacyRow {
  rowid: bigint;
  key: string | Uint8Array;
  data: Uint8Array | string | null;
  created_at: bigint;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
}

const I64_MAX = 9_223_372_036_854_775_807n;
const toMs = (seconds: bigint): bigint => {
  const ms = seconds * 1000n;
  return ms > I64_MAX ? I64_MAX : ms;
};
const encoder = new TextEncoder();

/** Imports a Rust data dir into an empty `outDir`. Throws MaintenanceError naming paths. */
export function importLegacyDataDir(options: ImportOptions): ImportResult {
  const fromDir = resolve(options.fromDir);
  const outDir = resolve(options.outDir);
  const info = options.onInfo ?? (() => {});
  if (!Number.isInteger(options.shards) || options.shards < 1)
    throw new RangeError("shards must be >= 1");
  if (!existsSync(fromDir)) throw new MaintenanceError(`source dir ${fromDir} does not exist`);
  if (fromDir === outDir)
    throw new MaintenanceError(`source and target are the same directory ${fromDir}`);
  const sources = shardIndexes(fromDir);
  if (sources.length === 0)
    throw new MaintenanceError(`no shard files (shard_<i>.db) in ${fromDir}`);
  if (!isEmptyOrMissing(outDir)) {
    throw new MaintenanceError(
      `target data dir ${outDir} is not empty; import needs an empty directory`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  const release = acquireDataDirLock(outDir);
  const staging = join(outDir, ".import-staging");
  try {
    mkdirSync(staging);
    const now = options.now ?? Date.now();
    const newPaths = Array.from({ length: options.shards }, (_, i) => shardPath(staging, i));
    info(
      `importing ${sources.length} shard file(s) from ${fromDir} into ${options.shards} shard(s) in ${outDir}`,
    );
    const large = new LargeFiles(staging, rawCodec(), {
      thresholdBytes: options.largeValueThresholdBytes ?? limits.largeValueThresholdBytes,
      chunkBytes: limits.largeChunkBytes,
      collectIntervalMs: limits.largeCollectIntervalMs,
    });
    const { result, expected } = copyLegacy(fromDir, sources, newPaths, now, options, large);
    info(
      `verifying ${result.strings} string(s) and ${result.fields} field(s) in ${result.hashes} hash(es) in ${staging}`,
    );
    const actual = digestLayout(newPaths, {
      now,
      router: createRouter(options.shards),
      decoded: true,
    });
    const problems = compareDigests(expected, actual, fromDir, staging);
    if (problems.length > 0) {
      throw new MaintenanceError(
        `import verification failed (nothing moved into ${outDir}): ${problems.join("; ")}`,
      );
    }
    // Files first: a server started on a half-moved dir finds no shard_0.db and refuses it.
    renameSync(large.dir, join(outDir, "large"));
    for (let i = options.shards - 1; i >= 0; i--) renameSync(newPaths[i]!, shardPath(outDir, i));
    fsyncDir(outDir);
    rmSync(staging, { recursive: true, force: true });
    return result;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    release();
  }
}

function copyLegacy(
  fromDir: string,
  sources: number[],
  newPaths: string[],
  now: number,
  options: ImportOptions,
  large: LargeFiles,
): { result: ImportResult; expected: Digest } {
  const batch = options.batchRows ?? limits.maintenanceBatchRows;
  const nowSec = Math.floor(now / 1000);
  const router = createRouter(newPaths.length);
  const paths = sources.map((i) => shardPath(fromDir, i));
  const dbs: Database[] = [];
  const targets: Shard[] = [];
  const expected: Digest = new Map();
  const result: ImportResult = {
    strings: 0,
    hashes: 0,
    fields: 0,
    sourceShards: sources.length,
    duplicates: 0,
    conflicts: [],
    decodedAs: { none: 0, gzip: 0, zstd: 0, lz4: 0, brotli: 0 },
    files: 0,
  };
  try {
    for (const path of paths) dbs.push(openShardFile(path, true));
    newPaths.forEach((p, i) => {
      // Every imported row gets its slot (a cluster node then needs no back-fill).
      const shard = new Shard(i, p, bulkSqliteSettings, newPaths.length, true);
      shard.attachLarge(large);
      targets.push(shard);
    });
    const spelling = namespaceSpellings(dbs, paths);
    const keys = keyspaceTables(0).keys;
    const stmts = targets.map(({ db }) => ({
      insert: db.prepare(maintenanceSql.insertRow(keys)),
      get: db.prepare(maintenanceSql.getRow(keys)).safeIntegers(true),
      replace: db.prepare(maintenanceSql.replaceRow(keys)),
    }));
    let total = 0;
    for (const db of dbs) {
      for (const t of legacyTables(db))
        total += Number((db.query(maintenanceSql.countLive(t)).get(nowSec) as { n: bigint }).n);
    }
    let done = 0;
    options.onProgress?.(0, total);
    const decode = (data: Uint8Array, s: number, table: string, key: KeyParam): Uint8Array => {
      let decoded: ReturnType<typeof decodeLegacy>;
      try {
        decoded = decodeLegacy(data, options.compression);
      } catch (error) {
        throw new MaintenanceError(
          `${paths[s]}: table ${table}, key ${JSON.stringify(String(key))}: value is not a ${options.compression} stream (${(error as Error).message}); try without --compression to detect each value's codec`,
        );
      }
      result.decodedAs[decoded.as]++;
      return decoded.value;
    };
    // Strings first, so a namespace can see which names strings hold.
    const namespaces = new Map<string, NamespaceSource[]>();
    dbs.forEach((db, s) => {
      for (const table of legacyTables(db)) {
        if (table !== "blobs") {
          const ns = spelling.get(table.slice("blobs_".length).toLowerCase())!;
          namespaces.set(ns, [...(namespaces.get(ns) ?? []), { source: s, table }]);
          continue;
        }
        const page = legacyPage(db, table, paths[s]!);
        copyPages<LegacyRow>(
          page,
          nowSec,
          batch,
          acrossTargets(targets),
          (rows) => {
            for (const row of rows) {
              const key = keyParam(keyBytes(row.key));
              const value = decode(bytesOf(row.data), s, table, row.key);
              const expiresMs = row.expires_at === null ? null : toMs(row.expires_at);
              copyRow(
                stmts[router.shardOf(keyBytes(key))]!,
                { table: keys, key, value, row, expiresMs, large },
                expected,
                result,
              );
            }
          },
          (rows) => {
            result.strings += rows.length;
            done += rows.length;
            options.onProgress?.(done, total);
          },
        );
      }
    });
    result.strings -= result.duplicates;
    // Every namespace table must be readable as the Rust original's before any is imported.
    for (const list of namespaces.values())
      for (const { source, table } of list) legacyPage(dbs[source]!, table, paths[source]!);
    const hashes = importNamespaces(
      {
        dbs,
        paths,
        targets,
        router,
        now,
        batchRows: batch,
        onConflict: options.onConflict ?? "rename",
        decode,
        expected,
        onRows: (n) => {
          done += n;
          options.onProgress?.(done, total);
        },
      },
      namespaces,
    );
    result.hashes = hashes.hashes;
    result.fields = hashes.fields;
    result.duplicates += hashes.duplicates;
    result.conflicts = hashes.conflicts;
    // Files of values a newer duplicate or a conflict replaced; none is left behind.
    large.removeOrphans(targets);
    for (const t of targets) t.db.run(largeSql.garbageDelete, [Number.MAX_SAFE_INTEGER]);
    result.files = readdirSync(large.dir).filter((name) => name !== "tmp").length;
    return { result, expected };
  } finally {
    for (const db of dbs) db.close();
    for (const t of targets) {
      t.rollbackTransaction();
      t.close();
    }
    for (const p of newPaths) if (existsSync(p)) fsyncFile(p);
  }
}

/** The page query of a Rust table; our own tables (no `data` column) are refused here. */
function legacyPage(db: Database, table: string, path: string): Statement {
  try {
    return db.query(maintenanceSql.legacyPageLive(table));
  } catch (error) {
    throw new MaintenanceError(
      `${path}: table ${table} is not in the Rust original's format (${(error as Error).message}); a data dir of this server is migrated with \`shard migrate\`, not imported`,
    );
  }
}

function bytesOf(data: Uint8Array | string | null): Uint8Array {
  if (data === null) return new Uint8Array(0);
  return typeof data === "string" ? encoder.encode(data) : data;
}

interface StringCopy {
  table: string;
  key: KeyParam;
  value: Uint8Array;
  row: LegacyRow;
  expiresMs: bigint | null;
  large: LargeFiles;
}

/**
 * Inserts one string row, its value in a file when past the threshold; on a duplicate key the
 * newer row (updated_at, then version) is kept. A file the losing row leaves behind is
 * removed after the copy (the garbage triggers and removeOrphans).
 */
function copyRow(
  stmts: { insert: Statement; get: Statement; replace: Statement },
  c: StringCopy,
  expected: Digest,
  result: ImportResult,
): void {
  const { table, key, value, row, expiresMs, large } = c;
  const inFile = value.length > large.thresholdBytes;
  const args = [
    key,
    inFile ? encodeRef(large.writeWhole(value)) : rawEncode(value),
    toMs(row.created_at),
    toMs(row.updated_at),
    expiresMs,
    row.version,
    inFile ? ROW_STRING_FILE : ROW_STRING,
  ] as const;
  // Duplicates are rare: insert first, and look at the row already there only on a conflict.
  if (stmts.insert.run(...args, slotOfKey(key)).changes === 1) {
    addToDigest(expected, table, rowCrc(table, key, value, expiresMs));
    return;
  }
  result.duplicates++;
  const old = stmts.get.get(key) as {
    value: Uint8Array;
    updated_at: bigint;
    expires_at: bigint | null;
    version: bigint;
    type: bigint;
  };
  const updatedAt = args[3];
  const newer =
    updatedAt > old.updated_at || (updatedAt === old.updated_at && row.version > old.version);
  if (!newer) return;
  stmts.replace.run(...args);
  const oldValue =
    Number(old.type) === ROW_STRING_FILE
      ? fileValue(dirname(large.dir), old.value)
      : decodeValue(old.value);
  addToDigest(expected, table, rowCrc(table, key, oldValue, old.expires_at), -1);
  addToDigest(expected, table, rowCrc(table, key, value, expiresMs));
}
