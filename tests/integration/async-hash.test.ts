/**
 * async_write for hash commands. Field writes edit a hash inside its shard's writer and are
 * acknowledged after COMMIT in every mode (Keyspace.writeHash): the per-field overlay that used
 * to acknowledge them early is gone. What async mode still promises for hashes: reads from any
 * client see every acknowledged write, replies are decided against the pending string writes
 * queued before them (FIFO per shard), FLUSHDB removes pending hashes, a failed commit is
 * reported to the client and counted nowhere as lost, and acknowledged writes survive a
 * restart. Real server, real ioredis clients.
 */
import { expect, test } from "bun:test";
import Redis from "ioredis";
import { startTestServer } from "../helpers/server.ts";

async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  return c;
}

test("in async mode HSET is acknowledged after its commit and every hash read sees it", async () => {
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const store = server.handle.store;
  const a = await client(server.port);
  const b = await client(server.port);
  expect(await a.hset("users", "alice", "1", "bob", "2", "carol", "3")).toBe(3);
  // Acknowledged after COMMIT: nothing of it is pending any more.
  expect(store.scheduler.pendingOps).toBe(0);
  // Reads from another client see the fields.
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
  // A pending string write (acknowledged early) decides the next hash write's reply: the
  // writer queue is FIFO, so HSET runs after SET's commit and meets a string.
  expect(await a.set("users:str", "plain")).toBe("OK");
  expect(store.scheduler.pendingOps).toBeGreaterThan(0);
  await expect(a.hset("users:str", "f", "v")).rejects.toThrow("WRONGTYPE");
  expect(await a.del("users:str")).toBe(1);
  expect(await a.hset("users:str", "f", "v")).toBe(1);
  expect(await b.hget("users:str", "f")).toBe("v");
  expect(await b.hlen("users")).toBe(3);
  expect(await b.hgetall("users")).toEqual({ alice: "10", carol: "3", dave: "4" });
  const [, scanned] = await b.hscan("users", "0", "COUNT", "100");
  expect(scanned).toEqual(["alice", "10", "carol", "3", "dave", "4"]);
  await store.scheduler.drain();
  expect(await b.hget("users", "alice")).toBe("10");
  expect(await b.hget("counters", "n")).toBe("7");
  a.disconnect();
  b.disconnect();
});

test("in async mode field TTLs and HGETDEL read their own acknowledged writes", async () => {
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
  await server.handle.store.scheduler.drain();
  expect(await a.call("HTTL", "s", "FIELDS", "2", "f", "g")).toEqual([-1, -2]);
  a.disconnect();
});

test("in async mode DEL and FLUSHDB also remove hashes", async () => {
  await using server = await startTestServer({ asyncWrite: true, batchTimeoutMs: 300 });
  const a = await client(server.port);
  await a.hset("gone", "f", "1");
  expect(await a.del("gone")).toBe(1);
  expect(await a.hget("gone", "f")).toBeNull();
  await a.hset("later", "f", "1");
  expect(await a.flushdb()).toBe("OK");
  expect(await a.hget("later", "f")).toBeNull();
  await server.handle.store.scheduler.drain();
  expect(await a.hget("later", "f")).toBeNull();
  expect(await a.hget("gone", "f")).toBeNull();
  a.disconnect();
});

test("in async mode a hash write whose commit fails is refused to the client and leaves nothing", async () => {
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
  // Acknowledged after COMMIT: the client gets the failure instead of a lost write.
  await expect(a.hset("ns", "big", Buffer.alloc(256 * 1024, 1))).rejects.toThrow();
  expect(await a.hget("ns", "big")).toBeNull();
  expect(server.handle.store.asyncFailures).toBe(0);
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
