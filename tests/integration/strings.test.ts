/**
 * String commands (GET, SET and every option, MGET, MSET, STRLEN, GETRANGE) through both
 * client libraries users run, ioredis and node-redis, each over RESP2 and RESP3. Every test
 * body runs once per library and protocol; error replies are checked by their full text.
 * Test names follow Redis's own test suite (tests/unit/type/string.tcl) where ported.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { type Client, errorOf, libs } from "../helpers/clients.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

for (const lib of libs) {
  describe(`strings via ${lib.name}`, () => {
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

    test("SET and GET an item", async () => {
      expect(await c.call("SET", "x", "foobar")).toBe("OK");
      expect(await c.call("GET", "x")).toBe("foobar");
    });

    test("SET and GET an empty item", async () => {
      expect(await c.call("SET", "x", "")).toBe("OK");
      expect(await c.call("GET", "x")).toBe("");
      expect(await c.call("SET", "", "empty key")).toBe("OK");
      expect(await c.call("GET", "")).toBe("empty key");
    });

    test("GET of a missing key is nil", async () => {
      expect(await c.call("GET", "nosuchkey")).toBeNull();
    });

    test("SET and GET binary keys and values byte for byte", async () => {
      const key = Buffer.from([0, 255, 13, 10, 1, 128]);
      const value = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
      expect(await c.call("SET", key, value)).toBe("OK");
      const back = (await c.callBuffer("GET", key)) as Buffer;
      expect(Buffer.isBuffer(back)).toBe(true);
      expect(back.equals(value)).toBe(true);
    });

    test("Extended SET can detect syntax errors", async () => {
      expect(await errorOf(c.call("SET", "foo", "bar", "non-existing-option"))).toBe(
        "ERR syntax error",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "NX", "XX"))).toBe("ERR syntax error");
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "10", "PX", "10"))).toBe(
        "ERR syntax error",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "KEEPTTL", "EX", "10"))).toBe(
        "ERR syntax error",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "10", "KEEPTTL"))).toBe(
        "ERR syntax error",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "EX"))).toBe("ERR syntax error");
      expect(await c.call("EXISTS", "foo")).toBe(0);
    });

    test("SET with a missing value replies wrong number of arguments", async () => {
      expect(await errorOf(c.call("SET", "foo"))).toBe(
        "ERR wrong number of arguments for 'set' command",
      );
    });

    test("Extended SET NX option", async () => {
      expect(await c.call("SET", "foo", "1", "NX")).toBe("OK");
      expect(await c.call("SET", "foo", "2", "NX")).toBeNull();
      expect(await c.call("GET", "foo")).toBe("1");
    });

    test("Extended SET XX option", async () => {
      expect(await c.call("SET", "foo", "1", "XX")).toBeNull();
      expect(await c.call("EXISTS", "foo")).toBe(0);
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("SET", "foo", "2", "XX")).toBe("OK");
      expect(await c.call("GET", "foo")).toBe("2");
    });

    test("Extended SET GET option", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("SET", "foo", "bar2", "GET")).toBe("bar");
      expect(await c.call("GET", "foo")).toBe("bar2");
    });

    test("Extended SET GET option with no previous value", async () => {
      expect(await c.call("SET", "foo", "bar", "GET")).toBeNull();
      expect(await c.call("GET", "foo")).toBe("bar");
    });

    test("Extended SET GET option with XX", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("SET", "foo", "baz", "GET", "XX")).toBe("bar");
      expect(await c.call("GET", "foo")).toBe("baz");
    });

    test("Extended SET GET option with XX and no previous value", async () => {
      expect(await c.call("SET", "foo", "bar", "GET", "XX")).toBeNull();
      expect(await c.call("GET", "foo")).toBeNull();
    });

    test("Extended SET GET option with NX", async () => {
      expect(await c.call("SET", "foo", "bar", "GET", "NX")).toBeNull();
      expect(await c.call("GET", "foo")).toBe("bar");
    });

    test("Extended SET GET option with NX and previous value", async () => {
      expect(await c.call("SET", "foo", "bar")).toBe("OK");
      expect(await c.call("SET", "foo", "baz", "GET", "NX")).toBe("bar");
      expect(await c.call("GET", "foo")).toBe("bar");
    });

    test("Extended SET EX option", async () => {
      expect(await c.call("SET", "foo", "bar", "EX", "10")).toBe("OK");
      const ttl = (await c.call("TTL", "foo")) as number;
      expect(ttl).toBeGreaterThanOrEqual(9);
      expect(ttl).toBeLessThanOrEqual(10);
    });

    test("Extended SET PX option", async () => {
      expect(await c.call("SET", "foo", "bar", "PX", "10000")).toBe("OK");
      const pttl = (await c.call("PTTL", "foo")) as number;
      expect(pttl).toBeGreaterThan(9000);
      expect(pttl).toBeLessThanOrEqual(10000);
    });

    test("Extended SET EXAT option", async () => {
      const at = Math.floor(Date.now() / 1000) + 100;
      expect(await c.call("SET", "foo", "bar", "EXAT", String(at))).toBe("OK");
      expect(await c.call("EXPIRETIME", "foo")).toBe(at);
      const ttl = (await c.call("TTL", "foo")) as number;
      expect(ttl).toBeGreaterThanOrEqual(98);
      expect(ttl).toBeLessThanOrEqual(100);
    });

    test("Extended SET PXAT option", async () => {
      const at = Date.now() + 100_000;
      expect(await c.call("SET", "foo", "bar", "PXAT", String(at))).toBe("OK");
      expect(await c.call("PEXPIRETIME", "foo")).toBe(at);
    });

    test("Extended SET using multiple options at once", async () => {
      expect(await c.call("SET", "foo", "val")).toBe("OK");
      expect(await c.call("SET", "foo", "bar", "XX", "PX", "10000")).toBe("OK");
      const ttl = (await c.call("TTL", "foo")) as number;
      expect(ttl).toBeGreaterThanOrEqual(9);
      expect(ttl).toBeLessThanOrEqual(10);
      expect(await c.call("GET", "foo")).toBe("bar");
    });

    test("SET with KEEPTTL keeps the TTL and a plain SET clears it", async () => {
      expect(await c.call("SET", "foo", "bar", "EX", "100")).toBe("OK");
      expect(await c.call("SET", "foo", "bar2", "KEEPTTL")).toBe("OK");
      expect(await c.call("GET", "foo")).toBe("bar2");
      expect(await c.call("TTL", "foo")).toBeGreaterThanOrEqual(99);
      expect(await c.call("SET", "foo", "bar3")).toBe("OK");
      expect(await c.call("TTL", "foo")).toBe(-1);
    });

    test("SET with EX with big integer should report an error", async () => {
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "10000000000000000"))).toBe(
        "ERR invalid expire time in 'set' command",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "9999999999999999"))).toBe(
        "ERR invalid expire time in 'set' command",
      );
    });

    test("SET with EX with smallest integer should report an error", async () => {
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "-9999999999999999"))).toBe(
        "ERR invalid expire time in 'set' command",
      );
    });

    test("SET with EX 0, EX -1 and EX abc reports Redis's errors", async () => {
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "0"))).toBe(
        "ERR invalid expire time in 'set' command",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "-1"))).toBe(
        "ERR invalid expire time in 'set' command",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "EX", "abc"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await errorOf(c.call("SET", "foo", "bar", "PX", "+5"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await c.call("EXISTS", "foo")).toBe(0);
    });

    test("SET with PX 50 expires the key in real time", async () => {
      expect(await c.call("SET", "foo", "bar", "PX", "50")).toBe("OK");
      expect(await c.call("GET", "foo")).toBe("bar");
      await Bun.sleep(80);
      expect(await c.call("GET", "foo")).toBeNull();
      expect(await c.call("EXISTS", "foo")).toBe(0);
      expect(await c.call("TTL", "foo")).toBe(-2);
      expect(await c.call("SET", "foo", "new", "XX")).toBeNull();
      expect(await c.call("SET", "foo", "new", "NX", "GET")).toBeNull();
      expect(await c.call("GET", "foo")).toBe("new");
    });

    test("MGET", async () => {
      expect(await c.call("MSET", "foo{t}", "BAR", "bar{t}", "FOO")).toBe("OK");
      expect(await c.call("MGET", "foo{t}", "bar{t}")).toEqual(["BAR", "FOO"]);
    });

    test("MGET against non existing key", async () => {
      expect(await c.call("SET", "foo", "BAR")).toBe("OK");
      expect(await c.call("MGET", "foo", "baazz", "foo")).toEqual(["BAR", null, "BAR"]);
    });

    test("MSET base case", async () => {
      expect(await c.call("MSET", "x", "10", "y", "foo bar", "z", "x x x x x x x\n\n\r\n")).toBe(
        "OK",
      );
      expect(await c.call("MGET", "x", "y", "z")).toEqual([
        "10",
        "foo bar",
        "x x x x x x x\n\n\r\n",
      ]);
    });

    test("MSET wrong number of args", async () => {
      expect(await errorOf(c.call("MSET", "x", "10", "y", "foo bar", "z"))).toBe(
        "ERR wrong number of arguments for 'mset' command",
      );
      expect(await errorOf(c.call("MSET", "x"))).toBe(
        "ERR wrong number of arguments for 'mset' command",
      );
      expect(await c.call("DBSIZE")).toBe(0);
    });

    test("MSET across shards then MGET returns every value", async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `mkey:${i}`);
      const shards = new Set(keys.map((k) => server.handle.store.shardOf(Buffer.from(k))));
      expect(shards.size).toBe(4);
      expect(await c.call("MSET", ...keys.flatMap((k, i) => [k, `value-${i}`]))).toBe("OK");
      expect(await c.call("MGET", ...keys)).toEqual(keys.map((_, i) => `value-${i}`));
      expect(await c.call("DBSIZE")).toBe(200);
      expect(await c.call("MSET", "mkey:0", "a", "mkey:0", "b")).toBe("OK");
      expect(await c.call("GET", "mkey:0")).toBe("b");
    });

    test("STRLEN against non-existing key", async () => {
      expect(await c.call("STRLEN", "notakey")).toBe(0);
    });

    test("STRLEN against plain string", async () => {
      expect(await c.call("SET", "mystring", "foozzz0123456789 baz")).toBe("OK");
      expect(await c.call("STRLEN", "mystring")).toBe(20);
      expect(await c.call("SET", "utf8", "héllo")).toBe("OK");
      expect(await c.call("STRLEN", "utf8")).toBe(6);
    });

    test("GETRANGE against non-existing key", async () => {
      expect(await c.call("GETRANGE", "mykey", "0", "-1")).toBe("");
    });

    test("GETRANGE against string value", async () => {
      expect(await c.call("SET", "mykey", "Hello World")).toBe("OK");
      expect(await c.call("GETRANGE", "mykey", "0", "3")).toBe("Hell");
      expect(await c.call("GETRANGE", "mykey", "0", "-1")).toBe("Hello World");
      expect(await c.call("GETRANGE", "mykey", "-4", "-1")).toBe("orld");
      expect(await c.call("GETRANGE", "mykey", "5", "3")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "5", "5000")).toBe(" World");
      expect(await c.call("GETRANGE", "mykey", "-5000", "10000")).toBe("Hello World");
      // Redis 8: an end still before the first byte selects nothing (Redis 7 gave "H").
      expect(await c.call("GETRANGE", "mykey", "0", "-100")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "1", "-100")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "-1", "-100")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "-100", "-99")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "-100", "-100")).toBe("");
      expect(await c.call("GETRANGE", "mykey", "-100", "-101")).toBe("");
    });

    test("GETRANGE with non-integer indexes reports the integer error", async () => {
      expect(await c.call("SET", "mykey", "Hello World")).toBe("OK");
      expect(await errorOf(c.call("GETRANGE", "mykey", "a", "1"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await errorOf(c.call("GETRANGE", "mykey", "0"))).toBe(
        "ERR wrong number of arguments for 'getrange' command",
      );
    });

    test("GETRANGE on a binary value returns the exact bytes", async () => {
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      expect(await c.call("SET", "bin", value)).toBe("OK");
      const part = (await c.callBuffer("GETRANGE", "bin", "250", "-1")) as Buffer;
      expect(part.equals(value.subarray(250))).toBe(true);
    });

    test("A pipeline of 2,000 SET and GET commands replies to each in order", async () => {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        pending.push(c.call("SET", `p:${i}`, `v${i}`));
        pending.push(c.call("GET", `p:${i}`));
      }
      const replies = await Promise.all(pending);
      for (let i = 0; i < 1000; i++) {
        expect(replies[2 * i]).toBe("OK");
        expect(replies[2 * i + 1]).toBe(`v${i}`);
      }
    });
  });
}

describe("strings via ioredis only", () => {
  test("Very big payload in GET/SET: a 64 MiB value round-trips as a Buffer", async () => {
    const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    try {
      const value = Buffer.allocUnsafe(64 * 1024 * 1024);
      // Cheap pseudo-random fill: every 4-byte word distinct, so shifted or dropped bytes show.
      for (let i = 0; i < value.length; i += 4) value.writeUInt32LE((i * 2654435761) >>> 0, i);
      expect(await r.set("big", value)).toBe("OK");
      expect(await r.strlen("big")).toBe(value.length);
      const back = await r.getBuffer("big");
      expect(back?.length).toBe(value.length);
      expect(back!.equals(value)).toBe(true);
      expect(await r.del("big")).toBe(1);
    } finally {
      r.disconnect();
    }
  });

  test("A 10,000-command pipeline of SET and GET replies correctly and in order", async () => {
    const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    try {
      const pipeline = r.pipeline();
      for (let i = 0; i < 5000; i++) {
        pipeline.set(`pipe:${i}`, `value:${i}`);
        pipeline.get(`pipe:${i}`);
      }
      const results = await pipeline.exec();
      expect(results).toHaveLength(10_000);
      for (let i = 0; i < 5000; i++) {
        expect(results![2 * i]).toEqual([null, "OK"]);
        expect(results![2 * i + 1]).toEqual([null, `value:${i}`]);
      }
      expect(await r.dbsize()).toBeGreaterThanOrEqual(5000);
    } finally {
      r.disconnect();
    }
  });

  test("Typed ioredis calls: set with PX and NX, getrange, mget", async () => {
    const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    try {
      await r.flushall();
      expect(await r.set("t", "hello", "PX", 10_000, "NX")).toBe("OK");
      expect(await r.set("t", "again", "PX", 10_000, "NX")).toBeNull();
      expect(await r.getrange("t", 1, 3)).toBe("ell");
      expect(await r.mget("t", "missing")).toEqual(["hello", null]);
      expect(await r.set("t", "world", "GET")).toBe("hello");
    } finally {
      r.disconnect();
    }
  });
});

describe("strings via node-redis only", () => {
  test("Typed node-redis calls with RESP3: set with expiration, get, mGet, getRange", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" }, RESP: 3 });
    await r.connect();
    try {
      await r.flushAll();
      expect(await r.set("t", "hello", { expiration: { type: "PX", value: 10_000 } })).toBe("OK");
      expect(await r.set("t", "again", { condition: "NX" })).toBeNull();
      expect(await r.get("t")).toBe("hello");
      expect(await r.getRange("t", 1, 3)).toBe("ell");
      expect(await r.mGet(["t", "missing"])).toEqual(["hello", null]);
      expect(await r.strLen("t")).toBe(5);
      const pttl = await r.pTTL("t");
      expect(pttl).toBeGreaterThan(9000);
    } finally {
      r.destroy();
    }
  });
});
