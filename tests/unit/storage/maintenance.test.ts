/**
 * The offline tools' building blocks, in process: row checksums and digests
 * (storage/maintenance.ts), the shared data-dir lock, codec detection for Rust data
 * (storage/import.ts), the pending-migration check the server runs at startup and the
 * migration's refusals (storage/migrate.ts), and backup's refusals (storage/backup.ts).
 */

import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import { compressFrameSync } from "lz4-napi";
import { backupDataDir } from "../../../src/storage/backup.ts";
import { rawEncode } from "../../../src/storage/codecs/codec.ts";
import { decodeLegacy, sniffCodec } from "../../../src/storage/import.ts";
import { keyBytes } from "../../../src/storage/keys.ts";
import {
  acquireDataDirLock,
  addToDigest,
  bulkSqliteSettings,
  compareDigests,
  type Digest,
  digestLayout,
  LOCK_FILE,
  MaintenanceError,
  rowCrc,
} from "../../../src/storage/maintenance.ts";
import {
  MIGRATION_MARKER,
  migrateShards,
  migrationInProgress,
} from "../../../src/storage/migrate.ts";
import { createRouter } from "../../../src/storage/routing.ts";
import { Shard } from "../../../src/storage/shard.ts";
import { maintenanceSql } from "../../../src/storage/sql.ts";
import { LOCK_FILE as STORE_LOCK_FILE } from "../../../src/storage/store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "blobasaur-maint-"));
  dirs.push(d);
  return d;
}
const bytes = (s: string) => new TextEncoder().encode(s);

/** An our-format layout of `shards` files holding `rows` keys routed by our ring. */
function writeLayout(dataDir: string, shards: number, rows: number): void {
  mkdirSync(dataDir, { recursive: true });
  const router = createRouter(shards);
  const files = Array.from(
    { length: shards },
    (_, i) => new Shard(i, join(dataDir, `shard_${i}.db`), bulkSqliteSettings, shards),
  );
  for (let i = 0; i < rows; i++) {
    const key = `k${i}`;
    const db = files[router.shardOf(keyBytes(key))]!.db;
    db.query(maintenanceSql.insertRow("blobs")).run(
      key,
      rawEncode(bytes(`v${i}`)),
      1,
      2,
      i % 2 ? null : Date.now() + 60_000,
      3,
    );
  }
  for (const f of files) f.close();
}

test("the lock file name is the server's", () => {
  expect(LOCK_FILE).toBe(STORE_LOCK_FILE);
});

test("row checksums tell TEXT from BLOB keys, values and expiries apart", () => {
  const base = rowCrc("blobs", "k", bytes("v"), null);
  expect(rowCrc("blobs", bytes("k"), bytes("v"), null)).not.toBe(base);
  expect(rowCrc("blobs", "k", bytes("w"), null)).not.toBe(base);
  expect(rowCrc("blobs", "k", bytes("v"), 5)).not.toBe(base);
  expect(rowCrc("blobs_a", "k", bytes("v"), null)).not.toBe(base);
  expect(rowCrc("blobs", "kv", bytes(""), null)).not.toBe(rowCrc("blobs", "k", bytes("v"), null));
  expect(rowCrc("blobs", "k", bytes("v"), 5n)).toBe(rowCrc("blobs", "k", bytes("v"), 5));
});

test("digests are order-independent and a difference in count or content is reported", () => {
  const crcs = [1, 2, 3].map((i) => rowCrc("blobs", `k${i}`, bytes("v"), null));
  const a: Digest = new Map();
  const b: Digest = new Map();
  for (const c of crcs) addToDigest(a, "blobs", c);
  for (const c of [...crcs].reverse()) addToDigest(b, "blobs", c);
  expect(compareDigests(a, b, "old", "new")).toEqual([]);
  addToDigest(b, "blobs", rowCrc("blobs", "k4", bytes("v"), null));
  expect(compareDigests(a, b, "old", "new")[0]).toContain("3 row(s) in old, 4 in new");
  const c: Digest = new Map();
  for (const crc of crcs.slice(0, 2)) addToDigest(c, "blobs", crc);
  addToDigest(c, "blobs", rowCrc("blobs", "k3", bytes("changed"), null));
  expect(compareDigests(a, c, "old", "new")[0]).toContain("checksums differ");
  addToDigest(c, "blobs", rowCrc("blobs", "k3", bytes("changed"), null), -1);
  addToDigest(c, "blobs", crcs[2]!);
  expect(compareDigests(a, c, "old", "new")).toEqual([]);
});

