/**
 * The format 1 → 2 upgrade (storage/maintenance/upgrade.ts). The fixture in tests/fixtures/format1-data was
 * written by the previous release (commit 7a2506c, 4 shards, zstd on): 50 strings `str:<i>`,
 * `longval` (500 B, compressed), `ttlkey` (EX 1000000), a binary key, the namespaces `users`,
 * `Users`, `big` (300 fields), `session` (field `token` with a TTL), `gone` (its only field had
 * expired), `wide` (a 300 B value), and `conflict`, both a string and a namespace.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { cpSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { ValueCodec } from "../../src/storage/codecs/codec.ts";
import { createRouter } from "../../src/storage/engine/routing.ts";
import { FORMAT_VERSION } from "../../src/storage/engine/sql.ts";
import { freePort, startProcess, writeConfig } from "../helpers/process.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";
import { tablesOf, userVersion } from "../helpers/shard-file.ts";

const FIXTURE = join(import.meta.dir, "..", "fixtures", "format1-data");

test("a data dir written by the previous release upgrades at startup and reads back whole", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  cpSync(FIXTURE, data, { recursive: true });
  await using server = await startTestServer({ dataDir: data, numShards: 4 }, { dir });
  const r = new Redis({ port: server.port, lazyConnect: true });
  await r.connect();
  try {
    for (let i = 1; i <= 50; i++) expect(await r.get(`str:${i}`)).toBe(`value-${i}`);
    expect(await r.get("longval")).toBe("x".repeat(500));
    expect(await r.ttl("ttlkey")).toBeGreaterThan(900_000);
    expect(await r.getBuffer(Buffer.from("bin\xff\xfekey", "latin1"))).toEqual(
      Buffer.from("binval"),
    );
    expect(await r.type("users")).toBe("hash");
    expect(await r.hgetall("users")).toEqual({
      alice: "1",
      bob: "2",
      carol: "3",
      dave: "4",
      eve: "5",
    });
    expect(await r.hgetall("Users")).toEqual({ Alice: "upper" });
    expect(await r.hlen("big")).toBe(300);
    for (let i = 1; i <= 300; i++) expect(await r.hget("big", `field${i}`)).toBe(`val${i}`);
    expect(await r.object("ENCODING", "big")).toBe("hashtable");
    expect(await r.hget("wide", "f")).toBe("y".repeat(300));
    expect(await r.hget("session", "token")).toBe("abc");
    expect(await r.call("HTTL", "session", "FIELDS", "2", "token", "user")).toEqual([
      expect.any(Number),
      -1,
    ]);
    expect(await r.exists("gone")).toBe(0);
    // The string kept its name; the namespace of the same name moved to `conflict:hash`.
    expect(await r.get("conflict")).toBe("string");
    expect(await r.hget("conflict:hash", "f")).toBe("v");
    expect(await r.dbsize()).toBe(54 + 6);
  } finally {
    r.disconnect();
  }
  await server.stop();
  for (const name of readdirSync(data).filter((n) => n.endsWith(".db"))) {
    // Format 1 goes to the current format in one start (2: one keyspace, 3: large values).
    expect(userVersion(join(data, name))).toBe(FORMAT_VERSION);
    expect(tablesOf(join(data, name))).toContain("large_garbage");
    expect(tablesOf(join(data, name)).filter((t) => t.startsWith("blobs_"))).toEqual([]);
  }
});

/**
 * A format 1 dir large enough that the upgrade takes a while: each namespace's fields spread
 * over the shards by field, as format 1 placed them, written with format 1's schema.
 */
function writeFormat1(data: string, shards: number, namespaces: number, fields: number): void {
  mkdirSync(data, { recursive: true });
  const router = createRouter(shards);
  const codec = new ValueCodec({
    enabled: false,
    algorithm: "zstd",
    level: null,
    minSizeBytes: 64,
  });
  const dbs = Array.from({ length: shards }, (_, i) => {
    const db = new Database(join(data, `shard_${i}.db`), { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA user_version = 1");
    return db;
  });
  const create = (db: Database, table: string) =>
    db.run(`CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY, value BLOB NOT NULL,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER,
      version INTEGER NOT NULL DEFAULT 0)`);
  for (const db of dbs) create(db, "blobs");
  const enc = new TextEncoder();
  for (const db of dbs) db.run("BEGIN");
  for (let n = 0; n < namespaces; n++) {
    for (let f = 0; f < fields; f++) {
      const field = `f${f}`;
      const db = dbs[router.shardOf(enc.encode(field))]!;
      create(db, `blobs_ns${n}`);
      db.query(`INSERT INTO "blobs_ns${n}" VALUES (?1, ?2, 1, 1, NULL, 0)`).run(
        field,
        codec.encode(enc.encode(`v${n}.${f}`)),
      );
    }
  }
  for (const db of dbs) {
    db.run("COMMIT");
    db.close();
  }
}

test("an upgrade killed with SIGKILL at any point resumes on the next start and loses nothing", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const NAMESPACES = 40;
  const FIELDS = 1500;
  writeFormat1(data, 4, NAMESPACES, FIELDS);
  const port = freePort();
  const config = writeConfig(
    dir,
    `data_dir = "${data}"\nnum_shards = 4\naddr = "127.0.0.1:${port}"\n[sqlite]\nprewarm = false\n`,
  );
  // Kill the upgrading server at growing delays; the dir must stay upgradable every time.
  for (const delayMs of [60, 150, 300, 500]) {
    const proc = Bun.spawn(
      [process.execPath, join(import.meta.dir, "../../src/main.ts"), "--config", config],
      {
        stdout: "ignore",
        stderr: "ignore",
      },
    );
    await Bun.sleep(delayMs);
    proc.kill("SIGKILL");
    await proc.exited;
  }
  const server = await startProcess(["--config", config]);
  const r = new Redis({ port, lazyConnect: true });
  await r.connect();
  try {
    expect(await r.dbsize()).toBe(NAMESPACES);
    for (let n = 0; n < NAMESPACES; n++) {
      expect(await r.hlen(`ns${n}`)).toBe(FIELDS);
      const all = await r.hgetall(`ns${n}`);
      for (let f = 0; f < FIELDS; f += 97) expect(all[`f${f}`]).toBe(`v${n}.${f}`);
      expect(Object.keys(all).length).toBe(FIELDS);
    }
  } finally {
    r.disconnect();
    server.proc.kill("SIGTERM");
    await server.proc.exited;
  }
}, 60_000);
