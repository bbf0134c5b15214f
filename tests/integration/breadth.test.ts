/**
 * Issue 9's string and keyspace commands (set-variants.ts, modify.ts, lcs.ts, longdouble.ts,
 * rename-copy.ts, object.ts): every command through ioredis and node-redis with Redis's error texts,
 * cross-shard atomicity of RENAME/COPY/MSETNX, a PARITY section that compares raw reply bytes
 * with a real redis-server (started here; missing redis-server fails loudly), and three small
 * applications (session store, rate limiter, cache-aside) written against ioredis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Arg = string | Uint8Array;
/** Compared byte for byte; an integer reply that must lie in a range on both; or a pause. */
type Step = Arg[] | { cmd: Arg[]; range: [number, number] } | { sleep: number };

const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const binaryKey = Buffer.from([0, 1, 2, 13, 10, 255, 128, 32, 42]);
const future = "4102444800"; // 2100-01-01T00:00:00Z
const futureMs = "4102444800123";
const MAX = "9223372036854775807";
const MIN = "-9223372036854775808";

async function ioredis(server: TestServer): Promise<Redis> {
  const client = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  return client;
}

async function nodeRedis(server: TestServer) {
  const client = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
  await client.connect();
  return client;
}

/** The error text a failing promise rejects with. */
async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the command to fail");
}

/** Two keys owned by different shards, the first on the lower shard when `lowFirst`. */
function crossShardPair(server: TestServer, prefix: string, lowFirst: boolean): [string, string] {
  const store = server.handle.store;
  for (let i = 0; i < 1000; i++) {
    for (let j = 0; j < 1000; j++) {
      const a = `${prefix}:a${i}`;
      const b = `${prefix}:b${j}`;
      const sa = store.shardOf(Buffer.from(a));
      const sb = store.shardOf(Buffer.from(b));
      if (lowFirst ? sa < sb : sa > sb) return [a, b];
    }
  }
  throw new Error("no cross-shard pair found");
}

describe("strings through ioredis", () => {
  test("SETNX, SETEX, PSETEX, GETSET, GETDEL and GETEX behave like Redis", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    expect(await r.setnx("k", "v")).toBe(1);
    expect(await r.setnx("k", "w")).toBe(0);
    expect(await r.get("k")).toBe("v");
    expect(await r.setex("e", 100, "v")).toBe("OK");
    expect(await r.ttl("e")).toBeWithin(99, 101);
    expect(await r.psetex("p", 100_000, "v")).toBe("OK");
    expect(await r.pttl("p")).toBeWithin(98_000, 100_001);
    expect(await errorOf(r.setex("e", 0, "v"))).toBe("ERR invalid expire time in 'setex' command");
    expect(await errorOf(r.psetex("e", -5, "v"))).toBe(
      "ERR invalid expire time in 'psetex' command",
    );
    expect(await errorOf(r.call("SETEX", "e", "ten", "v"))).toBe(
      "ERR value is not an integer or out of range",
    );
    expect(await r.getset("e", "new")).toBe("v");
    expect(await r.ttl("e")).toBe(-1); // GETSET drops the TTL
    expect(await r.getset("missing", "x")).toBeNull();
    expect(await r.getdel("missing2")).toBeNull();
    expect(await r.getdel("missing")).toBe("x");
    expect(await r.exists("missing")).toBe(0);
    expect(await r.getex("k", "EX", 50)).toBe("v");
    expect(await r.ttl("k")).toBeWithin(49, 51);
    expect(await r.getex("k", "PERSIST")).toBe("v");
    expect(await r.ttl("k")).toBe(-1);
    expect(await r.getex("k", "PXAT", 1)).toBe("v");
    expect(await r.exists("k")).toBe(0);
    expect(await r.getex("nope", "EX", 10)).toBeNull();
    expect(await r.getex("nope", "EX", 0)).toBeNull(); // Redis checks the time only for a found key
    await r.set("k", "v");
    expect(await errorOf(r.call("GETEX", "k", "EX", "10", "PERSIST"))).toBe("ERR syntax error");
    expect(await errorOf(r.call("GETEX", "k", "EX", "10", "PX", "10"))).toBe("ERR syntax error");
    expect(await errorOf(r.call("GETEX", "k", "EX", "0"))).toBe(
      "ERR invalid expire time in 'getex' command",
    );
    r.disconnect();
  });

  test("MSETNX is all or nothing, including across shards", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    const [a, b] = crossShardPair(server, "m", true);
    expect(await r.msetnx(a, "1", b, "2")).toBe(1);
    expect(await r.mget(a, b)).toEqual(["1", "2"]);
    expect(await r.msetnx("fresh", "x", b, "3")).toBe(0);
    expect(await r.exists("fresh")).toBe(0);
    expect(await r.get(b)).toBe("2");
    expect(await errorOf(r.call("MSETNX", "a", "1", "b"))).toBe(
      "ERR wrong number of arguments for 'msetnx' command",
    );
    r.disconnect();
  });

  test("APPEND and SETRANGE build strings, keep the TTL and respect proto-max-bulk-len", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    expect(await r.append("s", "Hello")).toBe(5);
    expect(await r.append("s", " World")).toBe(11);
    await r.expire("s", 100);
    expect(await r.setrange("s", 6, "Redis")).toBe(11);
    expect(await r.get("s")).toBe("Hello Redis");
    expect(await r.ttl("s")).toBeWithin(99, 101);
    expect(await r.append("s", "!")).toBe(12);
    expect(await r.ttl("s")).toBeWithin(99, 101);
    expect(await r.setrange("pad", 3, "x")).toBe(4);
    expect(await r.getBuffer("pad")).toEqual(Buffer.from([0, 0, 0, 120]));
    expect(await r.setrange("none", 10, "")).toBe(0);
    expect(await r.exists("none")).toBe(0);
    expect(await errorOf(r.setrange("s", -1, "x"))).toBe("ERR offset is out of range");
    expect(await errorOf(r.setrange("s", 536870912, "x"))).toBe(
      "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
    );
    expect(await r.substr("s", 0, 4)).toBe("Hello");
    r.disconnect();
  });

  test("INCR, DECR, INCRBY and DECRBY do 64-bit arithmetic, keep the TTL and refuse overflow", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    expect(await r.incr("n")).toBe(1);
    expect(await r.incrby("n", 41)).toBe(42);
    expect(await r.decr("n")).toBe(41);
    expect(await r.decrby("n", 50)).toBe(-9);
    await r.expire("n", 100);
    expect(await r.incr("n")).toBe(-8);
    expect(await r.ttl("n")).toBeWithin(99, 101);
    await r.set("big", MAX);
    expect(await errorOf(r.incr("big"))).toBe("ERR increment or decrement would overflow");
    expect(await errorOf(r.decrby("n", MIN))).toBe("ERR decrement would overflow");
    await r.set("text", "abc");
    expect(await errorOf(r.incr("text"))).toBe("ERR value is not an integer or out of range");
    expect(await errorOf(r.incrby("n", "1.5"))).toBe("ERR value is not an integer or out of range");
    r.disconnect();
  });

  test("INCRBYFLOAT formats like Redis's long double and keeps the TTL", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    expect(await r.incrbyfloat("f", "10.5")).toBe("10.5");
    expect(await r.incrbyfloat("f", "0.1")).toBe("10.6");
    expect(await r.incrbyfloat("f", "-5.0e3")).toBe("-4989.39999999999999991");
    await r.expire("f", 100);
    expect(await r.incrbyfloat("f", "1e17")).toBe("99999999999995010.6015625");
    expect(await r.ttl("f")).toBeWithin(99, 101);
    expect(await errorOf(r.incrbyfloat("f", "abc"))).toBe("ERR value is not a valid float");
    expect(await errorOf(r.incrbyfloat("f", "inf"))).toBe(
      "ERR increment would produce NaN or Infinity",
    );
    r.disconnect();
  });

  test("LCS returns the subsequence, its length and the matching ranges", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    await r.mset("key1", "ohmytext", "key2", "mynewtext");
    expect(await r.call("LCS", "key1", "key2")).toBe("mytext");
    expect(await r.call("LCS", "key1", "key2", "LEN")).toBe(6);
    expect(await r.call("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")).toEqual([
      "matches",
      [[[4, 7], [5, 8], 4]],
      "len",
      6,
    ]);
    expect(await errorOf(r.call("LCS", "key1", "key2", "LEN", "IDX"))).toBe(
      "ERR If you want both the length and indexes, please just use IDX.",
    );
    // Past 64 Mi table cells we refuse the way Redis does when its allocation fails.
    await r.mset("huge1", "a".repeat(9000), "huge2", "b".repeat(9000));
    expect(await errorOf(r.call("LCS", "huge1", "huge2"))).toBe(
      "ERR Insufficient memory, failed allocating transient memory for LCS",
    );
    r.disconnect();
  });
});