test("the data-dir lock refuses a live holder, replaces a stale one, and is released", () => {
  const d = dir();
  writeFileSync(join(d, LOCK_FILE), `${process.ppid}\n`);
  expect(() => acquireDataDirLock(d)).toThrow(`pid ${process.ppid}`);
  writeFileSync(join(d, LOCK_FILE), "999999999\n");
  const release = acquireDataDirLock(d);
  expect(Bun.file(join(d, LOCK_FILE)).size).toBeGreaterThan(0);
  release();
  expect(existsSync(join(d, LOCK_FILE))).toBe(false);
});

test("Rust values are detected by magic bytes, with raw as the fallback", () => {
  const value = bytes("hello hello hello hello hello");
  const cases = {
    gzip: Bun.gzipSync(value),
    zstd: Bun.zstdCompressSync(value),
    lz4: compressFrameSync(Buffer.from(value)),
  } as const;
  for (const [name, stream] of Object.entries(cases)) {
    expect(sniffCodec(stream)).toBe(name as keyof typeof cases);
    expect(Buffer.from(decodeLegacy(stream, null).value).equals(Buffer.from(value))).toBe(true);
    expect(decodeLegacy(stream, null).as).toBe(name as keyof typeof cases);
  }
  const fake = new Uint8Array([0x1f, 0x8b, 1, 2, 3]);
  expect(decodeLegacy(fake, null)).toEqual({ value: fake, as: "none" });
  const brotli = brotliCompressSync(value);
  expect(Buffer.from(decodeLegacy(brotli, "brotli").value).equals(Buffer.from(value))).toBe(true);
  expect(() => decodeLegacy(cases.gzip, "zstd")).toThrow();
  expect(decodeLegacy(cases.gzip, "none").value).toBe(cases.gzip);
});

test("migrationInProgress is null without a marker and names the fix with one", () => {
  const d = dir();
  expect(migrationInProgress(d)).toBeNull();
  writeFileSync(join(d, MIGRATION_MARKER), JSON.stringify({ old: 4, new: 8 }));
  const message = migrationInProgress(d)!;
  expect(message).toContain(`shard migrate 4 8 --data-dir ${d}`);
  expect(message).toContain("--rollback");
  writeFileSync(join(d, MIGRATION_MARKER), "{torn");
  expect(migrationInProgress(d)).toContain("interrupted shard migration");
});

test("an in-process migration moves every row and its metadata, keeping a backup", () => {
  const d = dir();
  writeLayout(d, 3, 500);
  const now = Date.now();
  const before = digestLayout(
    [0, 1, 2].map((i) => join(d, `shard_${i}.db`)),
    { now },
  );
  const result = migrateShards({ dataDir: d, oldShards: 3, newShards: 5, now, batchRows: 64 });
  expect(result.rows).toBe(500);
  const after = digestLayout(
    [0, 1, 2, 3, 4].map((i) => join(d, `shard_${i}.db`)),
    { now, router: createRouter(5) },
  );
  expect(compareDigests(before, after, "before", "after")).toEqual([]);
  expect(
    readdirSync(result.backupDir)
      .filter((n) => n.endsWith(".db"))
      .sort(),
  ).toEqual(["shard_0.db", "shard_1.db", "shard_2.db"]);
  expect(existsSync(join(d, LOCK_FILE))).toBe(false);
});

test("migrate refuses tables it does not know and Rust-format files", () => {
  const d = dir();
  writeLayout(d, 2, 10);
  const db = new Database(join(d, "shard_1.db"));
  db.run('CREATE TABLE "blobs_Weird" (key TEXT PRIMARY KEY, value BLOB)');
  db.close();
  expect(() => migrateShards({ dataDir: d, oldShards: 2, newShards: 3 })).toThrow("blobs_Weird");
  expect(
    readdirSync(d)
      .filter((n) => n.endsWith(".db"))
      .sort(),
  ).toEqual(["shard_0.db", "shard_1.db"]);
  const rust = dir();
  const r = new Database(join(rust, "shard_0.db"));
  r.run(
    "CREATE TABLE blobs (key TEXT PRIMARY KEY, data BLOB, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 0)",
  );
  r.close();
  expect(() => migrateShards({ dataDir: rust, oldShards: 1, newShards: 2 })).toThrow(
    "blobasaur import",
  );
});

test("backup refuses a target inside the data dir and a data dir mid-migration", () => {
  const d = dir();
  writeLayout(d, 2, 10);
  expect(() => backupDataDir({ dataDir: d, toDir: join(d, "b") })).toThrow(MaintenanceError);
  writeFileSync(join(d, MIGRATION_MARKER), JSON.stringify({ old: 2, new: 3 }));
  const elsewhere = join(dir(), "b");
  expect(() => backupDataDir({ dataDir: d, toDir: elsewhere })).toThrow(
    "interrupted shard migration",
  );
  rmSync(join(d, MIGRATION_MARKER));
  expect(backupDataDir({ dataDir: d, toDir: elsewhere }).shards).toBe(2);
});
