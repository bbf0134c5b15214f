import { expect, test } from "bun:test";
import Redis from "ioredis";
import { decodeInline } from "../../src/storage/keyspace/inline-hash.ts";
import { startTestServer } from "../helpers/server.ts";

async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  return c;
}

/** Forces SQLITE_FULL on every shard by capping the page count at what is used now. */
function fillDisk(server: Awaited<ReturnType<typeof startTestServer>>, extraPages = 0): void {
  for (const shard of server.handle.store.shards) {
    const used = (shard.db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    shard.db.run(`PRAGMA max_page_count = ${used + extraPages}`);
  }
}
function freeDisk(server: Awaited<ReturnType<typeof startTestServer>>): void {
  for (const shard of server.handle.store.shards)
    shard.db.run("PRAGMA max_page_count = 1073741823");
}

test("in async mode a write is acknowledged before its commit and every read sees it", async () => {
  // A long batch window keeps the writes pending while the reads run.
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const a = await client(server.port);
  const b = await client(server.port);
  const started = performance.now();
  expect(await a.set("k", "v1", "PX", 60_000)).toBe("OK");
  expect(performance.now() - started).toBeLessThan(250);
  expect(server.handle.store.scheduler.pendingOps).toBeGreaterThan(0);
  expect(await b.get("k")).toBe("v1");
  expect(await b.exists("k", "k", "nope")).toBe(2);
  expect(await b.pttl("k")).toBeGreaterThan(59_000);
  expect(await b.mget("k", "nope")).toEqual(["v1", null]);
  expect(await b.strlen("k")).toBe(2);
  // The newest pending write to a key wins.
  await a.set("k", "v2");
  expect(await b.get("k")).toBe("v2");
  expect(await b.ttl("k")).toBe(-1);
  // A delete is a pending write too, and it counts the pending key.
  await a.set("gone", "x");
  expect(await a.del("gone", "gone")).toBe(1);
  expect(await b.get("gone")).toBeNull();
  expect(await b.exists("gone")).toBe(0);
  // SCAN and KEYS see pending keys.
  expect((await b.keys("*")).sort()).toEqual(["k"]);
  expect(await b.dbsize()).toBe(1);
  await server.handle.store.scheduler.drain();
  expect(await b.get("k")).toBe("v2");
  expect(await b.get("gone")).toBeNull();
  a.disconnect();
  b.disconnect();
});

test("in async mode SET NX, SET GET and EXPIRE decide against pending writes", async () => {
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const a = await client(server.port);
  expect(await a.set("k", "1", "NX")).toBe("OK");
  expect(await a.set("k", "2", "NX")).toBeNull();
  expect(await a.set("k", "3", "GET")).toBe("1");
  expect(await a.expire("k", 100)).toBe(1);
  expect(await a.ttl("k")).toBe(100);
  expect(await a.persist("k")).toBe(1);
  expect(await a.ttl("k")).toBe(-1);
  expect(await a.expire("nope", 100)).toBe(0);
  await server.handle.store.scheduler.drain();
  expect(await a.get("k")).toBe("3");
  expect(await a.ttl("k")).toBe(-1);
  a.disconnect();
});

test("in async mode a write whose commit fails is dropped from the overlay and counted", async () => {
  await using server = await startTestServer({
    asyncWrite: true,
    batchTimeoutMs: 50,
    numShards: 1,
  });
  const a = await client(server.port);
  await a.set("old", "kept");
  await server.handle.store.scheduler.drain();
  fillDisk(server);
  expect(await a.set("big", Buffer.alloc(256 * 1024, 1))).toBe("OK");
  expect(await a.strlen("big")).toBe(256 * 1024);
  await server.handle.store.scheduler.drain();
  expect(await a.get("big")).toBeNull();
  expect(server.handle.store.asyncFailures).toBe(1);
  expect(await a.get("old")).toBe("kept");
  a.disconnect();
});

test("a full disk gives the writer a clean error, loses nothing stored, and recovers", async () => {
  await using server = await startTestServer({ numShards: 2 });
  const a = await client(server.port);
  for (let i = 0; i < 20; i++) await a.set(`keep${i}`, `v${i}`);
  fillDisk(server);
  const big = Buffer.alloc(512 * 1024, 2);
  await expect(a.set("big", big)).rejects.toThrow(/ERR/);
  // The connection stays open and other commands keep working.
  expect(await a.get("keep3")).toBe("v3");
  expect(await a.get("big")).toBeNull();
  freeDisk(server);
  expect(await a.set("big", big)).toBe("OK");
  expect((await a.getBuffer("big"))!.length).toBe(big.length);
  for (let i = 0; i < 20; i++) expect(await a.get(`keep${i}`)).toBe(`v${i}`);
  for (const shard of server.handle.store.shards) {
    expect(shard.db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  }
  a.disconnect();
});

test("written values are served from the value cache once committed", async () => {
  await using server = await startTestServer({ numShards: 1 });
  const a = await client(server.port);
  const cache = server.handle.store.db0.keyTables[0]!.cache;
  await a.set("k", "v1");
  await a.hset("ns", "f", "h1");
  const hits = cache.hits;
  expect(await a.get("k")).toBe("v1");
  expect(await a.hget("ns", "f")).toBe("h1");
  expect(cache.hits).toBe(hits + 2);
  // INFO reports the caches of all shards.
  const info = await a.info("blobasaur");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)![1]);
  expect(field("value_cache_hits")).toBe(cache.hits);
  expect(field("value_cache_entries")).toBe(2);
  expect(field("value_cache_used_bytes")).toBeGreaterThan(0);
  expect(field("value_cache_max_bytes")).toBe(176 * 1024 * 1024);
  // Overwrites and deletes replace the cached entry rather than leaving the old one.
  await a.set("k", "v2");
  expect(await a.get("k")).toBe("v2");
  await a.del("k");
  expect(await a.get("k")).toBeNull();
  await a.hdel("ns", "f");
  expect(await a.hget("ns", "f")).toBeNull();
  a.disconnect();
});