describe("keyspace through ioredis", () => {
  test("RENAME and RENAMENX move the value and the TTL, across shards both ways", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    for (const lowFirst of [true, false]) {
      const [src, dst] = crossShardPair(server, `r${lowFirst}`, lowFirst);
      await r.set(src, "v", "EX", 100);
      await r.set(dst, "old");
      expect(await r.rename(src, dst)).toBe("OK");
      expect(await r.exists(src)).toBe(0);
      expect(await r.get(dst)).toBe("v");
      expect(await r.ttl(dst)).toBeWithin(99, 101);
      await r.set(src, "w");
      expect(await r.renamenx(src, dst)).toBe(0);
      expect(await r.get(src)).toBe("w");
      await r.del(dst);
      expect(await r.renamenx(src, dst)).toBe(1);
      expect(await r.ttl(dst)).toBe(-1);
    }
    expect(await errorOf(r.rename("missing", "x"))).toBe("ERR no such key");
    expect(await errorOf(r.renamenx("missing", "x"))).toBe("ERR no such key");
    await r.set("same", "1");
    expect(await r.rename("same", "same")).toBe("OK");
    expect(await r.renamenx("same", "same")).toBe(0);
    r.disconnect();
  });

  test("COPY copies the value and the TTL, honours REPLACE and copies into other databases", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    const [src, dst] = crossShardPair(server, "c", false);
    await r.set(src, "v", "EX", 100);
    expect(await r.copy(src, dst)).toBe(1);
    expect(await r.get(dst)).toBe("v");
    expect(await r.ttl(dst)).toBeWithin(99, 101);
    await r.set(src, "w");
    expect(await r.copy(src, dst)).toBe(0);
    expect(await r.copy(src, dst, "REPLACE")).toBe(1);
    expect(await r.get(dst)).toBe("w");
    expect(await r.ttl(dst)).toBe(-1);
    expect(await r.copy(src, dst, "DB", 0, "REPLACE")).toBe(1);
    expect(await errorOf(r.copy(src, dst, "DB", 16))).toBe("ERR DB index is out of range");
    expect(await errorOf(r.copy(src, src))).toBe("ERR source and destination objects are the same");
    // Another database: the same name is fine there, and the copy lives only in that database.
    expect(await r.copy(src, src, "DB", 1)).toBe(1);
    expect(await r.copy(src, src, "DB", 1)).toBe(0);
    await r.select(1);
    expect(await r.get(src)).toBe("w");
    expect(await r.exists(dst)).toBe(0);
    await r.select(0);
    expect(await r.copy("missing", dst)).toBe(0);
    r.disconnect();
  });

  test("TOUCH, OBJECT, WAIT and WAITAOF answer honestly", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    await r.set("a", "1");
    await r.set("s", "hello");
    await r.set("long", "x".repeat(45));
    expect(await r.touch("a", "a", "missing")).toBe(2);
    expect(await r.object("ENCODING", "a")).toBe("int");
    expect(await r.object("ENCODING", "s")).toBe("embstr");
    expect(await r.object("ENCODING", "long")).toBe("raw");
    expect(await r.object("ENCODING", "missing")).toBeNull();
    expect(await r.object("REFCOUNT", "a")).toBe(2147483647);
    expect(await r.object("REFCOUNT", "s")).toBe(1);
    expect(await r.object("IDLETIME", "s")).toBe(0);
    expect(await errorOf(r.object("FREQ", "s"))).toStartWith(
      "ERR An LFU maxmemory policy is not selected",
    );
    expect(((await r.object("HELP")) as string[])[0]).toBe(
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    );
    // Values built by APPEND are "raw" in Redis whatever their size.
    await r.append("s", "!");
    expect(await r.object("ENCODING", "s")).toBe("raw");
    expect(await r.wait(0, 0)).toBe(0);
    expect(await r.wait(1, 0)).toBe(0); // no replicas: at once, where Redis would block
    expect(await r.call("WAITAOF", "0", "0", "0")).toEqual([0, 0]);
    expect(await errorOf(r.call("WAITAOF", "1", "0", "0"))).toBe(
      "ERR WAITAOF cannot be used when numlocal is set but sqlite.synchronous is not FULL (commits are not fsynced).",
    );
    expect(await errorOf(r.call("WAITAOF", "2", "0", "0"))).toBe(
      "ERR value is out of range, value must between 0 and 1",
    );
    expect(await errorOf(r.call("WAITAOF", "0", "-1", "0"))).toBe(
      "ERR value is out of range, must be positive",
    );
    expect(await errorOf(r.call("WAITAOF", "0", "0", "-1"))).toBe("ERR timeout is negative");
    r.disconnect();
  });

  test("WAITAOF acknowledges the local fsync when sqlite.synchronous is FULL", async () => {
    for (const asyncWrite of [false, true]) {
      await using server = await startTestServer({ asyncWrite, sqlite: { synchronous: "FULL" } });
      const r = await ioredis(server);
      await r.set("k", "v");
      expect(await r.call("WAITAOF", "1", "0", "0")).toEqual([1, 0]);
      r.disconnect();
    }
  });
});

