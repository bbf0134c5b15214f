/**
 * The format 3 → 4 upgrade (hash field values in files; storage/engine/schema-upgrade.ts
 * upgradeSchemaFieldFiles). The fixture in tests/fixtures/format3-data was written by the
 * previous release (commit 889f6c8, 4 shards, large_value_threshold_kb = 64): `str:1`..`str:20`,
 * `ttlkey` (EX 1000000), `user:1` (a small hash), `bighash` (200 fields), `wide` (one 100 KiB
 * field, kept in SQLite by format 3), `blob` (a 150 KiB string in a file under large/), and in
 * database 2 `db2key` and `db2hash` (200 fields).
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import {
  createFieldFilesSql,
  FORMAT_VERSION,
  keyspaceTables,
} from "../../src/storage/engine/sql.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";
import { triggersOf, userVersion } from "../helpers/shard-file.ts";

const FIXTURE = join(import.meta.dir, "..", "fixtures", "format3-data");

const largeFiles = (data: string) =>
  readdirSync(join(data, "large")).filter((n) => /^[0-9a-f]{32}$/.test(n));

const blob = () => {
  const b = Buffer.alloc(150 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 255;
  return b;
};

test("a format 3 data dir of the previous release upgrades at startup, reads back whole, and takes field files", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  cpSync(FIXTURE, data, { recursive: true });
  // A crash between files: shard 0 already went to 4, the others are still at 3.
  {
    const db = new Database(join(data, "shard_0.db"));
    db.transaction(() => {
      for (const n of [0, 2])
        if (
          db.query(`SELECT 1 FROM sqlite_master WHERE name = '${keyspaceTables(n).fields}'`).get()
        )
          db.run(createFieldFilesSql(keyspaceTables(n)));
      db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
    })();
    db.close();
  }
  expect(
    readdirSync(data)
      .filter((n) => n.endsWith(".db"))
      .sort()
      .map((n) => userVersion(join(data, n))),
  ).toEqual([4, 3, 3, 3]);
  {
    await using server = await startTestServer(
      { dataDir: data, numShards: 4, largeValueThresholdKb: 64 },
      { dir, keepDir: true },
    );
    const store = server.handle.context.store;
    const r = new Redis({ port: server.port, lazyConnect: true });
    await r.connect();
    try {
      for (let i = 1; i <= 20; i++) expect(await r.get(`str:${i}`)).toBe(`value-${i}`);
      expect(await r.ttl("ttlkey")).toBeGreaterThan(900_000);
      expect(await r.hgetall("user:1")).toEqual({ name: "Ada", email: "ada@example.com" });
      expect(await r.hlen("bighash")).toBe(200);
      expect(await r.hget("bighash", "field137")).toBe("val137");
      expect(await r.hget("wide", "f")).toBe("y".repeat(100 * 1024));
      expect(Buffer.compare((await r.getBuffer("blob"))!, blob())).toBe(0);
      expect(largeFiles(data)).toHaveLength(1);
      // New under format 4: a field value over the threshold goes to a file of its own.
      const value = Buffer.alloc(200 * 1024, 0x5a);
      await r.hset("wide", "g", value);
      expect(largeFiles(data)).toHaveLength(2);
      expect(Buffer.compare((await r.hgetBuffer("wide", "g"))!, value)).toBe(0);
      await r.select(2);
      expect(await r.get("db2key")).toBe("in-db-2");
      expect(await r.hget("db2hash", "field200")).toBe("val200");
      await r.hset("db2hash", "huge", value);
      expect(largeFiles(data)).toHaveLength(3);
      await r.hdel("db2hash", "huge");
      await store.large.collect(store);
      expect(largeFiles(data)).toHaveLength(2);
    } finally {
      r.disconnect();
    }
  }
  for (const name of readdirSync(data).filter((n) => n.endsWith(".db"))) {
    expect(userVersion(join(data, name))).toBe(FORMAT_VERSION);
    expect(triggersOf(join(data, name))).toEqual(
      expect.arrayContaining(["fields_large_delete", "fields_large_replace"]),
    );
  }
  // The next start (and its orphan scan) keeps the field's file.
  await using again = await startTestServer(
    { dataDir: data, numShards: 4, largeValueThresholdKb: 64 },
    { dir },
  );
  const r = new Redis({ port: again.port, lazyConnect: true });
  await r.connect();
  try {
    expect(largeFiles(data)).toHaveLength(2);
    expect((await r.hgetBuffer("wide", "g"))!.length).toBe(200 * 1024);
  } finally {
    r.disconnect();
  }
});
