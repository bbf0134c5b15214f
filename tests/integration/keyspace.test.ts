/**
 * Keyspace commands (DEL/UNLINK, EXISTS, the TTL family, PERSIST, TYPE, SCAN, KEYS, DBSIZE,
 * FLUSHDB/FLUSHALL, RANDOMKEY) and the connection basics (PING, ECHO, SELECT, unknown
 * commands) through both ioredis and node-redis, each over RESP2 and RESP3. Every test body
 * runs once per library and protocol; error replies are checked by their full message text. Test names
 * follow Redis's test suite (tests/unit/keyspace.tcl, expire.tcl, scan.tcl) where ported.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { type Client, errorOf, libs } from "../helpers/clients.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** Runs SCAN to completion; returns every key returned (with repeats) and the step count. */
async function scanAll(
  c: Client,
  options: string[],
  between?: (step: number) => Promise<void>,
): Promise<{ keys: string[]; steps: number }> {
  const keys: string[] = [];
  let cursor = "0";
  let steps = 0;
  do {
    const [next, batch] = (await c.call("SCAN", cursor, ...options)) as [string, string[]];
    expect(typeof next).toBe("string");
    keys.push(...batch);
    cursor = next;
    steps++;
    if (between) await between(steps);
    if (steps > 10_000) throw new Error("SCAN did not terminate");
  } while (cursor !== "0");
  return { keys, steps };
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

for (const lib of libs) {
  describe(`keyspace via ${lib.name}`, () => {
    let c: Client;

    beforeAll(async () => {
      c = await lib.connect(server.port);
    });
    afterAll(async () => {
      await c?.close();
    });
    beforeEach(async () => {
      expect(await c.call("FLUSHALL")).toBe("OK");
    });

    test("DEL against a single item", async () => {
      expect(await c.call("SET", "x", "foo")).toBe("OK");
      expect(await c.call("DEL", "x")).toBe(1);
      expect(await c.call("GET", "x")).toBeNull();
    });

    test("Vararg DEL", async () => {
      expect(await c.call("MSET", "foo1", "a", "foo2", "b", "foo3", "c")).toBe("OK");
      expect(await c.call("DEL", "foo1", "foo2", "foo3", "foo4")).toBe(3);
      expect(await c.call("MGET", "foo1", "foo2", "foo3")).toEqual([null, null, null]);
    });

    test("DEL and UNLINK count a duplicated key once and missing keys not at all", async () => {
      expect(await c.call("MSET", "a", "1", "b", "2")).toBe("OK");
      expect(await c.call("DEL", "a", "a", "missing")).toBe(1);
      expect(await c.call("UNLINK", "b", "b", "b")).toBe(1);
      expect(await c.call("UNLINK", "missing")).toBe(0);
      expect(await errorOf(c.call("DEL"))).toBe("ERR wrong number of arguments for 'del' command");
      expect(await errorOf(c.call("UNLINK"))).toBe(
        "ERR wrong number of arguments for 'unlink' command",
      );
    });

    test("EXISTS counts duplicated keys each time", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXISTS", "foo")).toBe(1);
      expect(await c.call("EXISTS", "foo", "foo", "nokey")).toBe(2);
      expect(await c.call("EXISTS", "nokey")).toBe(0);
    });

    test("TTL and PTTL return -2 if the key does not exist and -1 if it has no expire", async () => {
      expect(await c.call("TTL", "x")).toBe(-2);
      expect(await c.call("PTTL", "x")).toBe(-2);
      expect(await c.call("SET", "x", "hello")).toBe("OK");
      expect(await c.call("TTL", "x")).toBe(-1);
      expect(await c.call("PTTL", "x")).toBe(-1);
    });

    test("EXPIRE - set timeouts multiple times", async () => {
      expect(await c.call("SET", "x", "foobar")).toBe("OK");
      expect(await c.call("EXPIRE", "x", "5")).toBe(1);
      expect(await c.call("TTL", "x")).toBeOneOf([4, 5]);
      expect(await c.call("EXPIRE", "x", "10")).toBe(1);
      expect(await c.call("TTL", "x")).toBeOneOf([9, 10]);
      expect(await c.call("EXPIRE", "x", "2")).toBe(1);
      expect(await c.call("TTL", "x")).toBeOneOf([1, 2]);
    });

    test("PEXPIRE, EXPIREAT and PEXPIREAT set the expected TTLs", async () => {
      expect(await c.call("SET", "x", "v")).toBe("OK");
      expect(await c.call("PEXPIRE", "x", "100000")).toBe(1);
      const pttl = (await c.call("PTTL", "x")) as number;
      expect(pttl).toBeGreaterThan(99_000);
      expect(pttl).toBeLessThanOrEqual(100_000);
      const at = Math.floor(Date.now() / 1000) + 200;
      expect(await c.call("EXPIREAT", "x", String(at))).toBe(1);
      expect(await c.call("EXPIRETIME", "x")).toBe(at);
      expect(await c.call("TTL", "x")).toBeOneOf([199, 200]);
      const atMs = Date.now() + 300_000;
      expect(await c.call("PEXPIREAT", "x", String(atMs))).toBe(1);
      expect(await c.call("PEXPIRETIME", "x")).toBe(atMs);
      // Redis rounds to the nearest second here ((ms + 500) / 1000), as parity.test.ts shows.
      expect(await c.call("EXPIRETIME", "x")).toBe(Math.floor((atMs + 500) / 1000));
      expect(await c.call("EXPIRE", "missing", "10")).toBe(0);
      expect(await c.call("PEXPIREAT", "missing", String(atMs))).toBe(0);
    });

    test("EXPIRETIME returns absolute expiration time in seconds, -1 and -2 otherwise", async () => {
      expect(await c.call("EXPIRETIME", "foo")).toBe(-2);
      expect(await c.call("PEXPIRETIME", "foo")).toBe(-2);
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXPIRETIME", "foo")).toBe(-1);
      expect(await c.call("PEXPIRETIME", "foo")).toBe(-1);
    });

    test("EXPIRE with a PEXPIRE of 50 ms deletes the key in real time", async () => {
      expect(await c.call("SET", "x", "somevalue")).toBe("OK");
      expect(await c.call("PEXPIRE", "x", "50")).toBe(1);
      expect(await c.call("GET", "x")).toBe("somevalue");
      await Bun.sleep(80);
      expect(await c.call("GET", "x")).toBeNull();
      expect(await c.call("EXISTS", "x")).toBe(0);
      expect(await c.call("TTL", "x")).toBe(-2);
      expect(await c.call("DEL", "x")).toBe(0);
      expect(await c.call("EXPIRE", "x", "100")).toBe(0);
      expect(await c.call("DBSIZE")).toBe(0);
    });

    test("EXPIRE with negative expiry deletes the key", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXPIRE", "foo", "-1")).toBe(1);
      expect(await c.call("EXISTS", "foo")).toBe(0);
      expect(await c.call("MSET", "a", "1", "b", "2")).toBe("OK");
      expect(await c.call("PEXPIREAT", "a", "1")).toBe(1);
      expect(await c.call("EXPIREAT", "b", "1")).toBe(1);
      expect(await c.call("DBSIZE")).toBe(0);
    });

    test("EXPIRE with NX option on a key with ttl and without ttl", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXPIRE", "foo", "100", "NX")).toBe(1);
      expect(await c.call("EXPIRE", "foo", "200", "NX")).toBe(0);
      expect(await c.call("TTL", "foo")).toBeOneOf([99, 100]);
    });

    test("EXPIRE with XX option on a key with ttl and without ttl", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXPIRE", "foo", "200", "XX")).toBe(0);
      expect(await c.call("TTL", "foo")).toBe(-1);
      expect(await c.call("EXPIRE", "foo", "100")).toBe(1);
      expect(await c.call("EXPIRE", "foo", "200", "XX")).toBe(1);
      expect(await c.call("TTL", "foo")).toBeOneOf([199, 200]);
    });

    test("EXPIRE with GT and LT options", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("EXPIRE", "foo", "100", "GT")).toBe(0);
      expect(await c.call("EXPIRE", "foo", "100", "LT")).toBe(1);
      expect(await c.call("EXPIRE", "foo", "200", "GT")).toBe(1);
      expect(await c.call("EXPIRE", "foo", "100", "GT")).toBe(0);
      expect(await c.call("TTL", "foo")).toBeOneOf([199, 200]);
      expect(await c.call("EXPIRE", "foo", "50", "LT")).toBe(1);
      expect(await c.call("EXPIRE", "foo", "60", "LT")).toBe(0);
      expect(await c.call("TTL", "foo")).toBeOneOf([49, 50]);
      expect(await c.call("EXPIRE", "foo", "60", "XX", "GT")).toBe(1);
    });

    test("EXPIRE with conflicting options: NX GT, NX LT, NX XX, LT GT", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      const nxText = "ERR NX and XX, GT or LT options at the same time are not compatible";
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "NX", "GT"))).toBe(nxText);
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "NX", "LT"))).toBe(nxText);
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "NX", "XX"))).toBe(nxText);
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "LT", "GT"))).toBe(
        "ERR GT and LT options at the same time are not compatible",
      );
    });

    test("EXPIRE with unsupported options", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "AB"))).toBe("ERR Unsupported option AB");
      expect(await errorOf(c.call("EXPIRE", "foo", "200", "XX", "AB"))).toBe(
        "ERR Unsupported option AB",
      );
    });

    test("EXPIRE with non-integer and overflowing times reports Redis's errors", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await errorOf(c.call("EXPIRE", "foo", "abc"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await errorOf(c.call("EXPIRE", "foo", "9223372036854775807"))).toBe(
        "ERR invalid expire time in 'expire' command",
      );
      expect(await errorOf(c.call("PEXPIRE", "foo", "9223372036854775807"))).toBe(
        "ERR invalid expire time in 'pexpire' command",
      );
      expect(await errorOf(c.call("EXPIREAT", "foo", "9223372036854775807"))).toBe(
        "ERR invalid expire time in 'expireat' command",
      );
      expect(await errorOf(c.call("EXPIRE", "foo"))).toBe(
        "ERR wrong number of arguments for 'expire' command",
      );
      expect(await c.call("TTL", "foo")).toBe(-1);
    });

    test("PERSIST can undo an EXPIRE", async () => {
      expect(await c.call("SET", "x", "foo")).toBe("OK");
      expect(await c.call("EXPIRE", "x", "50")).toBe(1);
      expect(await c.call("TTL", "x")).toBeOneOf([49, 50]);
      expect(await c.call("PERSIST", "x")).toBe(1);
      expect(await c.call("TTL", "x")).toBe(-1);
      expect(await c.call("GET", "x")).toBe("foo");
    });

    test("PERSIST returns 0 against non existing or non volatile keys", async () => {
      expect(await c.call("SET", "x", "foo")).toBe("OK");
      expect(await c.call("PERSIST", "foo")).toBe(0);
      expect(await c.call("PERSIST", "nokeyatall")).toBe(0);
    });

    test("TYPE reports string for a key and none for a missing one", async () => {
      expect(await c.call("SET", "x", "foo")).toBe("OK");
      expect(await c.call("TYPE", "x")).toBe("string");
      expect(await c.call("TYPE", "nokey")).toBe("none");
    });

    test("DBSIZE counts live keys only", async () => {
      expect(await c.call("DBSIZE")).toBe(0);
      expect(await c.call("MSET", "a", "1", "b", "2", "c", "3")).toBe("OK");
      expect(await c.call("DBSIZE")).toBe(3);
      expect(await c.call("PEXPIRE", "a", "20")).toBe(1);
      await Bun.sleep(40);
      expect(await c.call("DBSIZE")).toBe(2);
    });

    test("FLUSHDB and FLUSHALL remove every key and reject bad arguments", async () => {
      expect(await c.call("MSET", "a", "1", "b", "2")).toBe("OK");
      expect(await c.call("FLUSHDB")).toBe("OK");
      expect(await c.call("DBSIZE")).toBe(0);
      expect(await c.call("MSET", "a", "1", "b", "2")).toBe("OK");
      expect(await c.call("FLUSHALL", "ASYNC")).toBe("OK");
      expect(await c.call("DBSIZE")).toBe(0);
      expect(await c.call("FLUSHDB", "SYNC")).toBe("OK");
      expect(await errorOf(c.call("FLUSHALL", "foo"))).toBe("ERR syntax error");
      expect(await errorOf(c.call("FLUSHDB", "SYNC", "ASYNC"))).toBe("ERR syntax error");
    });

    test("RANDOMKEY returns an existing key and nil on an empty database", async () => {
      expect(await c.call("RANDOMKEY")).toBeNull();
      expect(await c.call("MSET", "a", "1", "b", "2", "c", "3")).toBe("OK");
      for (let i = 0; i < 10; i++) expect(await c.call("RANDOMKEY")).toBeOneOf(["a", "b", "c"]);
    });

    test("KEYS with pattern", async () => {
      const keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"];
      for (const k of keys) expect(await c.call("SET", k, "hello")).toBe("OK");
      expect(((await c.call("KEYS", "foo*")) as string[]).sort()).toEqual([
        "foo_a",
        "foo_b",
        "foo_c",
      ]);
      expect(((await c.call("KEYS", "*")) as string[]).sort()).toEqual([...keys].sort());
    });

    test("KEYS with glob patterns: ?, [ae], [^e], [a-b] and an escaped star", async () => {
      const keys = ["hello", "hallo", "hbllo", "hxllo", "hllo", "heeeello", "h*llo", "*", "x"];
      expect(await c.call("MSET", ...keys.flatMap((k) => [k, "1"]))).toBe("OK");
      const keysOf = async (p: string) => ((await c.call("KEYS", p)) as string[]).sort();
      expect(await keysOf("*")).toEqual([...keys].sort());
      expect(await keysOf("h?llo")).toEqual(["h*llo", "hallo", "hbllo", "hello", "hxllo"]);
      expect(await keysOf("h*llo")).toEqual(
        ["h*llo", "hallo", "hbllo", "heeeello", "hello", "hllo", "hxllo"].sort(),
      );
      expect(await keysOf("h[ae]llo")).toEqual(["hallo", "hello"]);
      expect(await keysOf("h[^e]llo")).toEqual(["h*llo", "hallo", "hbllo", "hxllo"]);
      expect(await keysOf("h[a-b]llo")).toEqual(["hallo", "hbllo"]);
      expect(await keysOf("h\\*llo")).toEqual(["h*llo"]);
      expect(await keysOf("\\*")).toEqual(["*"]);
      expect(await keysOf("nomatch*")).toEqual([]);
    });

    test("SCAN basic: full iteration over 4 shards with COUNT 7 returns every key exactly once", async () => {
      const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
      const shards = new Set(keys.map((k) => server.handle.store.shardOf(Buffer.from(k))));
      expect(shards.size).toBe(4);
      expect(await c.call("MSET", ...keys.flatMap((k) => [k, "v"]))).toBe("OK");
      const { keys: seen, steps } = await scanAll(c, ["COUNT", "7"]);
      expect(seen.length).toBe(keys.length);
      expect(new Set(seen).size).toBe(keys.length);
      expect(new Set(seen)).toEqual(new Set(keys));
      expect(steps).toBeGreaterThan(keys.length / 7);
    });

    test("SCAN MATCH returns only and all matching keys across shards", async () => {
      const users = Array.from({ length: 150 }, (_, i) => `user:${i}`);
      const others = Array.from({ length: 150 }, (_, i) => `other:${i}`);
      expect(await c.call("MSET", ...[...users, ...others].flatMap((k) => [k, "v"]))).toBe("OK");
      const { keys: seen } = await scanAll(c, ["MATCH", "user:*", "COUNT", "7"]);
      expect(seen.length).toBe(users.length);
      expect(new Set(seen)).toEqual(new Set(users));
      const { keys: nine } = await scanAll(c, ["COUNT", "7", "MATCH", "user:?9"]);
      expect(nine.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `user:${i + 1}9`).sort());
    });

    test("SCAN TYPE string returns keys, other types none", async () => {
      expect(await c.call("MSET", "a", "1", "b", "2")).toBe("OK");
      expect((await scanAll(c, ["TYPE", "string"])).keys.sort()).toEqual(["a", "b"]);
      expect((await scanAll(c, ["TYPE", "hash"])).keys).toEqual([]);
    });

    test("SCAN guarantees check under write load: keys present throughout are returned", async () => {
      const stable = Array.from({ length: 200 }, (_, i) => `stable:${i}`);
      const temp = Array.from({ length: 100 }, (_, i) => `temp:${i}`);
      expect(await c.call("MSET", ...[...stable, ...temp].flatMap((k) => [k, "v"]))).toBe("OK");
      let added = 0;
      const { keys: seen } = await scanAll(c, ["COUNT", "7"], async (step) => {
        // Between steps: add new keys, remove temporary ones, overwrite stable ones.
        expect(await c.call("SET", `new:${added++}`, "v")).toBe("OK");
        if (step <= temp.length) expect(await c.call("DEL", temp[step - 1]!)).toBe(1);
        const s = stable[(step * 37) % stable.length]!;
        expect(await c.call("SET", s, `rewritten-${step}`)).toBe("OK");
      });
      const set = new Set(seen);
      const missing = stable.filter((k) => !set.has(k));
      expect(missing).toEqual([]);
      for (const k of seen) expect(k).toMatch(/^(stable|temp|new):\d+$/);
    });

    test("SCAN with an invalid cursor or COUNT reports errors", async () => {
      expect(await errorOf(c.call("SCAN", "abc"))).toBe("ERR invalid cursor");
      // Redis 8 (string2ull): a negative cursor is invalid; Redis 7.0 wrapped it around 2^64.
      expect(await errorOf(c.call("SCAN", "-1"))).toBe("ERR invalid cursor");
      // Redis 8 names an unknown TYPE; Redis 7.0 scanned and found nothing.
      expect(await errorOf(c.call("SCAN", "0", "TYPE", "Foo"))).toBe("ERR unknown type name 'Foo'");
      expect(await c.call("SCAN", "0", "TYPE", "zset")).toEqual(["0", []]);
      expect(await errorOf(c.call("SCAN", "0", "COUNT", "0"))).toBe("ERR syntax error");
      expect(await errorOf(c.call("SCAN", "0", "MATCH"))).toBe("ERR syntax error");
    });

    test("PING, ECHO and SELECT reply like Redis", async () => {
      expect(await c.call("PING")).toBe("PONG");
      expect(await c.call("PING", "hello")).toBe("hello");
      expect(await errorOf(c.call("PING", "a", "b"))).toBe(
        "ERR wrong number of arguments for 'ping' command",
      );
      expect(await c.call("ECHO", "hello world")).toBe("hello world");
      expect(await errorOf(c.call("ECHO"))).toBe(
        "ERR wrong number of arguments for 'echo' command",
      );
      expect(await c.call("SELECT", "0")).toBe("OK");
      expect(await errorOf(c.call("SELECT", "16"))).toBe("ERR DB index is out of range");
      expect(await errorOf(c.call("SELECT", "-1"))).toBe("ERR DB index is out of range");
      expect(await errorOf(c.call("SELECT", "abc"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await errorOf(c.call("SELECT", "99999999999"))).toBe(
        "ERR value is out of range, value must between -2147483648 and 2147483647",
      );
    });

    test("Unknown commands reply with the name and the first arguments", async () => {
      expect(await errorOf(c.call("NOSUCHCOMMAND"))).toBe(
        "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ",
      );
      expect(await errorOf(c.call("nosuch", "a", "b c"))).toBe(
        "ERR unknown command 'nosuch', with args beginning with: 'a' 'b c' ",
      );
      expect(await c.call("PING")).toBe("PONG");
    });
  });
}