describe("node-redis", () => {
  test("string commands", async () => {
    await using server = await startTestServer();
    const c = await nodeRedis(server);
    expect(await c.setNX("k", "v")).toBe(1);
    expect(await c.setEx("e", 100, "v")).toBe("OK");
    expect(await c.pSetEx("p", 100_000, "v")).toBe("OK");
    expect(await c.getSet("k", "w")).toBe("v");
    expect(await c.getEx("k", { type: "EX", value: 100 })).toBe("w");
    expect(await c.ttl("k")).toBeWithin(99, 101);
    expect(await c.getDel("k")).toBe("w");
    expect((await c.mSetNX(["x", "1", "y", "2"])) as unknown).toBe(1);
    expect((await c.mSetNX(["y", "3", "z", "4"])) as unknown).toBe(0);
    expect(await c.append("x", "23")).toBe(3);
    expect(await c.setRange("x", 1, "99")).toBe(3);
    expect(await c.incr("x")).toBe(200);
    expect(await c.decr("x")).toBe(199);
    expect(await c.incrBy("x", 1)).toBe(200);
    expect(await c.decrBy("x", 100)).toBe(100);
    expect(await c.incrByFloat("x", 0.25)).toBe("100.25");
    expect((await c.sendCommand(["SUBSTR", "x", "0", "2"])) as unknown).toBe("100");
    await c.mSet(["l1", "ohmytext", "l2", "mynewtext"]);
    expect(await c.LCS("l1", "l2")).toBe("mytext");
    expect(await c.lcsLen("l1", "l2")).toBe(6);
    const idx = await c.lcsIdxWithMatchLen("l1", "l2", { MINMATCHLEN: 4 });
    expect(idx).toEqual({ matches: [[[4, 7], [5, 8], 4]], len: 6 } as never);
    expect(await errorOf(c.setEx("e", 0, "v"))).toBe("ERR invalid expire time in 'setex' command");
    expect(await errorOf(c.incrByFloat("p", 1))).toBe("ERR value is not a valid float");
    expect(await errorOf(c.setRange("x", -1, "v"))).toBe("ERR offset is out of range");
    await c.quit();
  });

  test("keyspace commands", async () => {
    await using server = await startTestServer();
    const c = await nodeRedis(server);
    await c.set("a", "1");
    expect(await c.rename("a", "b")).toBe("OK");
    expect(await c.renameNX("b", "a")).toBe(1);
    expect(await c.copy("a", "b")).toBe(1);
    expect(await c.copy("a", "b", { REPLACE: true })).toBe(1);
    expect(await errorOf(c.copy("a", "b", { DB: 16 }))).toBe("ERR DB index is out of range");
    expect(await errorOf(c.rename("nope", "x"))).toBe("ERR no such key");
    expect(await c.touch(["a", "b", "c"])).toBe(2);
    expect(await c.objectEncoding("a")).toBe("int");
    expect(await c.objectRefCount("a")).toBe(2147483647);
    expect(await c.objectIdleTime("a")).toBe(0);
    expect(await errorOf(c.objectFreq("a"))).toStartWith(
      "ERR An LFU maxmemory policy is not selected",
    );
    expect(await c.wait(0, 0)).toBe(0);
    expect((await c.sendCommand(["WAITAOF", "0", "0", "0"])) as unknown).toEqual([0, 0]);
    await c.quit();
  });
});

