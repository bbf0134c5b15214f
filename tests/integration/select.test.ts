/**
 * Redis databases (SELECT n) through real clients, the way `redis-cli -n 5` and connection
 * URLs select one: keys are isolated per database, FLUSHDB and DBSIZE act on one database,
 * MOVE and COPY … DB cross them, INFO keyspace lists every non-empty one. Plus hashes as keys:
 * the keyspace commands on a hash reply byte for byte like a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { errorOf } from "../helpers/clients.ts";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

async function ioredis(port: number, db = 0): Promise<Redis> {
  const r = new Redis({ port, host: "127.0.0.1", db, lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  return r;
}

function keyspaceLines(info: string): string[] {
  return info.split("\r\n").filter((line) => /^db\d+:/.test(line));
}

describe("databases", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ numShards: 3 });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  test("ioredis `db: 5` and node-redis `redis://host:port/5` share database 5, isolated from 0", async () => {
    const five = await ioredis(server.port, 5);
    const zero = await ioredis(server.port);
    const node = createClient({ url: `redis://127.0.0.1:${server.port}/5` });
    await node.connect();
    try {
      await zero.flushall();
      await five.set("k", "in five");
      await five.hset("h", "f", "v");
      expect(await node.get("k")).toBe("in five");
      expect(await node.hGet("h", "f")).toBe("v");
      expect(await zero.get("k")).toBeNull();
      expect(await zero.exists("k", "h")).toBe(0);
      await zero.set("k", "in zero");
      expect(await five.get("k")).toBe("in five");
      expect(await zero.dbsize()).toBe(1);
      expect(await five.dbsize()).toBe(2);
      expect((await five.keys("*")).sort()).toEqual(["h", "k"]);
      expect(await zero.keys("*")).toEqual(["k"]);
      expect(await five.scan("0", "COUNT", "100", "TYPE", "hash")).toEqual(["0", ["h"]]);
      const list = (await node.sendCommand(["CLIENT", "LIST"])) as string;
      expect(list).toContain(" db=5 ");
      expect(list).toContain(" db=0 ");
    } finally {
      five.disconnect();
      zero.disconnect();
      await node.quit();
    }
  });

  test("FLUSHDB empties one database, FLUSHALL all of them", async () => {
    const zero = await ioredis(server.port);
    const three = await ioredis(server.port, 3);
    try {
      await zero.flushall();
      await zero.mset("a", "1", "b", "2");
      await three.mset("a", "1", "c", "3");
      await three.hset("h", "f", "v");
      expect(await three.flushdb()).toBe("OK");
      expect(await three.dbsize()).toBe(0);
      expect(await zero.dbsize()).toBe(2);
      await three.set("again", "x");
      expect(await zero.flushall()).toBe("OK");
      expect(await zero.dbsize()).toBe(0);
      expect(await three.dbsize()).toBe(0);
    } finally {
      zero.disconnect();
      three.disconnect();
    }
  });

  test("INFO keyspace has one line per non-empty database", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      expect(keyspaceLines(await r.info("keyspace"))).toEqual([]);
      await r.set("a", "1");
      await r.set("b", "2", "EX", 100);
      await r.select(2);
      await r.hset("h", "f", "v");
      await r.select(7);
      await r.set("x", "1");
      await r.del("x");
      const lines = keyspaceLines(await r.info("keyspace"));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^db0:keys=2,expires=1,avg_ttl=\d+$/);
      expect(lines[1]).toBe("db2:keys=1,expires=0,avg_ttl=0");
    } finally {
      r.disconnect();
    }
  });

  test("MOVE moves a key of any type with its TTL, and refuses what Redis refuses", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      await r.set("s", "v", "EX", 100);
      await r.hset("small", "a", "1", "b", "2");
      const big: string[] = [];
      for (let i = 0; i < 300; i++) big.push(`f${i}`, `v${i}`);
      await r.hset("big", ...big);
      expect(await r.object("ENCODING", "big")).toBe("hashtable");
      for (const key of ["s", "small", "big"]) expect(await r.move(key, 4)).toBe(1);
      expect(await r.exists("s", "small", "big")).toBe(0);
      expect(await r.move("s", 4)).toBe(0);
      await r.set("clash", "here");
      await r.select(4);
      await r.set("clash", "there");
      expect(await r.get("s")).toBe("v");
      expect(await r.ttl("s")).toBeWithin(99, 101);
      expect(await r.hgetall("small")).toEqual({ a: "1", b: "2" });
      expect(await r.hlen("big")).toBe(300);
      expect(await r.hget("big", "f299")).toBe("v299");
      expect(await r.object("ENCODING", "big")).toBe("hashtable");
      await r.select(0);
      expect(await r.move("clash", 4)).toBe(0);
      expect(await r.get("clash")).toBe("here");
      expect(await r.move("missing", 4)).toBe(0);
      expect(await errorOf(r.move("clash", 0))).toBe(
        "ERR source and destination objects are the same",
      );
      expect(await errorOf(r.move("clash", 16))).toBe("ERR DB index is out of range");
      expect(await errorOf(r.move("clash", "x" as unknown as number))).toBe(
        "ERR value is not an integer or out of range",
      );
    } finally {
      r.disconnect();
    }
  });

  test("SELECT inside MULTI switches the database for the rest of the transaction and after", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      const replies = await r.multi().set("k", "zero").select(6).set("k", "six").get("k").exec();
      expect(replies).toEqual([
        [null, "OK"],
        [null, "OK"],
        [null, "OK"],
        [null, "six"],
      ]);
      expect(await r.get("k")).toBe("six");
      await r.select(0);
      expect(await r.get("k")).toBe("zero");
    } finally {
      r.disconnect();
    }
  });

  test("RESET selects database 0 again, HELLO keeps the database", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      await r.select(9);
      await r.set("k", "nine");
      await r.call("HELLO", "2");
      expect(await r.get("k")).toBe("nine");
      expect(await r.call("RESET")).toBe("RESET");
      expect(await r.get("k")).toBeNull();
    } finally {
      r.disconnect();
    }
  });

  test("WATCH sees writes to the watched key of its own database only", async () => {
    const a = await ioredis(server.port, 1);
    const b = await ioredis(server.port, 2);
    try {
      await a.watch("w");
      await b.set("w", "other database");
      expect(await a.multi().set("w", "mine").exec()).toEqual([[null, "OK"]]);
      await a.watch("w");
      await b.select(1);
      await b.set("w", "same database");
      expect(await a.multi().set("w", "mine").exec()).toBeNull();
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  test("CONFIG GET databases and the hash encoding limits; CONFIG SET changes the limits", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      expect(await r.config("GET", "databases")).toEqual(["databases", "16"]);
      expect(await r.config("SET", "hash-max-listpack-entries", "2")).toBe("OK");
      expect(await r.config("GET", "hash-max-ziplist-entries")).toEqual([
        "hash-max-ziplist-entries",
        "2",
      ]);
      await r.hset("h", "a", "1", "b", "2");
      expect(await r.object("ENCODING", "h")).toBe("listpack");
      await r.hset("h", "c", "3");
      expect(await r.object("ENCODING", "h")).toBe("hashtable");
      // hash-max-listpack-value is a memory parameter in Redis, hence its wording.
      expect(await errorOf(r.config("SET", "hash-max-listpack-value", "abc"))).toBe(
        "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value",
      );
      expect(await r.config("SET", "hash-max-listpack-entries", "128")).toBe("OK");
    } finally {
      r.disconnect();
    }
  });

  test("RENAME and COPY keep a large hash whole, on one shard or across shards", async () => {
    const r = await ioredis(server.port);
    try {
      await r.flushall();
      const big: string[] = [];
      for (let i = 0; i < 200; i++) big.push(`f${i}`, `v${i}`);
      await r.hset("big", ...big);
      await r.expire("big", 500);
      for (const name of ["b1", "b2", "b3", "b4", "b5"]) {
        expect(await r.rename("big", name)).toBe("OK");
        expect(await r.hlen(name)).toBe(200);
        expect(await r.ttl(name)).toBeWithin(499, 501);
        await r.rename(name, "big");
      }
      for (const name of ["c1", "c2", "c3"]) {
        expect(await r.copy("big", name)).toBe(1);
        expect(await r.hget(name, "f123")).toBe("v123");
        expect(await r.object("ENCODING", name)).toBe("hashtable");
      }
      await r.hset("c1", "f0", "changed");
      expect(await r.hget("big", "f0")).toBe("v0");
      expect(await r.copy("c1", "c2", "REPLACE")).toBe(1);
      expect(await r.hget("c2", "f0")).toBe("changed");
      expect(await r.hlen("c2")).toBe(200);
    } finally {
      r.disconnect();
    }
  });
});

describe("a hash is a key, byte for byte as redis-server says", () => {
  let server: TestServer;
  let redis: RedisRef;
  let ours: RawClient;
  let theirs: RawClient;
  beforeAll(async () => {
    [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
    ours = await RawClient.connect({ port: server.port });
    theirs = await RawClient.connect({ unix: redis.socket });
  });
  afterAll(async () => {
    ours?.close();
    theirs?.close();
    await server?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  const scripts: [string, string[][]][] = [
    [
      "HSET user:1001 then the keyspace commands",
      [
        ["HSET", "user:1001", "name", "Ada", "email", "ada@example.com"],
        ["TYPE", "user:1001"],
        ["EXISTS", "user:1001"],
        ["KEYS", "user:*"],
        ["SCAN", "0", "TYPE", "hash"],
        ["SCAN", "0", "TYPE", "string"],
        ["EXPIRE", "user:1001", "60"],
        ["TTL", "user:1001"],
        ["GET", "user:1001"],
        ["DEL", "user:1001"],
        ["EXISTS", "user:1001"],
      ],
    ],
    [
      "string commands on a hash",
      [
        ["HSET", "h", "f", "v"],
        ["GET", "h"],
        ["MGET", "h", "nope"],
        ["APPEND", "h", "x"],
        ["INCR", "h"],
        ["INCRBYFLOAT", "h", "1.5"],
        ["STRLEN", "h"],
        ["GETRANGE", "h", "0", "1"],
        ["SETRANGE", "h", "0", "x"],
        ["GETSET", "h", "x"],
        ["GETDEL", "h"],
        ["GETEX", "h"],
        ["LCS", "h", "h"],
        ["SET", "h", "v", "GET"],
        ["SET", "h", "v", "NX"],
        ["SETNX", "h", "v"],
        ["MSETNX", "h", "v", "other", "v"],
        ["TYPE", "h"],
        ["SET", "h", "v", "XX"],
        ["TYPE", "h"],
        ["GET", "h"],
      ],
    ],
    [
      "keyspace commands on hashes",
      [
        ["HSET", "h", "a", "1", "b", "2"],
        ["OBJECT", "ENCODING", "h"],
        ["TOUCH", "h", "nope"],
        ["DBSIZE"],
        ["RANDOMKEY"],
        ["PEXPIRE", "h", "100000"],
        ["PERSIST", "h"],
        ["TTL", "h"],
        ["EXPIREAT", "h", "99999999999"],
        ["EXPIRETIME", "h"],
        ["PEXPIRETIME", "h"],
        ["RENAME", "h", "h2"],
        ["TYPE", "h2"],
        ["HGETALL", "h2"],
        ["EXPIRETIME", "h2"],
        ["RENAMENX", "h2", "h"],
        ["SET", "s", "v"],
        ["RENAMENX", "h", "s"],
        ["COPY", "h", "s"],
        ["COPY", "h", "s", "REPLACE"],
        ["TYPE", "s"],
        ["HGETALL", "s"],
        ["MOVE", "s", "1"],
        ["EXISTS", "s"],
        ["SELECT", "1"],
        ["TYPE", "s"],
        ["HGET", "s", "a"],
        ["EXPIRETIME", "s"],
        ["FLUSHDB"],
        ["SELECT", "0"],
        ["DBSIZE"],
        ["UNLINK", "h", "s"],
        ["DBSIZE"],
      ],
    ],
  ];

  for (const [name, steps] of scripts) {
    test(name, async () => {
      expect((await ours.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      expect((await theirs.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      const got: string[] = [];
      const want: string[] = [];
      for (const step of steps) {
        const [a, b] = await Promise.all([ours.command(...step), theirs.command(...step)]);
        got.push(`${step.join(" ")} -> ${JSON.stringify(a.toString("latin1"))}`);
        want.push(`${step.join(" ")} -> ${JSON.stringify(b.toString("latin1"))}`);
      }
      expect(got).toEqual(want);
    });
  }
});
