import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import Redis from "ioredis";
import { compressFrameSync } from "lz4-napi";
import { decodeValue } from "../../src/storage/codecs/codec.ts";
import { keyBytes } from "../../src/storage/keys.ts";
import { tableNameOf } from "../../src/storage/namespaces.ts";
import { createRouter } from "../../src/storage/routing.ts";
import { checkDataset, configFor, fillDataset, runCli, startServer } from "../helpers/dataset.ts";
import { tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir("blobasaur-backup-");
  dirs.push(d);
  return d;
}
const shardFiles = (d: string) => readdirSync(d).filter((n) => /^shard_\d+\.db$/.test(n));

test("a backup taken under write load restores every key acknowledged before it started", async () => {
  const base = dir();
  const dataDir = join(base, "data");
  const backupDir = join(base, "backup");
  const { path, port } = configFor(base, dataDir, 4);
  const server = await startServer(path, port);
  const data = await fillDataset(server.redis, 5000, 600);
  const load = new Redis({ host: "127.0.0.1", port });
  let stop = false;
  let written = 0;
  const loop = (async () => {
    while (!stop) {
      const pipe = load.pipeline();
      for (let i = 0; i < 200; i++)
        pipe.set(`load:${written + i}`, `v${written + i}`).hset("loadns", `f${written + i}`, "x");
      await pipe.exec();
      written += 200;
    }
  })();
  await Bun.sleep(50);
  const before = written;
  expect(before).toBeGreaterThan(0);
  const res = await runCli(["backup", "--to", backupDir, "--config", path]);
  stop = true;
  await loop;
  load.disconnect();
  expect({ code: res.code, err: res.err }).toEqual({
    code: 0,
    err: expect.stringContaining("shard 4/4"),
  });
  expect(res.out).toContain("backed up 4 shard(s)");
  expect(written).toBeGreaterThan(before);
  const again = await runCli(["backup", "--to", backupDir, "--config", path]);
  expect(again.code).toBe(1);
  expect(again.err).toContain(`backup target ${backupDir} is not empty`);
  await server.stop();

  // Restore: copy the files into an empty data dir and start a server on it.
  const restored = join(base, "restored");
  mkdirSync(restored);
  for (const name of shardFiles(backupDir))
    copyFileSync(join(backupDir, name), join(restored, name));
  const cfg = configFor(base, restored, 4, "restored.toml");
  const again2 = await startServer(cfg.path, cfg.port);
  try {
    await checkDataset(again2.redis, data, false);
    // Writes that raced the backup are either absent or whole.
    const probe = await again2.redis.mget(...Array.from({ length: 200 }, (_, i) => `load:${i}`));
    const torn = probe.filter((v, i) => v !== null && v !== `v${i}`);
    expect(torn).toEqual([]);
    expect(probe[0]).toBe("v0");
  } finally {
    await again2.stop();
  }
}, 30_000);

// ---- Rust-format fixtures -------------------------------------------------------------

type Codec = "none" | "gzip" | "zstd" | "lz4" | "brotli";
const compressors: Record<Codec, (b: Uint8Array) => Uint8Array> = {
  none: (b) => b,
  gzip: (b) => Bun.gzipSync(b as Uint8Array<ArrayBuffer>),
  zstd: (b) => Bun.zstdCompressSync(b as Uint8Array<ArrayBuffer>),
  lz4: (b) => compressFrameSync(Buffer.from(b)),
  brotli: (b) => brotliCompressSync(b),
};

interface RustRow {
  table: string;
  key: string;
  value: Buffer;
  created: number;
  updated: number;
  expires: number | null;
  version: number;
}

const RUST_SHARDS = 3;

/** Our namespace for a Rust table: the spelling most shards used (see import.ts). */
const OUR_TABLE: Record<string, string> = {
  blobs: "blobs",
  blobs_Users: tableNameOf("Users"),
  blobs_users: tableNameOf("Users"),
  blobs_items: tableNameOf("items"),
};

/**
 * A data dir as the Rust server writes it: `data` column, seconds, bare codec streams (the
 * codec chosen per row by `codecOf`). Returns the live rows expected after import.
 */
