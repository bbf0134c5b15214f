/**
 * async_write for hash commands: writes are acknowledged before their commit, and every read
 * (from any client) sees the pending state; the walkers (HLEN, HGETALL, HSCAN) commit what is
 * pending first. A failed commit is dropped and counted. Real server, real ioredis clients.
 */
import { expect, test } from "bun:test";
import Redis from "ioredis";
import { startTestServer } from "../helpers/server.ts";

async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  return c;
}

test("in async mode HSET is acknowledged before its commit and every hash read sees it", async () => {
  // A long batch window keeps the writes pending while the reads run.
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const store = server.handle.store;
  const a = await client(server.port);
  const b = await client(server.port);
  const started = performance.now();
  expect(await a.hset("users", "alice", "1", "bob", "2", "carol", "3")).toBe(3);
  expect(performance.now() - started).toBeLessThan(250);
  expect(store.scheduler.pendingOps).toBeGreaterThan(0);
  // Field-level reads from another client see the pending fields.
  expect(await b.hget("users", "alice")).toBe("1");
  expect(await b.hmget("users", "bob", "nope")).toEqual(["2", null]);
  expect(await b.hexists("users", "carol")).toBe(1);
  expect(await b.hstrlen("users", "carol")).toBe(1);
  // The reply of a write is decided against pending state too.
  expect(await a.hset("users", "alice", "10", "dave", "4")).toBe(1);
  expect(await b.hget("users", "alice")).toBe("10");
  expect(await a.hsetnx("users", "dave", "x")).toBe(0);
  expect(await a.hdel("users", "bob", "bob", "nope")).toBe(1);
  expect(await b.hget("users", "bob")).toBeNull();
  expect(await a.hincrby("counters", "n", 5)).toBe(5);
  expect(await a.hincrby("counters", "n", 2)).toBe(7);
  expect(await b.hget("counters", "n")).toBe("7");
  expect(store.scheduler.pendingOps).toBeGreaterThan(0);
  // Walkers commit what is pending, then read SQLite.
  expect(await b.hlen("users")).toBe(3);
  expect(await b.hgetall("users")).toEqual({ alice: "10", carol: "3", dave: "4" });
  const [, scanned] = await b.hscan("users", "0", "COUNT", "100");
  expect(scanned.length).toBe(6);
  expect(await b.call("BLOBASAUR.NAMESPACES")).toEqual(["counters", "users"]);
  await store.scheduler.drain();
  expect(await b.hget("users", "alice")).toBe("10");
  expect(await b.hget("counters", "n")).toBe("7");
  a.disconnect();
  b.disconnect();
});

test("in async mode field TTLs and HGETDEL decide against pending writes", async () => {
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const a = await client(server.port);
  await a.hset("s", "f", "v", "g", "w");
  expect(await a.call("HEXPIRE", "s", "100", "FIELDS", "2", "f", "nope")).toEqual([1, -2]);
  const ttl = (await a.call("HTTL", "s", "FIELDS", "2", "f", "g")) as number[];
  expect(ttl[0]).toBeGreaterThan(90);
  expect(ttl[1]).toBe(-1);
  expect(await a.call("HPERSIST", "s", "FIELDS", "1", "f")).toEqual([1]);
  expect(await a.call("HGETDEL", "s", "FIELDS", "2", "g", "nope")).toEqual(["w", null]);
  expect(await a.hget("s", "g")).toBeNull();
  expect(server.handle.store.scheduler.pendingOps).toBeGreaterThan(0);
  await server.handle.store.scheduler.drain();
  expect(await a.call("HTTL", "s", "FIELDS", "2", "f", "g")).toEqual([-1, -2]);
  a.disconnect();
});

test("in async mode DROPNAMESPACE and FLUSHDB also remove pending fields", async () => {
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const a = await client(server.port);
  await a.hset("gone", "f", "1");
  expect(await a.call("BLOBASAUR.DROPNAMESPACE", "gone")).toBe(1);
  expect(await a.hget("gone", "f")).toBeNull();
  await a.hset("later", "f", "1");
  expect(await a.flushdb()).toBe("OK");
  expect(await a.hget("later", "f")).toBeNull();
  await server.handle.store.scheduler.drain();
  expect(await a.hget("later", "f")).toBeNull();
  expect(await a.call("BLOBASAUR.NAMESPACES")).toEqual([]);
  a.disconnect();
});

test("in async mode a hash write whose commit fails is dropped from the overlay and counted", async () => {
  await using server = await startTestServer({
    asyncWrite: true,
    batchTimeoutMs: 50,
    numShards: 1,
  });
  const a = await client(server.port);
  await a.hset("ns", "old", "kept");
  await server.handle.store.scheduler.drain();
  const shard = server.handle.store.shards[0]!;
  const used = (shard.db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  shard.db.run(`PRAGMA max_page_count = ${used}`);
  expect(await a.hset("ns", "big", Buffer.alloc(256 * 1024, 1))).toBe(1);
  expect(await a.hstrlen("ns", "big")).toBe(256 * 1024);
  await server.handle.store.scheduler.drain();
  expect(await a.hget("ns", "big")).toBeNull();
  expect(server.handle.store.asyncFailures).toBe(1);
  expect(await a.hget("ns", "old")).toBe("kept");
  shard.db.run("PRAGMA max_page_count = 1073741823");
  a.disconnect();
});

test("in async mode acknowledged hash writes survive a restart", async () => {
  const first = await startTestServer({ asyncWrite: true }, { keepDir: true });
  const a = await client(first.port);
  for (let i = 0; i < 50; i++) await a.hset("persist", `f${i}`, `v${i}`);
  a.disconnect();
  await first.stop();
  await using second = await startTestServer({ asyncWrite: true }, { dir: first.dir });
  const b = await client(second.port);
  expect(await b.hlen("persist")).toBe(50);
  expect(await b.hget("persist", "f49")).toBe("v49");
  b.disconnect();
});
