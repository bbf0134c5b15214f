import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { defaultConfig } from "../../src/config/index.ts";
import { decodeValue } from "../../src/storage/codecs/codec.ts";
import { keyBytes } from "../../src/storage/engine/keys.ts";
import { createRouter } from "../../src/storage/engine/routing.ts";
import { Store } from "../../src/storage/store.ts";
import {
  type Codec,
  checkDataset,
  configFor,
  fillDataset,
  type RustRow,
  runCli,
  startServer,
  writeRustDir,
} from "../helpers/dataset.ts";
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

/** The hash key a Rust namespace table becomes: the spelling most shards used (see import.ts). */
const HASH_OF: Record<string, string> = {
  blobs_Users: "Users",
  blobs_users: "Users",
  blobs_items: "items",
};
/**
 * Reads the imported data dir: strings straight from the files (each row in the shard our ring
 * picks, decoded, in ms), hash fields through a Store (each namespace is one hash key).
 */
async function checkImported(outDir: string, shards: number, expected: RustRow[]): Promise<void> {
  const router = createRouter(shards);
  const dbs = Array.from(
    { length: shards },
    (_, i) => new Database(join(outDir, `shard_${i}.db`), { readonly: true }),
  );
  let bad = 0;
  const strings = expected.filter((r) => r.table === "blobs");
  for (const r of strings) {
    const db = dbs[router.shardOf(keyBytes(r.key))]!;
    const row = db.query(`SELECT * FROM blobs WHERE key = ?`).get(r.key) as Record<
      string,
      unknown
    > | null;
    const ok =
      row !== null &&
      row.type === 0 &&
      Buffer.from(decodeValue(row.value as Uint8Array)).equals(r.value) &&
      row.created_at === r.created * 1000 &&
      row.updated_at === r.updated * 1000 &&
      row.expires_at === (r.expires === null ? null : r.expires * 1000) &&
      row.version === r.version;
    if (!ok) bad++;
  }
  let total = 0;
  for (const db of dbs) {
    total += (db.query("SELECT count(*) AS n FROM blobs").get() as { n: number }).n;
    db.close();
  }
  expect(bad).toBe(0);
  const hashes = new Set(expected.filter((r) => r.table !== "blobs").map((r) => HASH_OF[r.table]));
  expect(total).toBe(strings.length + hashes.size);
  const config = defaultConfig({ dataDir: outDir, numShards: shards });
  const store = new Store({
    dataDir: outDir,
    numShards: shards,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 100,
    batchTimeoutMs: 0,
  });
  try {
    const now = Date.now();
    for (const r of expected.filter((e) => e.table !== "blobs")) {
      const hash = store.db0.tableFor(keyBytes(HASH_OF[r.table]!)).hash(HASH_OF[r.table]!, now);
      const got = hash?.get(keyBytes(r.key), now) ?? null;
      const ok =
        got !== null &&
        Buffer.from(got.value).equals(r.value) &&
        got.expiresAt === (r.expires === null ? null : r.expires * 1000);
      if (!ok) bad++;
    }
    expect(bad).toBe(0);
    for (const name of hashes) {
      const n = expected.filter((r) => HASH_OF[r.table] === name).length;
      expect(store.db0.tableFor(keyBytes(name!)).hash(name!, now)!.len(now)).toBe(n);
    }
  } finally {
    await store.close();
  }
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
      `imported ${expected.length - 60} string key(s) and 2 hash key(s) holding 60 field(s) from 3 shard file(s)`,
    );
    expect(res.out).toContain(`${codec} `);
    expect(shardFiles(out).sort()).toEqual([
      "shard_0.db",
      "shard_1.db",
      "shard_2.db",
      "shard_3.db",
      "shard_4.db",
    ]);
    await checkImported(out, 5, expected);
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
  await checkImported(out, 2, expected);
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
