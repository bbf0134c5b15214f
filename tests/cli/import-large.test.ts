/**
 * `import` of a Rust data dir holding values past the large-value threshold: they land in
 * files under large/ as the server would store them (string rows of type 3, hash fields as
 * references), verified by checksum, with no file left for a value that lost to a newer
 * duplicate or a name conflict, and a server serves them.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyBytes } from "../../src/storage/engine/keys.ts";
import { createRouter } from "../../src/storage/engine/routing.ts";
import { ROW_STRING, ROW_STRING_FILE } from "../../src/storage/engine/sql.ts";
import { insertRust, type RustRow, runCli, rustShards, startServer } from "../helpers/dataset.ts";
import { freePort } from "../helpers/process.ts";
import { tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KIB = 1024;
const now = Math.floor(Date.now() / 1000);
/** Bytes that compress a little, so a codec stream is smaller than the value but not trivial. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 3 === 0 ? 65 : x >>> 24;
  }
  return out;
}
const row = (
  table: string,
  key: string,
  value: Buffer,
  updated = now - 5,
  version = 0,
): RustRow => ({
  table,
  key,
  value,
  created: now - 10,
  updated,
  expires: null,
  version,
});
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const fileNames = (out: string) => readdirSync(join(out, "large")).filter((n) => n !== "tmp");

function writeSource(from: string) {
  const [s0, s1, s2] = rustShards(from, 3) as [Database, Database, Database];
  const values = {
    big: bytes(300 * KIB, 1),
    dupOld: bytes(200 * KIB, 2),
    dupNew: bytes(250 * KIB, 3),
    shrunkOld: bytes(180 * KIB, 4),
    clash: bytes(150 * KIB, 5),
    pdf: bytes(500 * KIB, 6),
  };
  insertRust(s0, row("blobs", "big", values.big), "gzip");
  // A key left in two shards by a failed Rust migration: the newer copy wins, both large.
  insertRust(s0, row("blobs", "dup", values.dupOld, now - 9), "zstd");
  insertRust(s1, row("blobs", "dup", values.dupNew, now - 1, 1), "lz4");
  // A large older copy that loses to a small newer one: its file must not stay behind.
  insertRust(s0, row("blobs", "shrunk", values.shrunkOld, now - 9), "none");
  insertRust(s2, row("blobs", "shrunk", Buffer.from("small now"), now - 1), "none");
  insertRust(s1, row("blobs", "small", Buffer.from("tiny")), "none");
  // A large string and a namespace of the same name (--on-conflict keep-hash drops the string).
  insertRust(s2, row("blobs", "clash", values.clash), "gzip");
  insertRust(s0, row("blobs_clash", "f", Buffer.from("hash side")), "none");
  insertRust(s1, row("blobs_docs", "pdf", values.pdf), "zstd");
  insertRust(s2, row("blobs_docs", "title", Buffer.from("Report")), "none");
  for (const db of [s0, s1, s2]) db.close();
  return values;
}

test("import puts values past the threshold into files, verifies them, and leaves no stray file", async () => {
  const base = tempDir("blobasaur-import-large-");
  dirs.push(base);
  const from = join(base, "rust");
  const out = join(base, "out");
  const values = writeSource(from);
  const port = freePort();
  const config = join(base, "config.toml");
  writeFileSync(
    config,
    `data_dir = "${out}"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\nlarge_value_threshold_kb = 64\n`,
  );
  const res = await runCli([
    "import",
    "--config",
    config,
    "--from",
    from,
    "--shards",
    "2",
    "--on-conflict",
    "keep-hash",
  ]);
  expect({ code: res.code, err: res.err }).toEqual({ code: 0, err: expect.any(String) });
  expect(res.out).toContain("3 value(s) in files under large/");
  expect(res.err).toContain('the string key "clash"');
  expect(existsSync(join(out, ".import-staging"))).toBe(false);
  // big, dup's newer copy, docs/pdf: the losing dup copy, shrunk's old copy and the dropped
  // clash string left nothing behind.
  expect(fileNames(out).length).toBe(3);
  expect(readdirSync(join(out, "large", "tmp"))).toEqual([]);

  const router = createRouter(2);
  const typeOf = (key: string) => {
    const db = new Database(join(out, `shard_${router.shardOf(keyBytes(key))}.db`), {
      readonly: true,
    });
    try {
      return (db.query("SELECT type FROM blobs WHERE key = ?").get(key) as { type: number }).type;
    } finally {
      db.close();
    }
  };
  expect([typeOf("big"), typeOf("dup"), typeOf("shrunk"), typeOf("small")]).toEqual([
    ROW_STRING_FILE,
    ROW_STRING_FILE,
    ROW_STRING,
    ROW_STRING,
  ]);

  const server = await startServer(config, port);
  try {
    const r = server.redis;
    expect(sha((await r.getBuffer("big"))!)).toBe(sha(values.big));
    expect(sha((await r.getBuffer("dup"))!)).toBe(sha(values.dupNew));
    expect(await r.get("shrunk")).toBe("small now");
    expect(await r.strlen("big")).toBe(300 * KIB);
    expect(await r.type("clash")).toBe("hash");
    expect(await r.hget("clash", "f")).toBe("hash side");
    expect(sha((await r.hgetBuffer("docs", "pdf"))!)).toBe(sha(values.pdf));
    expect(await r.hstrlen("docs", "pdf")).toBe(500 * KIB);
    expect(await r.hget("docs", "title")).toBe("Report");
    // The server owns the imported files: a DEL reclaims one.
    expect(await r.del("big")).toBe(1);
    const deadline = Date.now() + 5000;
    while (fileNames(out).length !== 2 && Date.now() < deadline) await Bun.sleep(50);
    expect(fileNames(out).length).toBe(2);
  } finally {
    await server.stop();
  }
}, 30_000);
