/**
 * Import of a data dir written by the Rust original (reference §4): tables `blobs` and
 * `blobs_<ns>` with a `data` column, times in unix seconds, values as bare codec streams with no
 * header (gzip 1f8b…, zstd 28b52ffd…, LZ4 frame 04224d18…, raw brotli, or identity for none).
 * Rows are re-routed with our ring into N new shards, times become milliseconds, and each value
 * is decoded and stored raw behind our codec header 0 (rawEncode): the server's configured
 * compression applies from the next write of each key. Expired rows are dropped.
 * The target must be empty; files are built in `<out>/.import-staging/`, verified (per table:
 * count, XOR and sum of CRC-32s over table, key, decoded value and expiry) and only then moved
 * in, highest shard first, so an interrupted move never leaves a set a server would accept
 * (shard_0.db arrives last). Sources are opened read-only and never modified.
 * It must not import protocol, commands or cluster code, and never prints.
 */

import type { Database, Statement } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { decodeValue, rawEncode } from "./codecs/codec.ts";
import { type KeyParam, keyBytes, keyParam } from "./keys.ts";
import {
  acquireDataDirLock,
  addToDigest,
  bulkSqliteSettings,
  compareDigests,
  type Digest,
  digestLayout,
  fsyncDir,
  fsyncFile,
  isEmptyOrMissing,
  MaintenanceError,
  openShardFile,
  rowCrc,
  rowTables,
  shardIndexes,
  shardPath,
} from "./maintenance.ts";
import { tableNameOf } from "./namespaces.ts";
import { createRouter } from "./routing.ts";
import { Shard } from "./shard.ts";
import { createTableSql, maintenanceSql } from "./sql.ts";

export type LegacyCompression = "none" | "gzip" | "zstd" | "lz4" | "brotli";
export const LEGACY_COMPRESSIONS: readonly LegacyCompression[] = [
  "none",
  "gzip",
  "zstd",
  "lz4",
  "brotli",
];

type Lz4Napi = typeof import("lz4-napi");
const lz4 = (): Lz4Napi => require("lz4-napi");

const decoders: Record<Exclude<LegacyCompression, "none">, (data: Uint8Array) => Uint8Array> = {
  gzip: (d) => Bun.gunzipSync(d as Uint8Array<ArrayBuffer>),
  zstd: (d) => Bun.zstdDecompressSync(d as Uint8Array<ArrayBuffer>),
  lz4: (d) => lz4().decompressFrameSync(Buffer.from(d.buffer, d.byteOffset, d.byteLength)),
  brotli: (d) => brotliDecompressSync(d),
};

/** The codec whose magic bytes open `data` (brotli has none, so it is never sniffed). */
export function sniffCodec(data: Uint8Array): "gzip" | "zstd" | "lz4" | null {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return "gzip";
  const magic =
    data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) : 0;
  if (magic === 0xfd2fb528) return "zstd";
  if (magic === 0x184d2204) return "lz4";
  return null;
}

/**
 * Decodes one stored value. With an explicit algorithm every value must decode (the Rust
 * server compressed every value); with null the magic bytes decide and a value that does not
 * decode is taken as raw (data written before compression was turned on).
 */
export function decodeLegacy(
  data: Uint8Array,
  compression: LegacyCompression | null,
): { value: Uint8Array; as: LegacyCompression } {
  if (compression === "none") return { value: data, as: "none" };
  if (compression !== null) return { value: decoders[compression](data), as: compression };
  const sniffed = sniffCodec(data);
  if (sniffed !== null) {
    try {
      return { value: decoders[sniffed](data), as: sniffed };
    } catch {
      // Raw bytes that happen to start with a magic number.
    }
  }
  return { value: data, as: "none" };
}

