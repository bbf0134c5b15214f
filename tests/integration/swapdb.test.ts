/**
 * SWAPDB against a real redis-server: the same script of commands on both servers, raw reply
 * bytes compared (contents, DBSIZE, TTLs, hashes small and large, the error texts); WATCH on a
 * swapped key aborts EXEC as in Redis; a swap survives a restart; and a swap a crash cut off
 * after some shard files had swapped is finished at the next start (storage's journal).
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { defaultConfig } from "../../src/config/index.ts";
import {
  nextJournal,
  SWAP_JOURNAL,
  swapInShard,
  writeJournal,
} from "../../src/storage/maintenance/swap-databases.ts";
import { Store } from "../../src/storage/store.ts";
import { type ParityPair, parityPair } from "../helpers/parity-pair.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";

let pair!: ParityPair;
parityPair((p) => {
  pair = p;
});

async function both(...args: string[]): Promise<[string, string]> {
  const [a, b] = await Promise.all([pair.ours.command(...args), pair.theirs.command(...args)]);
  return [a.toString("latin1"), b.toString("latin1")];
}

describe("SWAPDB", () => {
  test("contents, counts, TTLs and hashes trade places byte for byte as in Redis", async () => {
    const script: string[][] = [
      ["FLUSHALL"],
      ["SELECT", "0"],
      ["SET", "a", "zero"],
      ["SET", "t", "ttl", "EX", "1000"],
      ["HSET", "h", "f", "v0"],
      ["SELECT", "3"],
      ["SET", "a", "three"],
      ["SET", "only3", "x"],
      ...Array.from({ length: 600 }, (_, i) => ["HSET", "big", `f${i}`, `v${i}`]),
      ["SWAPDB", "0", "3"],
      ["GET", "a"],
      ["GET", "t"],
      ["HGET", "h", "f"],
      ["EXISTS", "only3", "big"],
      ["DBSIZE"],
      ["TTL", "t"],
      ["SELECT", "0"],
      ["GET", "a"],
      ["GET", "only3"],
      ["HLEN", "big"],
      ["HGET", "big", "f599"],
      ["OBJECT", "ENCODING", "big"],
      ["DBSIZE"],
      ["SET", "written-after", "1"],
      ["SWAPDB", "3", "0"],
      ["GET", "written-after"],
      ["SELECT", "3"],
      ["GET", "written-after"],
      ["SWAPDB", "5", "5"],
      ["SWAPDB", "0", "9"],
      ["SELECT", "9"],
      ["GET", "a"],
      ["SELECT", "0"],
      ["SWAPDB", "x", "1"],
      ["SWAPDB", "1", "y"],
      ["SWAPDB", "99999999999", "1"],
      ["SWAPDB", "0", "16"],
      ["SWAPDB", "-1", "0"],
      ["SWAPDB", "0"],
    ];
    for (const step of script) {
      const [ours, theirs] = await both(...step);
      expect({ step, reply: ours }).toEqual({ step, reply: theirs });
    }
  });

  test("a client WATCHing a key of either database sees its EXEC abort, as in Redis", async () => {
    for (const port of [pair.server.port]) {
      const watcher = new Redis({ port, lazyConnect: true });
      const other = new Redis({ port, lazyConnect: true });
      await Promise.all([watcher.connect(), other.connect()]);
      try {
        await other.flushall();
        await other.set("w", "1");
        await watcher.watch("w");
        await other.swapdb(0, 1);
        const result = await watcher.multi().set("w", "2").exec();
        expect(result).toBeNull();
        // A key missing from both databases is left alone (Redis's touchAllWatchedKeysInDb).
        await watcher.watch("nowhere");
        await other.swapdb(0, 1);
        expect(await watcher.multi().set("nowhere", "1").exec()).toEqual([[null, "OK"]]);
      } finally {
        watcher.disconnect();
        other.disconnect();
      }
    }
  });
});

describe("SWAPDB on disk", () => {
  test("a swap survives a restart", async () => {
    const dir = tempDir("blobasaur-swapdb-");
    {
      await using s = await startTestServer({ dataDir: dir, numShards: 3 });
      const r = new Redis({ port: s.port });
      for (let i = 0; i < 50; i++) await r.set(`k${i}`, `zero-${i}`);
      await r.select(2);
      for (let i = 0; i < 20; i++) await r.set(`k${i}`, `two-${i}`);
      expect(await r.swapdb(0, 2)).toBe("OK");
      r.disconnect();
    }
    await using s = await startTestServer({ dataDir: dir, numShards: 3 });
    const r = new Redis({ port: s.port });
    try {
      expect(await r.dbsize()).toBe(20);
      expect(await r.get("k7")).toBe("two-7");
      await r.select(2);
      expect(await r.dbsize()).toBe(50);
      expect(await r.get("k42")).toBe("zero-42");
      expect(existsSync(join(dir, SWAP_JOURNAL))).toBe(false);
    } finally {
      r.disconnect();
    }
  });

  test("a swap cut off after one shard file swapped is finished at the next start", async () => {
    const dir = tempDir("blobasaur-swapdb-crash-");
    const config = defaultConfig({ dataDir: dir, numShards: 4 });
    const open = () =>
      new Store({
        dataDir: dir,
        numShards: 4,
        sqlite: { ...config.sqlite, prewarm: false },
        compression: config.storageCompression,
        batchSize: 100,
        batchTimeoutMs: 0,
      });
    const keys = Array.from({ length: 40 }, (_, i) => `key:${i}`);
    {
      const store = open();
      const zero = store.keyspace(0);
      const one = store.keyspace(1);
      for (const k of keys) {
        await zero.write(Buffer.from(k), (t, now) => t.put(k, Buffer.from(`zero ${k}`), now, null));
        await one.write(Buffer.from(k), (t, now) => t.put(k, Buffer.from(`one ${k}`), now, null));
      }
      // What swapDatabases does, stopped after the first shard's commit: the journal is on
      // disk, shard 0 has swapped, shards 1-3 have not.
      const journal = nextJournal(store.shards, 0, 1);
      writeJournal(dir, journal);
      const first = store.shards[0]!;
      first.db.transaction(() => swapInShard(first.db, journal))();
      await store.close();
    }
    const store = open();
    try {
      expect(existsSync(join(dir, SWAP_JOURNAL))).toBe(false);
      for (const k of keys) {
        expect(
          Buffer.from(store.keyspace(0).get(Buffer.from(k))?.value ?? []).toString("utf8"),
        ).toBe(`one ${k}`);
        expect(
          Buffer.from(store.keyspace(1).get(Buffer.from(k))?.value ?? []).toString("utf8"),
        ).toBe(`zero ${k}`);
      }
    } finally {
      await store.close();
    }
  });
});