describe("keyspace via the libraries' own iterators", () => {
  test("ioredis scanStream visits every key once across 4 shards", async () => {
    const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    try {
      await r.flushall();
      const keys = Array.from({ length: 250 }, (_, i) => `s:${i}`);
      await r.mset(...keys.flatMap((k) => [k, "v"]));
      await r.set("other", "v");
      const seen: string[] = [];
      for await (const batch of r.scanStream({ match: "s:*", count: 7 })) seen.push(...batch);
      expect(seen.length).toBe(keys.length);
      expect(new Set(seen)).toEqual(new Set(keys));
    } finally {
      r.disconnect();
    }
  });

  test("node-redis scanIterator visits every key once across 4 shards", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
    await r.connect();
    try {
      await r.flushAll();
      const keys = Array.from({ length: 250 }, (_, i) => `s:${i}`);
      await r.mSet(keys.map((k) => [k, "v"] as [string, string]));
      await r.set("other", "v");
      const seen: string[] = [];
      for await (const batch of r.scanIterator({ MATCH: "s:*", COUNT: 7 })) seen.push(...batch);
      expect(seen.length).toBe(keys.length);
      expect(new Set(seen)).toEqual(new Set(keys));
      expect(await r.keys("s:1?")).toHaveLength(10);
      expect(await r.exists(["s:1", "s:1", "nope"])).toBe(2);
      expect(await r.del(["s:1", "s:1", "nope"])).toBe(1);
      expect(await r.expire("s:2", 100, "NX")).toBe(1);
      expect(await r.ttl("s:2")).toBeOneOf([99, 100]);
      expect(await r.persist("s:2")).toBe(1);
      expect(await r.type("s:2")).toBe("string");
      expect(await r.dbSize()).toBe(250);
    } finally {
      r.destroy();
    }
  });
});