export interface ImportOptions {
  fromDir: string;
  outDir: string;
  shards: number;
  /** The Rust server's setting; null = detect per value by magic bytes, else raw. */
  compression: LegacyCompression | null;
  batchRows?: number;
  /** ms since the epoch deciding which rows count as expired (default: now). */
  now?: number;
  onInfo?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportResult {
  rows: number;
  tables: number;
  sourceShards: number;
  /** Keys found in more than one source shard (a failed Rust migration leaves them): newest kept. */
  duplicates: number;
  /** How many values were decoded as each codec. */
  decodedAs: Record<LegacyCompression, number>;
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
    const { result, expected } = copyLegacy(fromDir, sources, newPaths, now, options);
    info(`verifying ${result.rows} row(s) in ${staging}`);
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

/** Chooses one namespace spelling per case-folded name: SQLite (and so the Rust server) kept
 * every spelling of a namespace in one table, named by whichever spelling came first in that
 * shard. The spelling used by most shards wins (ties: sort order), so clients that always use
 * one spelling keep finding their fields. */
function namespaceSpellings(dbs: Database[], paths: string[]): Map<string, string> {
  const votes = new Map<string, Map<string, number>>();
  dbs.forEach((db, s) => {
    for (const table of rowTables(db)) {
      if (table === "blobs") continue;
      const ns = table.slice("blobs_".length);
      if (!/^[A-Za-z0-9_]+$/.test(ns)) {
        throw new MaintenanceError(
          `${paths[s]} holds table ${table}, which is not a namespace table`,
        );
      }
      const byCase = votes.get(ns.toLowerCase()) ?? new Map<string, number>();
      byCase.set(ns, (byCase.get(ns) ?? 0) + 1);
      votes.set(ns.toLowerCase(), byCase);
    }
  });
  const chosen = new Map<string, string>();
  for (const [folded, byCase] of votes) {
    const best = [...byCase].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    chosen.set(folded, best);
  }
  return chosen;
}

function copyLegacy(
  fromDir: string,
  sources: number[],
  newPaths: string[],
  now: number,
  options: ImportOptions,
): { result: ImportResult; expected: Digest } {
  const batch = options.batchRows ?? 5000;
  const nowSec = Math.floor(now / 1000);
  const router = createRouter(newPaths.length);
  const paths = sources.map((i) => shardPath(fromDir, i));
  const dbs: Database[] = [];
  const targets: Shard[] = [];
  const expected: Digest = new Map();
  const result: ImportResult = {
    rows: 0,
    tables: 0,
    sourceShards: sources.length,
    duplicates: 0,
    decodedAs: { none: 0, gzip: 0, zstd: 0, lz4: 0, brotli: 0 },
  };
  try {
    for (const path of paths) dbs.push(openShardFile(path, true));
    newPaths.forEach((p, i) => {
      targets.push(new Shard(i, p, bulkSqliteSettings, newPaths.length));
    });
    const spelling = namespaceSpellings(dbs, paths);
    const stmts = targets.map(
      () => new Map<string, { insert: Statement; get: Statement; replace: Statement }>(),
    );
    const stmtsFor = (shard: number, table: string) => {
      let s = stmts[shard]!.get(table);
      if (s === undefined) {
        const db = targets[shard]!.db;
        db.run(createTableSql(table));
        s = {
          insert: db.prepare(maintenanceSql.insertRow(table)),
          get: db.prepare(maintenanceSql.getRow(table)).safeIntegers(true),
          replace: db.prepare(maintenanceSql.replaceRow(table)),
        };
        stmts[shard]!.set(table, s);
      }
      return s;
    };
    let total = 0;
    for (const db of dbs) {
      for (const t of rowTables(db))
        total += Number((db.query(maintenanceSql.countLive(t)).get(nowSec) as { n: bigint }).n);
    }
    options.onProgress?.(0, total);
    const seenTables = new Set<string>();
    dbs.forEach((db, s) => {
      for (const table of rowTables(db)) {
        const dest =
          table === "blobs" ? "blobs" : tableNameOf(spelling.get(table.slice(6).toLowerCase())!);
        seenTables.add(dest);
        let page: Statement;
        try {
          page = db.query(maintenanceSql.legacyPageLive(table));
        } catch (error) {
          throw new MaintenanceError(
            `${paths[s]}: table ${table} is not in the Rust original's format (${(error as Error).message}); a data dir of this server is migrated with \`shard migrate\`, not imported`,
          );
        }
        let after = 0n;
        for (;;) {
          const rows = page.all(after, nowSec, batch) as LegacyRow[];
          if (rows.length === 0) break;
          for (const t of targets) t.beginImmediate();
          for (const row of rows) {
            const key = keyParam(keyBytes(row.key));
            const data =
              row.data === null
                ? new Uint8Array(0)
                : typeof row.data === "string"
                  ? encoder.encode(row.data)
                  : row.data;
            let decoded: ReturnType<typeof decodeLegacy>;
            try {
              decoded = decodeLegacy(data, options.compression);
            } catch (error) {
              throw new MaintenanceError(
                `${paths[s]}: table ${table}, key ${JSON.stringify(String(row.key))}: value is not a ${options.compression} stream (${(error as Error).message}); try without --compression to detect each value's codec`,
              );
            }
            result.decodedAs[decoded.as]++;
            const expiresMs = row.expires_at === null ? null : toMs(row.expires_at);
            copyRow(
              stmtsFor(router.shardOf(keyBytes(key)), dest),
              dest,
              key,
              decoded.value,
              row,
              expiresMs,
              expected,
              result,
            );
          }
          for (const t of targets) t.commitTransaction();
          result.rows += rows.length;
          options.onProgress?.(result.rows, total);
          after = rows[rows.length - 1]!.rowid;
        }
      }
    });
    result.rows -= result.duplicates;
    result.tables = seenTables.size;
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

/** Inserts one row; on a duplicate key the newer row (updated_at, then version) is kept. */
function copyRow(
  stmts: { insert: Statement; get: Statement; replace: Statement },
  table: string,
  key: KeyParam,
  value: Uint8Array,
  row: LegacyRow,
  expiresMs: bigint | null,
  expected: Digest,
  result: ImportResult,
): void {
  const args = [
    key,
    rawEncode(value),
    toMs(row.created_at),
    toMs(row.updated_at),
    expiresMs,
    row.version,
  ] as const;
  if (stmts.insert.run(...args).changes === 1) {
    addToDigest(expected, table, rowCrc(table, key, value, expiresMs));
    return;
  }
  result.duplicates++;
  const old = stmts.get.get(key) as {
    value: Uint8Array;
    updated_at: bigint;
    expires_at: bigint | null;
    version: bigint;
  };
  const updatedAt = args[3];
  const newer =
    updatedAt > old.updated_at || (updatedAt === old.updated_at && row.version > old.version);
  if (!newer) return;
  stmts.replace.run(...args);
  addToDigest(expected, table, rowCrc(table, key, decodeValue(old.value), old.expires_at), -1);
  addToDigest(expected, table, rowCrc(table, key, value, expiresMs));
}