test("the value cache never serves a write whose transaction failed", async () => {
  await using server = await startTestServer({ numShards: 1, batchTimeoutMs: 20 });
  const a = await client(server.port);
  await a.set("k", "old");
  await a.hset("ns", "f", "old");
  expect(await a.get("k")).toBe("old");
  fillDisk(server);
  // One transaction: two small writes the cache would keep, then one the full disk refuses.
  const replies = await a
    .pipeline()
    .set("k", "new")
    .hset("ns", "f", "new")
    .set("big", Buffer.alloc(512 * 1024, 3))
    .exec();
  expect(replies![2]![0]).toBeInstanceOf(Error);
  const shard = server.handle.store.shards[0]!;
  const stored = (sql: string) =>
    (shard.db.query(sql).get() as { value: Uint8Array } | null)?.value.subarray(1);
  const textOf = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : null);
  // Whatever the outcome of each write, what is served is what SQLite holds.
  expect(await a.get("k")).toBe(textOf(stored(`SELECT value FROM blobs WHERE key = 'k'`))!);
  // A one-field hash is stored inline in its key row (storage/keyspace/inline-hash.ts).
  const inline = stored(`SELECT value FROM blobs WHERE key = 'ns'`);
  const field = inline
    ? decodeInline(inline).find((e) => Buffer.from(e.field).toString() === "f")
    : undefined;
  expect(await a.hget("ns", "f")).toBe(textOf(field?.value)!);
  expect(await a.get("k")).toBe(replies![0]![0] ? "old" : "new");
  freeDisk(server);
  a.disconnect();
});

test("pipelined SETs from many clients share group commits", async () => {
  let transactions = 0;
  await using server = await startTestServer({ numShards: 1 });
  const scheduler = server.handle.store.scheduler as unknown as {
    events: { onCommit?: () => void };
  };
  scheduler.events.onCommit = () => transactions++;
  const clients = await Promise.all(Array.from({ length: 10 }, () => client(server.port)));
  await Promise.all(
    clients.map((c, ci) => {
      const p = c.pipeline();
      for (let i = 0; i < 100; i++) p.set(`c${ci}:${i}`, "x");
      return p.exec();
    }),
  );
  expect(await clients[0]!.dbsize()).toBe(1000);
  // 1000 writes must not cost anything close to 1000 transactions.
  expect(transactions).toBeLessThan(100);
  for (const c of clients) c.disconnect();
});

test("with synchronous FULL, results wait for a WAL fsync done off the event loop", async () => {
  await using server = await startTestServer({ sqlite: { synchronous: "FULL" } as never });
  const store = server.handle.store;
  expect(store.syncer).not.toBeNull();
  // The shards commit with NORMAL; durability comes from the syncer's fdatasync.
  for (const shard of store.shards) {
    expect(shard.db.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
  }
  const a = await client(server.port);
  const before = store.syncer!.syncs;
  const p = a.pipeline();
  for (let i = 0; i < 200; i++) p.set(`k${i}`, `v${i}`);
  const results = await p.exec();
  expect(results!.every(([err, ok]) => err === null && ok === "OK")).toBe(true);
  expect(store.syncer!.syncs).toBeGreaterThan(before);
  expect(await a.get("k199")).toBe("v199");
  // EXEC's reply also waits for the fsync of its writes.
  const syncsBeforeExec = store.syncer!.syncs;
  expect(await a.multi().set("tx", "1").incr("tx").exec()).toEqual([
    [null, "OK"],
    [null, 2],
  ]);
  expect(store.syncer!.syncs).toBeGreaterThan(syncsBeforeExec);
  a.disconnect();
});
