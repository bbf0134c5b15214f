/**
 * The offline tools' building blocks, in process: row checksums and digests
 * (storage/maintenance/digest.ts), the shared data-dir lock, codec detection for Rust data
 * (storage/maintenance/import.ts), the pending-migration check the server runs at startup and the
 * migration's refusals (storage/maintenance/migrate.ts), and backup's refusals (storage/maintenance/backup.ts).
 */

import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import { compressFrameSync } from "lz4-napi";
import { defaultConfig } from "../../../src/config/index.ts";
import { rawEncode } from "../../../src/storage/codecs/codec.ts";
import { slotOfKey } from "../../../src/storage/engine/key-slot.ts";
import { keyBytes, keyParam } from "../../../src/storage/engine/keys.ts";
import { createRouter } from "../../../src/storage/engine/routing.ts";
import { Shard } from "../../../src/storage/engine/shard.ts";
import {
  maintenanceSql,
  ROW_HASH_INLINE,
  ROW_HASH_TABLE,
  ROW_STRING,
} from "../../../src/storage/engine/sql.ts";
import { backupDataDir } from "../../../src/storage/maintenance/backup.ts";
import {
  acquireDataDirLock,
  bulkSqliteSettings,
  LOCK_FILE,
  MaintenanceError,
} from "../../../src/storage/maintenance/data-dir.ts";
import {
  addToDigest,
  compareDigests,
  type Digest,
  digestLayout,
  rowCrc,
} from "../../../src/storage/maintenance/digest.ts";
import { decodeLegacy, sniffCodec } from "../../../src/storage/maintenance/legacy-codecs.ts";
import {
  MIGRATION_MARKER,
  migrateShards,
  migrationInProgress,
} from "../../../src/storage/maintenance/migrate.ts";
import { LOCK_FILE as STORE_LOCK_FILE, Store } from "../../../src/storage/store.ts";

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
    (_, i) => new Shard(i, join(dataDir, `shard_${i}.db`), bulkSqliteSettings, shards, false),
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
      ROW_STRING,
      slotOfKey(key),
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
  expect(result.keys).toBe(500);
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

// ---- migrate of hashes and of other databases, through a real Store -----------------------

function openStore(dataDir: string, numShards: number): Store {
  const config = defaultConfig({ dataDir, numShards });
  return new Store({
    dataDir,
    numShards,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 1000,
    batchTimeoutMs: 0,
  });
}

interface Written {
  db: number;
  key: Uint8Array;
  /** A string's value, or a hash's fields in insertion order. */
  value: Uint8Array | { field: Uint8Array; value: Uint8Array; expiresAt: number | null }[];
  expiresAt: number | null;
}

/** Strings, small hashes and large hashes (> 128 fields, some with TTLs) in databases 0 and 3. */
async function writeMixed(store: Store): Promise<Written[]> {
  const later = Date.now() + 3_600_000;
  const written: Written[] = [];
  for (const db of [0, 3]) {
    const ks = store.keyspace(db);
    for (let i = 0; i < 40; i++) {
      const key = bytes(`db${db}:s${i}`);
      const value = bytes(`string ${i} of db ${db}`);
      const expiresAt = i % 4 === 0 ? later + i : null;
      await ks.write(key, (t, now) => t.put(keyParam(key), value, now, expiresAt));
      written.push({ db, key, value, expiresAt });
    }
    for (const [name, n] of [
      ["small", 5],
      ["large", 300],
      ["wide", 130],
    ] as const) {
      for (let h = 0; h < 3; h++) {
        const key =
          h === 2 ? new Uint8Array([0xff, db, n & 0xff, 0]) : bytes(`db${db}:${name}:${h}`);
        const fields = Array.from({ length: n }, (_, i) => ({
          field: i === 1 ? new Uint8Array([0xfe, i, 0]) : bytes(`f${(i * 7919) % 1000}`),
          value: bytes(`v${i}-${name}-${db}`),
          expiresAt: i % 9 === 0 ? later + i : null,
        }));
        const keyExpiry = h === 1 ? later + 5 : null;
        await ks.writeHash(key, (table, now) => {
          const w = table.hashWriter(keyParam(key), now);
          for (const f of fields) w.set(f.field, f.value, f.expiresAt, now);
          w.save(now);
          if (keyExpiry !== null) table.setExpiry(keyParam(key), keyExpiry);
        });
        written.push({ db, key, value: fields, expiresAt: keyExpiry });
      }
    }
  }
  return written;
}