function writeRustDir(dirPath: string, codecOf: (i: number) => Codec): RustRow[] {
  mkdirSync(dirPath, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const rows: (RustRow & { shard: number })[] = [];
  for (let i = 0; i < 300; i++) {
    rows.push({
      table: "blobs",
      key: i === 7 ? "lossy\uFFFDkey" : `rk:${i}`,
      value: Buffer.from(`rust-value-${i}-${"abc".repeat(30)}`),
      created: now - 100,
      updated: now - 50,
      expires: i % 4 === 0 ? now + 3600 + i : null,
      version: i % 3,
      shard: i % RUST_SHARDS,
    });
  }
  for (let i = 0; i < 60; i++) {
    // `Users` in shards 0 and 1, `users` in shard 2: the Rust server's one case-folded table.
    const shard = i % RUST_SHARDS;
    const table = i % 2 === 0 ? (shard === 2 ? "blobs_users" : "blobs_Users") : "blobs_items";
    rows.push({
      table,
      key: `uf${i}`,
      value: Buffer.from(`field-${i}-${"xyz".repeat(20)}`),
      created: now - 10,
      updated: now - 5,
      expires: i % 5 === 0 ? now + 7200 : null,
      version: 1,
      shard,
    });
  }
  const dbs = Array.from({ length: RUST_SHARDS }, (_, i) => {
    const db = new Database(join(dirPath, `shard_${i}.db`), { create: true });
    db.run("PRAGMA auto_vacuum = INCREMENTAL");
    db.run("PRAGMA journal_mode = WAL");
    return db;
  });
  const ensure = (db: Database, table: string) => {
    const idx = table === "blobs" ? "idx_expires_at" : `idx_${table.slice(6)}_expires_at`;
    db.run(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, data BLOB, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 0)`);
    db.run(
      `CREATE INDEX IF NOT EXISTS ${idx} ON ${table}(expires_at) WHERE expires_at IS NOT NULL`,
    );
  };
  const insert = (db: Database, r: RustRow, data: Uint8Array) => {
    ensure(db, r.table);
    db.query(`INSERT INTO ${r.table} VALUES (?, ?, ?, ?, ?, ?)`).run(
      r.key,
      data,
      r.created,
      r.updated,
      r.expires,
      r.version,
    );
  };
  rows.forEach((r, i) => {
    insert(dbs[r.shard]!, r, compressors[codecOf(i)](r.value));
  });
  // Dropped: an expired row. Deduplicated: a key left in two shards by a failed Rust migration.
  insert(
    dbs[0]!,
    {
      table: "blobs",
      key: "expired",
      value: Buffer.from("x"),
      created: now - 9,
      updated: now - 9,
      expires: now - 1,
      version: 0,
    },
    compressors[codecOf(0)](Buffer.from("x")),
  );
  const dupOld = {
    table: "blobs",
    key: "dup",
    value: Buffer.from("old copy"),
    created: now - 9,
    updated: now - 9,
    expires: null,
    version: 0,
  };
  const dupNew = { ...dupOld, value: Buffer.from("new copy"), updated: now - 1, version: 1 };
  insert(dbs[1]!, dupOld, compressors[codecOf(1)](dupOld.value));
  insert(dbs[2]!, dupNew, compressors[codecOf(2)](dupNew.value));
  for (const db of dbs) db.close();
  return [...rows, dupNew];
}

/** Reads the imported files directly: each row in the shard our ring picks, decoded, in ms. */
function checkImported(outDir: string, shards: number, expected: RustRow[]): void {
  const router = createRouter(shards);
  const dbs = Array.from(
    { length: shards },
    (_, i) => new Database(join(outDir, `shard_${i}.db`), { readonly: true }),
  );
  let bad = 0;
  for (const r of expected) {
    const table = OUR_TABLE[r.table]!;
    const db = dbs[router.shardOf(keyBytes(r.key))]!;
    const row = db.query(`SELECT * FROM "${table}" WHERE key = ?`).get(r.key) as Record<
      string,
      unknown
    > | null;
    const ok =
      row !== null &&
      Buffer.from(decodeValue(row.value as Uint8Array)).equals(r.value) &&
      row.created_at === r.created * 1000 &&
      row.updated_at === r.updated * 1000 &&
      row.expires_at === (r.expires === null ? null : r.expires * 1000) &&
      row.version === r.version;
    if (!ok) bad++;
  }
  let total = 0;
  for (const db of dbs) {
    for (const t of new Set(Object.values(OUR_TABLE))) {
      try {
        total += (db.query(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
      } catch {
        // This shard got no row of that table.
      }
    }
    db.close();
  }
  expect(bad).toBe(0);
  expect(total).toBe(expected.length);
}

for (const codec of ["none", "gzip", "zstd", "lz4", "brotli"] as const) {
  test(`import of a Rust data dir compressed with ${codec}`, async () => {
    const base = dir();
    const from = join(base, "rust");
    const out = join(base, "out");
    const expected = writeRustDir(from, () => codec);
    const res = await runCli([
      "import",
      "--from",
      from,
      "--shards",
      "5",
      "--compression",
      codec,
      "--data-dir",
      out,
    ]);
    expect({ code: res.code, err: res.err }).toEqual({
      code: 0,
      err: expect.stringContaining("newest copy was kept"),
    });
    expect(res.out).toContain(
      `imported ${expected.length} row(s) in 3 table(s) from 3 shard file(s)`,
    );
    expect(res.out).toContain(`${codec} `);
    expect(shardFiles(out).sort()).toEqual([
      "shard_0.db",
      "shard_1.db",
      "shard_2.db",
      "shard_3.db",
      "shard_4.db",
    ]);
    checkImported(out, 5, expected);
  });
}

test("import detects each value's codec by magic bytes, and a server serves the result", async () => {
  const base = dir();
  const from = join(base, "rust");
  const out = join(base, "out");
  const mixed: Codec[] = ["gzip", "zstd", "lz4", "none"];
  const expected = writeRustDir(from, (i) => mixed[i % 4]!);
  const res = await runCli(["import", "--from", from, "--shards", "2", "--data-dir", out]);
  expect(res.code).toBe(0);
  expect(res.out).toMatch(/decoded as: none \d+, gzip \d+, zstd \d+, lz4 \d+/);
  checkImported(out, 2, expected);
  const { path, port } = configFor(base, out, 2);
  const server = await startServer(path, port);
  try {
    const r = server.redis;
    expect(await r.get("rk:5")).toBe(`rust-value-5-${"abc".repeat(30)}`);
    expect(await r.get("lossy\uFFFDkey")).toBe(`rust-value-7-${"abc".repeat(30)}`);
    expect(await r.pexpiretime("rk:4")).toBe(expected[4]!.expires! * 1000);
    expect(await r.get("dup")).toBe("new copy");
    expect(await r.get("expired")).toBeNull();
    expect(await r.hget("Users", "uf0")).toBe(`field-0-${"xyz".repeat(20)}`);
    expect(await r.hlen("Users")).toBe(30);
    expect(await r.hlen("items")).toBe(30);
  } finally {
    await server.stop();
  }
}, 20_000);

test("import refuses a non-empty target, bad flags and a wrong --compression", async () => {
  const base = dir();
  const from = join(base, "rust");
  writeRustDir(from, () => "gzip");
  const busy = join(base, "busy");
  mkdirSync(busy);
  copyFileSync(join(from, "shard_0.db"), join(busy, "other"));
  const nonEmpty = await runCli(["import", "--from", from, "--shards", "2", "--data-dir", busy]);
  expect(nonEmpty.code).toBe(1);
  expect(nonEmpty.err).toContain(`target data dir ${busy} is not empty`);
  for (const args of [
    ["import", "--from", from, "--data-dir", join(base, "o1")],
    [
      "import",
      "--from",
      from,
      "--shards",
      "2",
      "--compression",
      "snappy",
      "--data-dir",
      join(base, "o1"),
    ],
    ["import", "--shards", "2", "--data-dir", join(base, "o1")],
  ]) {
    expect((await runCli(args)).code).toBe(2);
  }
  const out = join(base, "o2");
  const wrong = await runCli([
    "import",
    "--from",
    from,
    "--shards",
    "2",
    "--compression",
    "zstd",
    "--data-dir",
    out,
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.err).toContain("is not a zstd stream");
  expect(readdirSync(out)).toEqual([]);
});