describe("atomicity across shards", () => {
  test("a pipeline of writes around a cross-shard RENAME runs in order", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    for (const lowFirst of [true, false]) {
      const [src, dst] = crossShardPair(server, `p${lowFirst}`, lowFirst);
      const replies = await r
        .pipeline()
        .set(src, "one")
        .rename(src, dst)
        .set(src, "two")
        .renamenx(src, dst)
        .get(dst)
        .set(dst, "three")
        .copy(src, dst, "REPLACE")
        .get(dst)
        .exec();
      expect(replies!.map(([e, v]) => e?.message ?? v)).toEqual([
        "OK",
        "OK",
        "OK",
        0,
        "one",
        "OK",
        1,
        "two",
      ]);
    }
    r.disconnect();
  });

  test("readers never see a cross-shard RENAME half done", async () => {
    await using server = await startTestServer();
    const writer = await ioredis(server);
    const reader = await ioredis(server);
    const [a, b] = crossShardPair(server, "flip", true);
    await writer.set(a, "v");
    const seen = new Set<number>();
    let done = false;
    const flips = (async () => {
      for (let i = 0; i < 200; i++) {
        await Promise.all([writer.rename(a, b), writer.rename(b, a)]);
      }
      done = true;
    })();
    while (!done) seen.add((await reader.exists(a, b)) as number);
    await flips;
    expect([...seen]).toEqual([1]);
    writer.disconnect();
    reader.disconnect();
  });

  test("concurrent MSETNX over overlapping keys: every key has exactly one winner", async () => {
    await using server = await startTestServer();
    const clients = await Promise.all(Array.from({ length: 8 }, () => ioredis(server)));
    const keys = Array.from({ length: 12 }, (_, i) => `race:${i}`);
    const attempts = Array.from({ length: 40 }, (_, n) => [
      keys[n % 12]!,
      keys[(n * 7 + 3) % 12]!,
      keys[(n * 5 + 1) % 12]!,
    ]);
    const results = await Promise.all(
      attempts.map((ks, n) =>
        clients[n % clients.length]!.msetnx(...ks.flatMap((k) => [k, `w${n}`])),
      ),
    );
    const values = await clients[0]!.mget(...keys);
    for (let n = 0; n < attempts.length; n++) {
      const mine = attempts[n]!.map((k) => values[keys.indexOf(k)]);
      if (results[n] === 1) expect(mine.every((v) => v === `w${n}`)).toBe(true);
      else expect(mine.some((v) => v !== `w${n}`)).toBe(true);
    }
    for (const c of clients) c.disconnect();
  });

  test("RENAME, COPY and MSETNX work across shards with async_write", async () => {
    await using server = await startTestServer({ asyncWrite: true });
    const r = await ioredis(server);
    const [src, dst] = crossShardPair(server, "async", false);
    await r.set(src, "v");
    expect(await r.rename(src, dst)).toBe("OK");
    expect(await r.mget(src, dst)).toEqual([null, "v"]);
    expect(await r.copy(dst, src)).toBe(1);
    expect(await r.msetnx(src, "x", "other", "y")).toBe(0);
    expect(await r.mget(src, dst, "other")).toEqual(["v", "v", null]);
    r.disconnect();
  });
});

describe("applications written against ioredis run unchanged", () => {
  class SessionStore {
    constructor(
      private readonly redis: Redis,
      private readonly ttlSeconds: number,
    ) {}
    private key(id: string) {
      return `session:${id}`;
    }
    async create(id: string, data: object): Promise<boolean> {
      const ok = await this.redis.setnx(this.key(id), JSON.stringify(data));
      if (ok === 1) await this.redis.expire(this.key(id), this.ttlSeconds);
      return ok === 1;
    }
    /** Sliding expiry: reading a session extends it. */
    async load(id: string): Promise<object | null> {
      const raw = await this.redis.getex(this.key(id), "EX", this.ttlSeconds);
      return raw === null ? null : JSON.parse(raw);
    }
    async rotate(oldId: string, newId: string): Promise<boolean> {
      return (await this.redis.renamenx(this.key(oldId), this.key(newId))) === 1;
    }
    async destroy(id: string): Promise<object | null> {
      const raw = await this.redis.getdel(this.key(id));
      return raw === null ? null : JSON.parse(raw);
    }
  }

  test("a session store", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    const sessions = new SessionStore(r, 1800);
    expect(await sessions.create("s1", { user: 7 })).toBe(true);
    expect(await sessions.create("s1", { user: 8 })).toBe(false);
    expect(await sessions.load("s1")).toEqual({ user: 7 });
    expect(await r.ttl("session:s1")).toBeWithin(1799, 1801);
    expect(await sessions.rotate("s1", "s2")).toBe(true);
    expect(await sessions.load("s1")).toBeNull();
    expect(await r.ttl("session:s2")).toBeWithin(1799, 1801);
    expect(await sessions.destroy("s2")).toEqual({ user: 7 });
    expect(await sessions.load("s2")).toBeNull();
    r.disconnect();
  });

  test("a fixed-window rate limiter with INCR and EXPIRE", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    const allow = async (client: string, limit: number, windowSeconds: number) => {
      const key = `rate:${client}`;
      const count = await r.incr(key);
      if (count === 1) await r.expire(key, windowSeconds);
      return count <= limit;
    };
    const decisions: boolean[] = [];
    for (let i = 0; i < 7; i++) decisions.push(await allow("alice", 5, 60));
    expect(decisions).toEqual([true, true, true, true, true, false, false]);
    expect(await allow("bob", 5, 60)).toBe(true);
    expect(await r.ttl("rate:alice")).toBeWithin(59, 61);
    expect(await r.get("rate:alice")).toBe("7");
    r.disconnect();
  });

  test("a cache-aside helper", async () => {
    await using server = await startTestServer();
    const r = await ioredis(server);
    let loads = 0;
    const loadUser = async (id: number) => {
      loads++;
      return { id, name: `user${id}` };
    };
    const cached = async <T>(key: string, ttl: number, load: () => Promise<T>): Promise<T> => {
      const hit = await r.get(key);
      if (hit !== null) return JSON.parse(hit) as T;
      const value = await load();
      await r.set(key, JSON.stringify(value), "EX", ttl, "NX");
      return value;
    };
    expect(await cached("user:1", 60, () => loadUser(1))).toEqual({ id: 1, name: "user1" });
    expect(await cached("user:1", 60, () => loadUser(1))).toEqual({ id: 1, name: "user1" });
    expect(loads).toBe(1);
    await r.del("user:1");
    await cached("user:1", 60, () => loadUser(1));
    expect(loads).toBe(2);
    expect(await r.ttl("user:1")).toBeWithin(59, 61);
    r.disconnect();
  });
});

// ---------------------------------------------------------------------------------------------
// PARITY: the same scripts against redis-server and our server, reply bytes compared.
// ---------------------------------------------------------------------------------------------

/** A small deterministic PRNG (mulberry32), so parity inputs are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random numbers as text in the shapes people send: integers, decimals, exponents, extremes. */
function randomFloats(count: number, seed: number): string[] {
  const rand = prng(seed);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const sign = rand() < 0.4 ? "-" : rand() < 0.1 ? "+" : "";
    const shape = Math.floor(rand() * 6);
    if (shape === 0) out.push(`${sign}${digits(1 + Math.floor(rand() * 20))}`);
    else if (shape === 1)
      out.push(
        `${sign}${digits(1 + Math.floor(rand() * 8))}.${digits(1 + Math.floor(rand() * 12))}`,
      );
    else if (shape === 2)
      out.push(
        `${sign}${digits(1)}.${digits(Math.floor(rand() * 25))}e${Math.floor(rand() * 60) - 30}`,
      );
    else if (shape === 3)
      out.push(
        `${sign}0.${"0".repeat(Math.floor(rand() * 20))}${digits(1 + Math.floor(rand() * 6))}`,
      );
    else if (shape === 4) out.push(`${sign}${digits(1)}e${Math.floor(rand() * 9000) - 4500}`);
    else out.push(`${sign}${(rand() * 1000).toFixed(Math.floor(rand() * 6))}`);
  }
  return out;
}

