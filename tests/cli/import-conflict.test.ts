/**
 * `blobasaur import` of namespaces that share their name with a string (--on-conflict), and
 * its refusal of this server's own data dirs. The imported dirs are read in process.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../src/config/index.ts";
import { keyBytes } from "../../src/storage/engine/keys.ts";
import { Store } from "../../src/storage/store.ts";
import { runCli, writeRustDir } from "../helpers/dataset.ts";
import { tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir("blobasaur-import-");
  dirs.push(d);
  return d;
}

/** Opens an imported data dir in process (no server needed) and hands db 0 to `body`. */
async function withStore(
  dataDir: string,
  shards: number,
  body: (store: Store) => void,
): Promise<void> {
  const config = defaultConfig({ dataDir, numShards: shards });
  const store = new Store({
    dataDir,
    numShards: shards,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 100,
    batchTimeoutMs: 0,
  });
  try {
    body(store);
  } finally {
    await store.close();
  }
}

test("a namespace and a string of the same name: --on-conflict decides and the report names it", async () => {
  const base = dir();
  const from = join(base, "rust");
  writeRustDir(from, () => "none");
  // Strings named like the namespace `items` and like its first rename target.
  const now = Math.floor(Date.now() / 1000);
  const db = new Database(join(from, "shard_1.db"));
  for (const key of ["items", "items:hash"])
    db.query("INSERT INTO blobs VALUES (?, ?, ?, ?, NULL, 0)").run(key, `string ${key}`, now, now);
  db.close();
  const text = (v: Uint8Array | undefined) => (v ? Buffer.from(v).toString() : null);
  const run = (out: string, flag: string[]) =>
    runCli(["import", "--from", from, "--shards", "3", "--data-dir", out, ...flag]);

  const renamed = join(base, "renamed");
  const r1 = await run(renamed, []);
  expect(r1.code).toBe(0);
  expect(r1.err).toContain('conflict: the string key "items" and the namespace "items"');
  expect(r1.err).toContain('the hash is the key "items:hash:2"');
  expect(r1.out).toContain("1 name conflict(s)");
  await withStore(renamed, 3, (store) => {
    const t = Date.now();
    expect(text(store.db0.get(keyBytes("items"))?.value)).toBe("string items");
    expect(text(store.db0.get(keyBytes("items:hash"))?.value)).toBe("string items:hash");
    expect(store.db0.tableFor(keyBytes("items:hash:2")).hash("items:hash:2", t)!.len(t)).toBe(30);
    expect(store.db0.tableFor(keyBytes("Users")).hash("Users", t)!.len(t)).toBe(30);
  });

  const keptString = join(base, "kept-string");
  const r2 = await run(keptString, ["--on-conflict", "keep-string"]);
  expect(r2.code).toBe(0);
  expect(r2.err).toContain('"items"');
  expect(r2.err).toContain("the namespace was NOT imported");
  expect(r2.out).toContain("1 hash key(s) holding 30 field(s)");
  await withStore(keptString, 3, (store) => {
    expect(text(store.db0.get(keyBytes("items"))?.value)).toBe("string items");
    expect(store.db0.entry(keyBytes("items:hash:2"))).toBeNull();
  });

  const keptHash = join(base, "kept-hash");
  const r3 = await run(keptHash, ["--on-conflict=keep-hash"]);
  expect(r3.code).toBe(0);
  expect(r3.err).toContain('"items"');
  expect(r3.err).toContain("the string was DROPPED");
  await withStore(keptHash, 3, (store) => {
    const t = Date.now();
    expect(store.db0.tableFor(keyBytes("items")).hash("items", t)!.len(t)).toBe(30);
    expect(text(store.db0.get(keyBytes("items:hash"))?.value)).toBe("string items:hash");
  });

  const bad = await run(join(base, "bad"), ["--on-conflict", "merge"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--on-conflict must be one of keep-string, keep-hash, rename");
}, 30_000);

test("import refuses a data dir of this server (format 2), naming shard migrate", async () => {
  const base = dir();
  const ours = join(base, "ours");
  await withStore(ours, 1, () => {});
  const res = await runCli([
    "import",
    "--from",
    ours,
    "--shards",
    "1",
    "--data-dir",
    join(base, "o"),
  ]);
  expect(res.code).toBe(1);
  expect(res.err).toContain("shard migrate");
});