/** Every written key reads back equal: type, value or fields in order, TTLs; nothing else. */
function expectReadBack(store: Store, written: Written[]): void {
  const now = Date.now();
  for (const w of written) {
    const ks = store.keyspace(w.db);
    const table = ks.tableFor(w.key);
    const entry = table.entry(keyParam(w.key), now);
    expect(entry).not.toBeNull();
    expect(entry!.expiresAt).toBe(w.expiresAt);
    if (w.value instanceof Uint8Array) {
      expect(entry!.type).toBe(ROW_STRING);
      expect(Buffer.from(entry!.value).equals(Buffer.from(w.value))).toBe(true);
      continue;
    }
    const hash = table.hash(keyParam(w.key), now)!;
    expect(hash.encoding).toBe(w.value.length > 128 ? "hashtable" : "listpack");
    expect(entry!.type).toBe(w.value.length > 128 ? ROW_HASH_TABLE : ROW_HASH_INLINE);
    expect(hash.len(now)).toBe(w.value.length);
    const got: { field: string; value: string; expiresAt: number | null }[] = [];
    for (let after = 0; ; ) {
      const page = hash.page(after, 50, now);
      for (const item of page.items)
        got.push({
          field: Buffer.from(item.field).toString("hex"),
          value: Buffer.from(item.value).toString("hex"),
          expiresAt: item.expiresAt,
        });
      if (page.next === 0) break;
      after = page.next;
    }
    expect(got).toEqual(
      w.value.map((f) => ({
        field: Buffer.from(f.field).toString("hex"),
        value: Buffer.from(f.value).toString("hex"),
        expiresAt: f.expiresAt,
      })),
    );
  }
  for (const db of [0, 3]) {
    expect(store.keyspace(db).countKeys(now)).toBe(written.filter((w) => w.db === db).length);
  }
}

test("migrate moves strings, small and large hashes (fields, order, TTLs) of databases 0 and 3", async () => {
  const d = dir();
  const before = openStore(d, 3);
  const written = await writeMixed(before);
  expectReadBack(before, written);
  // A large hash whose every field expired is dead and is not carried over.
  const dead = bytes("db0:dead");
  await before.db0.writeHash(dead, (table, now) => {
    const w = table.hashWriter(keyParam(dead), now);
    for (let i = 0; i < 200; i++) w.set(bytes(`x${i}`), bytes("x"), now + 1, now);
    w.save(now);
  });
  await before.close();
  await Bun.sleep(5);
  const now = Date.now();
  const result = migrateShards({ dataDir: d, oldShards: 3, newShards: 5, now, batchRows: 7 });
  const large = written.filter((w) => !(w.value instanceof Uint8Array) && w.value.length > 128);
  expect(result.keys).toBe(written.length);
  expect(result.fields).toBe(large.reduce((n, w) => n + (w.value as unknown[]).length, 0));
  expect(result.tables).toBe(2);
  const after = openStore(d, 5);
  try {
    expectReadBack(after, written);
    expect(after.db0.entry(dead)).toBeNull();
  } finally {
    await after.close();
  }
  // And back down to one shard, verified against the backup after the swap.
  const down = migrateShards({ dataDir: d, oldShards: 5, newShards: 1, verifyAfterSwap: true });
  expect(down.keys).toBe(written.length);
  const one = openStore(d, 1);
  try {
    expectReadBack(one, written);
  } finally {
    await one.close();
  }
});

test("the migrate digest covers large hash fields: a changed field fails verification", () => {
  const d = dir();
  writeLayout(d, 1, 3);
  const db = new Database(join(d, "shard_0.db"));
  const id = (
    db
      .query(maintenanceSql.insertRow("blobs"))
      .get("h", new Uint8Array(0), 1, 1, null, 0, ROW_HASH_TABLE, slotOfKey("h")) as {
      id: number;
    }
  ).id;
  for (let i = 0; i < 3; i++)
    db.query(maintenanceSql.insertField("fields")).run(id, `f${i}`, rawEncode(bytes("v")), null);
  db.query(maintenanceSql.setFieldCount("blobs")).run(id, 3);
  db.close();
  const now = Date.now();
  const a = digestLayout([join(d, "shard_0.db")], { now });
  expect(a.get("fields")?.rows).toBe(3);
  const db2 = new Database(join(d, "shard_0.db"));
  db2.run(`UPDATE fields SET value = ?1 WHERE field = 'f1'`, [rawEncode(bytes("w"))]);
  db2.close();
  const b = digestLayout([join(d, "shard_0.db")], { now });
  expect(compareDigests(a, b, "a", "b")[0]).toContain("table fields");
});

test("migrate refuses a format 1 data dir and says how to upgrade it", () => {
  const d = dir();
  const db = new Database(join(d, "shard_0.db"));
  db.run(
    "CREATE TABLE blobs (key TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 0)",
  );
  db.run(
    "CREATE TABLE blobs_users (key TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 0)",
  );
  db.run("PRAGMA user_version = 1");
  db.close();
  expect(() => migrateShards({ dataDir: d, oldShards: 1, newShards: 2 })).toThrow(
    "start the server on this data dir once",
  );
  expect(readdirSync(d).filter((n) => n.endsWith(".db"))).toEqual(["shard_0.db"]);
});