function lcsStrings(seed: number): [string, string][] {
  const rand = prng(seed);
  const word = (n: number, alphabet: string) =>
    Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
  return [
    [word(60, "ACGT"), word(70, "ACGT")],
    [word(200, "ab"), word(150, "ab")],
    [word(40, "abcdefghij"), word(45, "abcdefghij")],
  ];
}

const floatSteps: Step[] = randomFloats(400, 9).map((v, i) =>
  i % 5 === 0 ? ["SET", "f", v] : ["INCRBYFLOAT", "f", v],
);

const lcsSteps: Step[] = lcsStrings(3).flatMap(([x, y]) => [
  ["MSET", "x", x, "y", y],
  ["LCS", "x", "y"],
  ["LCS", "y", "x", "LEN"],
  ["LCS", "x", "y", "IDX"],
  ["LCS", "x", "y", "IDX", "WITHMATCHLEN"],
  ["LCS", "x", "y", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"],
  ["LCS", "y", "x", "IDX", "MINMATCHLEN", "2"],
]);

const ttlRange = (cmd: Arg[], lo: number, hi: number): Step => ({ cmd, range: [lo, hi] });

const scripts: [string, Step[]][] = [
  [
    "SETNX against not-expired volatile key, missing keys and empty strings",
    [
      ["SETNX", "k", "v"],
      ["SETNX", "k", "w"],
      ["GET", "k"],
      ["SETNX", "", ""],
      ["GET", ""],
      ["SETNX", binaryKey, binary],
      ["GET", binaryKey],
      ["SETNX", "k"],
      ["SETNX", "k", "v", "x"],
      ["PSETEX", "gone", "1", "v"],
      { sleep: 10 },
      ["SETNX", "gone", "fresh"],
      ["GET", "gone"],
    ],
  ],
  [
    "SETEX and PSETEX set a TTL and refuse bad times",
    [
      ["SETEX", "k", "100", "v"],
      ttlRange(["TTL", "k"], 99, 100),
      ["GET", "k"],
      ["PSETEX", "p", "100000", "v"],
      ttlRange(["PTTL", "p"], 98_000, 100_000),
      ["SETEX", "k", "0", "v"],
      ["SETEX", "k", "-1", "v"],
      ["SETEX", "k", "abc", "v"],
      ["SETEX", "k", "1.5", "v"],
      ["SETEX", "k", "", "v"],
      ["SETEX", "k", MAX, "v"],
      ["SETEX", "k", "9223372036854775", "v"],
      ["SETEX", "k", "99999999999999999999", "v"],
      ["PSETEX", "k", "0", "v"],
      ["PSETEX", "k", MAX, "v"],
      ["PSETEX", "k", MIN, "v"],
      ["SETEX", "k", "100"],
      ["PSETEX", "k"],
      ["GET", "k"],
    ],
  ],
  [
    "GETSET returns the old value and drops the TTL",
    [
      ["GETSET", "k", "a"],
      ["GETSET", "k", "b"],
      ["SET", "t", "v", "EX", "100"],
      ["GETSET", "t", "w"],
      ["TTL", "t"],
      ["GETSET", "bin", binary],
      ["GETSET", "bin", ""],
      ["GET", "bin"],
      ["GETSET", "k"],
    ],
  ],
  [
    "GETDEL returns the value once and deletes it",
    [
      ["GETDEL", "missing"],
      ["SET", "k", "v"],
      ["GETDEL", "k"],
      ["GETDEL", "k"],
      ["EXISTS", "k"],
      ["SET", "e", ""],
      ["GETDEL", "e"],
      ["PSETEX", "gone", "1", "v"],
      { sleep: 10 },
      ["GETDEL", "gone"],
      ["GETDEL"],
      ["GETDEL", "a", "b"],
    ],
  ],
  [
    "GETEX with every option, its conflicts and its bad times",
    [
      ["GETEX", "missing"],
      ["GETEX", "missing", "EX", "10"],
      ["GETEX", "missing", "EX", "0"],
      ["GETEX", "missing", "PX", "abc"],
      ["GETEX", "missing", "EX", MAX],
      ["GETEX", "missing", "EX"],
      ["GETEX", "missing", "EX", "1", "PX", "1"],
      ["SET", "k", "v"],
      ["GETEX", "k"],
      ["TTL", "k"],
      ["GETEX", "k", "EX", "100"],
      ttlRange(["TTL", "k"], 99, 100),
      ["GETEX", "k", "px", "200000"],
      ttlRange(["PTTL", "k"], 198_000, 200_000),
      ["GETEX", "k", "PERSIST"],
      ["TTL", "k"],
      ["GETEX", "k", "EXAT", future],
      ["EXPIRETIME", "k"],
      ["GETEX", "k", "PXAT", futureMs],
      ["PEXPIRETIME", "k"],
      ["GETEX", "k", "persist", "PERSIST"],
      ["TTL", "k"],
      ["GETEX", "k", "EX", "10", "EX", "100"],
      ttlRange(["TTL", "k"], 99, 100),
      ["GETEX", "k", "EX", "abc", "EX", "200"],
      ttlRange(["TTL", "k"], 199, 200),
      ["GETEX", "k", "EX", "10", "PX", "10"],
      ["GETEX", "k", "EX"],
      ["GETEX", "k", "PERSIST", "EX", "10"],
      ["GETEX", "k", "EX", "10", "PERSIST"],
      ["GETEX", "k", "KEEPTTL"],
      ["GETEX", "k", "FOO"],
      ["GETEX", "k", "EX", "0"],
      ["GETEX", "k", "EX", "-1"],
      ["GETEX", "k", "PX", "abc"],
      ["GETEX", "k", "EXAT", "0"],
      ["GETEX", "k", "EX", MAX],
      ["GETEX", "k", "PXAT", MAX],
      ["GETEX", "k", "PXAT", "1"],
      ["EXISTS", "k"],
      ["SET", "b", binary],
      ["GETEX", "b", "EXAT", "1"],
      ["GETEX", "b"],
      ["GETEX"],
    ],
  ],
  [
    "MSETNX with already existent keys and duplicates",
    [
      ["MSETNX", "a", "1", "b", "2"],
      ["MSETNX", "b", "3", "c", "4"],
      ["MGET", "a", "b", "c"],
      ["MSETNX", "x", "1", "x", "2"],
      ["GET", "x"],
      [
        "MSETNX",
        "k0",
        "0",
        "k1",
        "1",
        "k2",
        "2",
        "k3",
        "3",
        "k4",
        "4",
        "k5",
        "5",
        "k6",
        "6",
        "k7",
        "7",
      ],
      ["MGET", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"],
      ["MSETNX", "new1", "v", "new2", "v", "k7", "v"],
      ["EXISTS", "new1", "new2"],
      ["MSETNX", "", binary, binaryKey, ""],
      ["MGET", "", binaryKey],
      ["PSETEX", "gone", "1", "v"],
      { sleep: 10 },
      ["MSETNX", "gone", "back", "fresh", "v"],
      ["MGET", "gone", "fresh"],
      ["MSETNX", "a"],
      ["MSETNX", "a", "1", "b"],
    ],
  ],
  [
    "APPEND basics, binary data, empty strings and kept TTLs",
    [
      ["APPEND", "k", ""],
      ["EXISTS", "k"],
      ["GET", "k"],
      ["APPEND", "k", "abc"],
      ["APPEND", "k", binary],
      ["GET", "k"],
      ["STRLEN", "k"],
      ["SET", "t", "v", "EX", "100"],
      ["APPEND", "t", "x"],
      ttlRange(["TTL", "t"], 99, 100),
      ["GET", "t"],
      ["SET", "n", "1"],
      ["APPEND", "n", "2"],
      ["INCR", "n"],
      ["PSETEX", "gone", "1", "old"],
      { sleep: 10 },
      ["APPEND", "gone", "new"],
      ["GET", "gone"],
      ["TTL", "gone"],
      ["APPEND", "k"],
    ],
  ],
  [
    "SETRANGE against new and existing keys, zero padding and its limits",
    [
      ["SETRANGE", "k", "0", ""],
      ["EXISTS", "k"],
      ["SETRANGE", "k", "5", ""],
      ["EXISTS", "k"],
      ["SETRANGE", "k", "3", "abc"],
      ["GET", "k"],
      ["SETRANGE", "k", "1", "X"],
      ["GET", "k"],
      ["SETRANGE", "k", "10", ""],
      ["SETRANGE", "k", "8", binary],
      ["GET", "k"],
      ["SETRANGE", "k", "-1", "x"],
      ["SETRANGE", "k", "-1", ""],
      ["SETRANGE", "k", "abc", "x"],
      ["SETRANGE", "k", "1.5", "x"],
      ["SETRANGE", "k", "536870911", "xy"],
      ["SETRANGE", "k", "536870912", "x"],
      ["SETRANGE", "k", "536870912", ""],
      ["SETRANGE", "missing", "536870912", ""],
      ["SETRANGE", "k", MAX, "x"],
      ["SETRANGE", "k", "99999999999999999999", "x"],
      ["SET", "t", "hello", "EX", "100"],
      ["SETRANGE", "t", "0", "J"],
      ttlRange(["TTL", "t"], 99, 100),
      ["GET", "t"],
      ["SETRANGE", "k", "0"],
    ],
  ],
  [
    "SUBSTR is GETRANGE",
    [
      ["SET", "k", "Hello World"],
      ["SUBSTR", "k", "0", "4"],
      ["SUBSTR", "k", "-5", "-1"],
      ["SUBSTR", "k", "5", "1"],
      ["SUBSTR", "k", "-100", "100"],
      ["SUBSTR", "missing", "0", "-1"],
      ["SUBSTR", "k", "a", "b"],
      ["SUBSTR", "k", "0"],
    ],
  ],
  [
    "INCR, DECR, INCRBY and DECRBY against new, numeric, invalid and overflowing values",
    [
      ["INCR", "k"],
      ["INCR", "k"],
      ["INCRBY", "k", "10"],
      ["DECR", "k"],
      ["DECRBY", "k", "5"],
      ["INCRBY", "k", "-3"],
      ["DECRBY", "k", "-3"],
      ["INCRBY", "k", "abc"],
      ["INCRBY", "k", "1.5"],
      ["INCRBY", "k", ""],
      ["INCRBY", "k", "+1"],
      ["INCRBY", "k", " 1"],
      ["INCRBY", "k", "01"],
      ["INCRBY", "k", "-0"],
      ["INCRBY", "k", "9223372036854775808"],
      ["SET", "k", "9223372036854775806"],
      ["INCR", "k"],
      ["INCR", "k"],
      ["GET", "k"],
      ["SET", "k", "-9223372036854775807"],
      ["DECR", "k"],
      ["DECR", "k"],
      ["INCRBY", "k", MAX],
      ["SET", "k", "0"],
      ["INCRBY", "k", MIN],
      ["DECRBY", "k", MIN],
      ["DECRBY", "k", MAX],
      ["DECRBY", "str", MIN],
      ["SET", "str", "abc"],
      ["INCR", "str"],
      ["DECRBY", "str", MIN],
      ["SET", "str", " 1"],
      ["INCR", "str"],
      ["SET", "str", "1 "],
      ["INCR", "str"],
      ["SET", "str", "007"],
      ["INCR", "str"],
      ["SET", "str", "-0"],
      ["INCR", "str"],
      ["SET", "str", ""],
      ["INCR", "str"],
      ["SET", "str", "99999999999999999999"],
      ["INCR", "str"],
      ["SET", "str", "1.0"],
      ["INCR", "str"],
      ["SET", "str", binary],
      ["DECR", "str"],
      ["SET", "t", "5", "EX", "100"],
      ["INCR", "t"],
      ttlRange(["TTL", "t"], 99, 100),
      ["PSETEX", "gone", "1", "41"],
      { sleep: 10 },
      ["INCR", "gone"],
      ["TTL", "gone"],
      ["INCR"],
      ["INCRBY", "k"],
      ["DECRBY", "k", "1", "2"],
    ],
  ],
  [
    "INCRBYFLOAT against new, numeric, invalid and extreme values",
    [
      ["INCRBYFLOAT", "f", "10.5"],
      ["INCRBYFLOAT", "f", "0.1"],
      ["INCRBYFLOAT", "f", "-5.0e3"],
      ["INCRBYFLOAT", "f", "1e17"],
      ["SET", "f", "3"],
      ["INCRBYFLOAT", "f", "1.1"],
      ...[
        "abc",
        "",
        " 1",
        "1 ",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e5000",
        "-1e5000",
        "1e-5000",
        "0e-5000",
        "0x",
        "0x10",
        "0x1p3",
        "0X1.8P1",
        "1e",
        "+",
        "-",
        ".",
        "-.5e-3",
        "5.",
        "1_000",
        "1,5",
        "0.000003814697265625",
        "1e-20",
        "-1e-20",
        "12345678901234567890.5",
        "1e4000",
        "-2e4000",
        "1e-4940",
        "1.18973149535723176502e+4932",
        "1.2e4932",
        "3.6e-4951",
        "1e-4951",
      ].map((v): Step => ["INCRBYFLOAT", "fresh", v]),
      ["DEL", "fresh"],
      ["INCRBYFLOAT", "fresh", "-0"],
      ["SET", "s", "abc"],
      ["INCRBYFLOAT", "s", "1"],
      ["SET", "s", "1\u0000abc"],
      ["INCRBYFLOAT", "s", "1"],
      ["SET", "s", "\u0000"],
      ["INCRBYFLOAT", "s", "1"],
      ["SET", "s", ""],
      ["INCRBYFLOAT", "s", "1"],
      ["SET", "s", "inf"],
      ["INCRBYFLOAT", "s", "1"],
      ["SET", "s", "1e308"],
      ["INCRBYFLOAT", "s", "1e308"],
      ["INCRBYFLOAT", "s", "1e308"],
      ["SET", "t", "1.5", "EX", "100"],
      ["INCRBYFLOAT", "t", "1"],
      ttlRange(["TTL", "t"], 99, 100),
      ["INCRBYFLOAT", "t"],
    ],
  ],
  ["INCRBYFLOAT on 400 random operands prints what Redis prints", floatSteps],
  [
    "LCS basic, LEN, IDX, MINMATCHLEN, WITHMATCHLEN and its errors",
    [
      ["MSET", "virus1", "ohmytext", "virus2", "mynewtext"],
      ["LCS", "virus1", "virus2"],
      ["LCS", "virus1", "virus2", "LEN"],
      ["LCS", "virus1", "virus2", "IDX"],
      ["LCS", "virus1", "virus2", "IDX", "WITHMATCHLEN"],
      ["LCS", "virus1", "virus2", "IDX", "MINMATCHLEN", "4"],
      ["LCS", "virus1", "virus2", "IDX", "MINMATCHLEN", "-5", "WITHMATCHLEN"],
      ["LCS", "virus1", "virus2", "idx", "len"],
      ["LCS", "virus1", "virus2", "LEN", "LEN"],
      ["LCS", "virus1", "virus2", "MINMATCHLEN"],
      ["LCS", "virus1", "virus2", "MINMATCHLEN", "abc"],
      ["LCS", "virus1", "virus2", "FOO"],
      ["LCS", "virus1", "missing"],
      ["LCS", "missing", "missing2", "IDX"],
      ["LCS", "missing", "virus2", "LEN"],
      ["MSET", "b1", binary, "b2", Buffer.concat([binary.subarray(100), binary.subarray(0, 100)])],
      ["LCS", "b1", "b2", "LEN"],
      ["LCS", "b1", "b2", "IDX", "WITHMATCHLEN"],
      ["SET", "e", ""],
      ["LCS", "e", "virus1", "IDX"],
      ["LCS", "virus1"],
      ...lcsSteps,
    ],
  ],
  [
    "RENAME and RENAMENX: missing source, same key, overwrite, TTLs and binary keys",
    [
      ["RENAME", "missing", "x"],
      ["RENAMENX", "missing", "x"],
      ["RENAME", "missing", "missing"],
      ["SET", "a", "1"],
      ["RENAME", "a", "a"],
      ["RENAMENX", "a", "a"],
      ["RENAME", "a", "b"],
      ["MGET", "a", "b"],
      ["SET", "c", "3"],
      ["RENAMENX", "b", "c"],
      ["RENAMENX", "b", "d"],
      ["MGET", "b", "c", "d"],
      ["SET", "e", "v", "EX", "100"],
      ["RENAME", "e", "f"],
      ttlRange(["TTL", "f"], 99, 100),
      ["TTL", "e"],
      ["SET", "g", "v"],
      ["SET", "h", "w", "EX", "100"],
      ["RENAME", "g", "h"],
      ["TTL", "h"],
      ["GET", "h"],
      ["SET", binaryKey, binary],
      ["RENAME", binaryKey, ""],
      ["GET", ""],
      ["RENAMENX", "", binaryKey],
      ["GET", binaryKey],
      ["PSETEX", "gone", "1", "v"],
      ["PSETEX", "gone2", "1", "v"],
      { sleep: 10 },
      ["RENAME", "gone", "x"],
      ["RENAMENX", "h", "gone2"],
      ["GET", "gone2"],
      ["RENAME", "a"],
      ["RENAMENX", "a", "b", "c"],
    ],
  ],
  [
    "COPY: missing source, same key, REPLACE, DB and TTLs",
    [
      ["COPY", "missing", "x"],
      ["SET", "a", "1"],
      ["COPY", "a", "a"],
      ["COPY", "a", "b"],
      ["COPY", "a", "b"],
      ["SET", "a", "2"],
      ["COPY", "a", "b", "REPLACE"],
      ["GET", "b"],
      ["COPY", "a", "b", "replace", "REPLACE"],
      ["COPY", "a", "b", "DB", "0"],
      ["COPY", "a", "b", "DB", "0", "REPLACE"],
      ["COPY", "a", "b", "DB", "1"],
      ["COPY", "a", "b", "DB", "1"],
      ["COPY", "a", "a", "DB", "1", "REPLACE"],
      ["COPY", "a", "b", "DB", "16"],
      ["COPY", "a", "b", "DB", "-1"],
      ["COPY", "a", "b", "DB", "abc"],
      ["COPY", "a", "b", "DB", "99999999999"],
      ["COPY", "a", "b", "DB"],
      ["COPY", "a", "b", "FOO"],
      ["COPY", "a", "b", "DB", "1", "FOO"],
      ["COPY", "a", "b", "FOO", "DB", "1"],
      ["COPY", "a", "a", "DB", "1"],
      ["COPY", "a", "a", "FOO"],
      ["COPY", "a", "a", "DB", "0"],
      ["SET", "t", "v", "EX", "100"],
      ["COPY", "t", "u"],
      ttlRange(["TTL", "u"], 99, 100),
      ["COPY", "a", "u", "REPLACE"],
      ["TTL", "u"],
      ["SET", binaryKey, binary],
      ["COPY", binaryKey, "bin"],
      ["GET", "bin"],
      ["PSETEX", "gone", "1", "v"],
      ["PSETEX", "gone2", "1", "v"],
      { sleep: 10 },
      ["COPY", "gone", "x"],
      ["COPY", "a", "gone2"],
      ["GET", "gone2"],
      ["COPY", "a"],
    ],
  ],
  [
    "TOUCH counts existing keys",
    [
      ["TOUCH", "missing"],
      ["SET", "a", "1"],
      ["TOUCH", "a", "a", "missing"],
      ["PSETEX", "gone", "1", "v"],
      { sleep: 10 },
      ["TOUCH", "gone", "a"],
      ["TOUCH"],
    ],
  ],
  [
    "OBJECT ENCODING, REFCOUNT, FREQ and HELP for every value shape",
    [
      ["OBJECT", "ENCODING", "missing"],
      ["OBJECT", "REFCOUNT", "missing"],
      ["OBJECT", "FREQ", "missing"],
      ["OBJECT", "IDLETIME", "missing"],
      ...[
        "123",
        "0",
        "9999",
        "10000",
        "-1",
        "-0",
        "007",
        MAX,
        "9223372036854775808",
        " 1",
        "",
        "x".repeat(44),
        "x".repeat(45),
        "1.5",
      ].flatMap((v): Step[] => [
        ["SET", "k", v],
        ["OBJECT", "ENCODING", "k"],
        ["OBJECT", "REFCOUNT", "k"],
      ]),
      ["SET", "b", binary],
      ["OBJECT", "ENCODING", "b"],
      ["INCR", "c"],
      ["OBJECT", "ENCODING", "c"],
      ["INCRBYFLOAT", "f", "1.5"],
      ["OBJECT", "ENCODING", "f"],
      ["OBJECT", "FREQ", "k"],
      ["OBJECT", "HELP"],
      ["object", "help"],
      ["OBJECT", "HELP", "x"],
      ["OBJECT"],
      ["OBJECT", "ENCODING"],
      ["OBJECT", "ENCODING", "k", "x"],
      ["OBJECT", "FOO", "k"],
    ],
  ],
  [
    "WAIT with no replicas to wait for",
    [
      ["WAIT", "0", "0"],
      ["WAIT", "0", "100"],
      ["WAIT", "-1", "0"],
      ["WAIT", "abc", "0"],
      ["WAIT", "0", "-1"],
      ["WAIT", "0", "abc"],
      ["WAIT", "0", "1.5"],
      ["WAIT", "0", MAX],
      ["WAIT", "0"],
    ],
  ],
  [
    "never-written keys read as absent for every new command",
    [
      ["GETEX", "nw"],
      ["GETDEL", "nw"],
      ["SUBSTR", "nw", "0", "-1"],
      ["LCS", "nw", "nw2"],
      ["TOUCH", "nw"],
      ["OBJECT", "ENCODING", "nw"],
      ["RENAME", "nw", "nw2"],
      ["COPY", "nw", "nw2"],
      ["EXISTS", "nw", "nw2"],
      ["DECRBY", "nw", "5"],
      ["INCRBYFLOAT", "nw2", "2.5"],
    ],
  ],
];

function show(bytes: Uint8Array | string): string {
  const s = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
  return JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…(${s.length})` : s);
}

function describeStep(step: Step): string {
  if (!Array.isArray(step)) return "sleep" in step ? `sleep ${step.sleep}` : describeStep(step.cmd);
  return step.map((a) => show(a)).join(" ");
}

function integerOf(reply: Buffer): number {
  const text = reply.toString("latin1");
  return text.startsWith(":") ? Number(text.slice(1, -2)) : Number.NaN;
}

let redisRef: RedisRef;
let ours: TestServer;
let oursClient: RawClient;
let theirs: RawClient;

describe("PARITY with redis-server", () => {
  beforeAll(async () => {
    // Redis's default 16 databases on both servers, so COPY … DB 1 copies on both.
    redisRef = await startRedisRef();
    theirs = await RawClient.connect({ unix: redisRef.socket });
    ours = await startTestServer();
    oursClient = await RawClient.connect({ port: ours.port });
  });

  afterAll(async () => {
    oursClient?.close();
    theirs?.close();
    await ours?.[Symbol.asyncDispose]();
    await redisRef?.[Symbol.asyncDispose]();
  });

  for (const [name, steps] of scripts) {
    test(name, async () => {
      expect((await oursClient.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      expect((await theirs.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      const got: string[] = [];
      const want: string[] = [];
      for (const step of steps) {
        if (!Array.isArray(step) && "sleep" in step) {
          await Bun.sleep(step.sleep);
          continue;
        }
        const cmd = Array.isArray(step) ? step : step.cmd;
        const [a, b] = await Promise.all([oursClient.command(...cmd), theirs.command(...cmd)]);
        const what = describeStep(step);
        if (!Array.isArray(step) && "range" in step) {
          const [lo, hi] = step.range;
          const inRange = (n: number) => n >= lo && n <= hi;
          got.push(`${what} -> ${inRange(integerOf(a)) ? `in [${lo}, ${hi}]` : show(a)}`);
          want.push(`${what} -> ${inRange(integerOf(b)) ? `in [${lo}, ${hi}]` : show(b)}`);
        } else {
          got.push(`${what} -> ${show(a)}`);
          want.push(`${what} -> ${show(b)}`);
        }
      }
      expect(got).toEqual(want);
    });
  }
});
