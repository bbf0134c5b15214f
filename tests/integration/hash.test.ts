/**
 * Hash commands through both ioredis (RESP2) and node-redis (RESP3), every test body once per
 * library: replies, Redis's error texts, per-field codes, hash keys as plain Redis keys (any
 * bytes, case-sensitive, WRONGTYPE against strings both ways), insertion order, expired fields
 * being absent, small and large encodings, HRANDFIELD, and a 100,000-field hash read back
 * whole. Time is a fake clock, so expiry needs no sleeps. Redis 8.0 commands (HSETEX, HGETEX, HGETDEL) and the 7.4 field
 * expiry commands cannot be checked against Debian's redis-server 7.0: their test names say
 * which part of the Redis documentation they follow.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { silentLogger } from "../../src/log.ts";
import { ExpirySweeper } from "../../src/storage/jobs/expiry-sweep.ts";
import { rawExchange, resp, startTestServer, type TestServer } from "../helpers/server.ts";

type Arg = string | Buffer;
interface Client {
  call(...args: Arg[]): Promise<unknown>;
  /** HGETALL through the library's own method, as a plain object. */
  hgetall(ns: string): Promise<Record<string, string>>;
  /** HSET / HGET / HDEL through the library's own methods. */
  hset(ns: string, pairs: Record<string, string>): Promise<number>;
  hget(ns: string, field: string): Promise<string | null>;
  hdel(ns: string, fields: string[]): Promise<number>;
  close(): void;
}

const libs: { name: string; connect(port: number): Promise<Client> }[] = [
  {
    name: "ioredis",
    async connect(port) {
      const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
      await r.connect();
      return {
        call: (...a) => r.call(a[0] as string, a.slice(1)),
        hgetall: async (ns) => ({ ...(await r.hgetall(ns)) }),
        hset: (ns, pairs) => r.hset(ns, pairs),
        hget: (ns, f) => r.hget(ns, f),
        hdel: (ns, fields) => r.hdel(ns, ...fields),
        close: () => r.disconnect(),
      };
    },
  },
  {
    name: "node-redis",
    async connect(port) {
      const r = createClient({ socket: { port, host: "127.0.0.1", reconnectStrategy: false } });
      r.on("error", () => {});
      await r.connect();
      return {
        call: (...a) => r.sendCommand(a),
        hgetall: async (ns) => ({ ...(await r.hGetAll(ns)) }) as Record<string, string>,
        hset: (ns, pairs) => r.hSet(ns, pairs),
        hget: async (ns, f) => ((await r.hGet(ns, f)) as string | null) ?? null,
        hdel: (ns, fields) => r.hDel(ns, fields),
        close: () => r.destroy(),
      };
    },
  },
];

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the command to fail");
}

const T0 = 1_700_000_000_000;
let now = T0;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ numShards: 8 }, { clock: () => now });
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

/** `count` field names f0, f1, … */
function someFields(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `f${i}`);
}

/** Rows of the large-hash fields table of database 0 that belong to the hashes at `keys`. */
function fieldRows(...keys: string[]): number {
  let n = 0;
  for (const shard of server.handle.store.shards) {
    for (const key of keys) {
      const row = shard.db
        .query(
          "SELECT count(*) AS n FROM fields WHERE hash_id IN (SELECT rowid FROM blobs WHERE key = ?1)",
        )
        .get(key) as { n: number };
      n += row.n;
    }
  }
  return n;
}

for (const lib of libs) {
  describe(`hash commands via ${lib.name}`, () => {
    let c: Client;
    let n = 0;
    /** A hash key nobody else uses (with colons, as real keys have). */
    const fresh = (base = "h") => `${base}:${lib.name === "ioredis" ? "io" : "nr"}:${++n}`;

    beforeAll(async () => {
      c = await lib.connect(server.port);
    });
    afterAll(() => c?.close());

    test("HSET counts new fields and HGET reads them back; absent hashes and fields are nil", async () => {
      const ns = fresh();
      expect(await c.hset(ns, { name: "John Doe", email: "john@example.com" })).toBe(2);
      expect(await c.call("HSET", ns, "name", "Jane", "city", "Paris", "city", "Rome")).toBe(1);
      expect(await c.hget(ns, "name")).toBe("Jane");
      expect(await c.hget(ns, "city")).toBe("Rome");
      expect(await c.hget(ns, "missing")).toBeNull();
      expect(await c.hget(fresh("never"), "name")).toBeNull();
      expect(await c.call("HEXISTS", fresh("never"), "x")).toBe(0);
      expect(await errorOf(c.call("HSET", ns, "a", "1", "b"))).toBe(
        "ERR wrong number of arguments for 'hset' command",
      );
      expect(await errorOf(c.call("HSET", ns, "a"))).toBe(
        "ERR wrong number of arguments for 'hset' command",
      );
    });

    test("any bytes name a hash: colons, spaces, dashes, non-ASCII, binary and the empty key", async () => {
      const names: Arg[] = ["", "a-b", "a b", "naïve", "x:y", "user:1001:profile", "{tag}:1"];
      names.push(Buffer.from([0xff, 0x00, 0x3a, 0x80]));
      for (const [i, name] of names.entries()) {
        expect(await c.call("HSET", name, "f", `v${i}`)).toBe(1);
      }
      for (const [i, name] of names.entries()) {
        expect(await c.call("HGET", name, "f")).toBe(`v${i}`);
        expect(await c.call("HLEN", name)).toBe(1);
        expect(await c.call("HDEL", name, "f")).toBe(1);
        expect(await c.call("HLEN", name)).toBe(0);
      }
    });

    test("hash keys are case-sensitive: Users and users are different hashes", async () => {
      const base = fresh("Case");
      const lower = base.toLowerCase();
      expect(await c.call("HSET", base, "f", "upper", "only_upper", "1")).toBe(2);
      expect(await c.call("HSET", lower, "f", "lower")).toBe(1);
      expect(await c.hget(base, "f")).toBe("upper");
      expect(await c.hget(lower, "f")).toBe("lower");
      expect(await c.call("HLEN", base)).toBe(2);
      expect(await c.call("HLEN", lower)).toBe(1);
      expect(await c.hdel(lower, ["f"])).toBe(1);
      expect(await c.hget(base, "f")).toBe("upper");
    });

    test("a hash and a string share one key space: WRONGTYPE both ways, SET replaces a hash", async () => {
      const key = fresh();
      const wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
      expect(await c.call("SET", key, "plain")).toBe("OK");
      expect(await errorOf(c.call("HSET", key, "f", "hashed"))).toBe(wrongType);
      expect(await errorOf(c.call("HGET", key, "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HSETEX", key, "EX", "10", "FIELDS", "1", "f", "v"))).toBe(
        wrongType,
      );
      expect(await errorOf(c.call("HTTL", key, "FIELDS", "0", "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HEXPIRE", key, "nan", "FIELDS", "1", "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HGETDEL", key, "FIELDZ", "1", "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HPERSIST", key, "FIELDS", "1", "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HGETEX", key, "FIELDS", "1", "f"))).toBe(wrongType);
      expect(await errorOf(c.call("HRANDFIELD", key))).toBe(wrongType);
      expect(await c.call("GET", key)).toBe("plain");
      const hash = fresh();
      expect(await c.call("HSET", hash, "f", "v")).toBe(1);
      expect(await errorOf(c.call("GET", hash))).toBe(wrongType);
      expect(await errorOf(c.call("APPEND", hash, "x"))).toBe(wrongType);
      expect(await c.call("SET", hash, "now a string")).toBe("OK");
      expect(await errorOf(c.call("HGET", hash, "f"))).toBe(wrongType);
      expect(await c.call("GET", hash)).toBe("now a string");
    });

    test("HDEL, HEXISTS, HSETNX, HMSET, HMGET, HLEN, HSTRLEN, HKEYS, HVALS and HGETALL", async () => {
      const ns = fresh();
      expect(await c.call("HMSET", ns, "a", "1", "b", "22", "c", "333")).toBe("OK");
      expect(await c.call("HSETNX", ns, "a", "x")).toBe(0);
      expect(await c.call("HSETNX", ns, "d", "4444")).toBe(1);
      expect(await c.call("HMGET", ns, "a", "zz", "d")).toEqual(["1", null, "4444"]);
      expect(await c.call("HEXISTS", ns, "b")).toBe(1);
      expect(await c.call("HSTRLEN", ns, "c")).toBe(3);
      expect(await c.call("HSTRLEN", ns, "zz")).toBe(0);
      expect(await c.call("HLEN", ns)).toBe(4);
      expect(((await c.call("HKEYS", ns)) as string[]).sort()).toEqual(["a", "b", "c", "d"]);
      expect(((await c.call("HVALS", ns)) as string[]).sort()).toEqual(["1", "22", "333", "4444"]);
      expect(await c.hgetall(ns)).toEqual({ a: "1", b: "22", c: "333", d: "4444" });
      expect(await c.hdel(ns, ["a", "a", "zz", "b"])).toBe(2);
      expect(await c.call("HEXISTS", ns, "a")).toBe(0);
      expect(await c.hgetall(ns)).toEqual({ c: "333", d: "4444" });
      expect(await c.hgetall(fresh("never"))).toEqual({});
      expect(await c.call("HKEYS", fresh("never"))).toEqual([]);
      expect(await c.call("HLEN", fresh("never"))).toBe(0);
    });

    test("HSCAN returns a small hash whole with cursor 0 and pages a large one, with MATCH, COUNT and NOVALUES", async () => {
      const small = fresh();
      const fields = someFields(60);
      await c.call("HSET", small, ...fields.flatMap((f) => [f, `v${f}`]));
      // An inline hash: everything at once, in insertion order, whatever COUNT asks (as Redis).
      const [cursor0, all] = (await c.call("HSCAN", small, "0", "COUNT", "7")) as [
        string,
        string[],
      ];
      expect(cursor0).toBe("0");
      expect(all).toEqual(fields.flatMap((f) => [f, `v${f}`]));
      const [, keysOnly] = (await c.call(
        "HSCAN",
        small,
        "0",
        "COUNT",
        "1000",
        "NOVALUES",
        "MATCH",
        "f1*",
      )) as [string, string[]];
      expect(keysOnly).toEqual(fields.filter((f) => f.startsWith("f1")));

      const large = fresh();
      const many = someFields(300);
      await c.call("HSET", large, ...many.flatMap((f) => [f, `v${f}`]));
      const seen: string[] = [];
      let cursor = "0";
      let steps = 0;
      do {
        const [next, items] = (await c.call("HSCAN", large, cursor, "COUNT", "7")) as [
          string,
          string[],
        ];
        for (let i = 0; i < items.length; i += 2) {
          expect(items[i + 1]).toBe(`v${items[i]}`);
          seen.push(items[i]!);
        }
        cursor = next;
        steps++;
      } while (cursor !== "0" && steps < 1000);
      expect(steps).toBeGreaterThan(40);
      expect(seen).toEqual(many);
      const names: string[] = [];
      cursor = "0";
      do {
        const [next, items] = (await c.call(
          "HSCAN",
          large,
          cursor,
          "NOVALUES",
          "MATCH",
          "f2?",
        )) as [string, string[]];
        names.push(...items);
        cursor = next;
      } while (cursor !== "0");
      expect(names).toEqual(many.filter((f) => /^f2.$/.test(f)));

      expect(await c.call("HSCAN", fresh("never"), "0")).toEqual(["0", []]);
      expect(await errorOf(c.call("HSCAN", small, "abc"))).toBe("ERR invalid cursor");
      // Redis 7.4+/8 refuse a negative cursor (7.0 wrapped it around).
      expect(await errorOf(c.call("HSCAN", small, "-1"))).toBe("ERR invalid cursor");
      expect(await errorOf(c.call("HSCAN", small, "0", "COUNT", "0"))).toBe("ERR syntax error");
      expect(await errorOf(c.call("HSCAN", small, "0", "COUNT", "x"))).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await errorOf(c.call("HSCAN", small, "0", "TYPE", "hash"))).toBe("ERR syntax error");
    });

    test("HRANDFIELD: one field, distinct fields for a positive count, repeats for a negative one", async () => {
      const key = fresh();
      const fields = someFields(20);
      await c.call("HSET", key, ...fields.flatMap((f) => [f, `v${f}`]));
      expect(fields).toContain((await c.call("HRANDFIELD", key)) as string);
      const five = (await c.call("HRANDFIELD", key, "5")) as string[];
      expect(five.length).toBe(5);
      expect(new Set(five).size).toBe(5);
      // Distinct samples keep the hash's order, as Redis's listpack sampling does.
      expect([...five].sort((a, b) => fields.indexOf(a) - fields.indexOf(b))).toEqual(five);
      const repeated = (await c.call("HRANDFIELD", key, "-100")) as string[];
      expect(repeated.length).toBe(100);
      for (const f of repeated) expect(fields).toContain(f);
      expect(new Set(repeated).size).toBeLessThan(100);
      const pairs = (await c.call("HRANDFIELD", key, "-3", "WITHVALUES")) as unknown[];
      const flat = pairs.flat() as string[];
      expect(flat.length).toBe(6);
      for (let i = 0; i < 6; i += 2) expect(flat[i + 1]).toBe(`v${flat[i]}`);
      expect(await c.call("HRANDFIELD", key, "100")).toEqual(fields);
      // A large hash samples the same way.
      const large = fresh();
      const many = someFields(500);
      await c.call("HSET", large, ...many.flatMap((f) => [f, "v"]));
      const sample = (await c.call("HRANDFIELD", large, "50")) as string[];
      expect(new Set(sample).size).toBe(50);
      for (const f of sample) expect(many).toContain(f);
      expect(((await c.call("HRANDFIELD", large, "-1000")) as string[]).length).toBe(1000);
      expect(await c.call("HRANDFIELD", large, "1000")).toEqual(many);
      expect(await errorOf(c.call("HRANDFIELD", key, "-100000000"))).toBe(
        "ERR value is out of range",
      );
    });

    test("HSETEX replies 1 and sets every field with its TTL (Redis 8.0 HSETEX: 1 if all fields were set)", async () => {
      const ns = fresh();
      expect(await c.call("HSETEX", ns, "EX", "100", "FIELDS", "2", "a", "1", "b", "2")).toBe(1);
      expect(await c.call("HTTL", ns, "FIELDS", "2", "a", "b")).toEqual([100, 100]);
      expect(await c.call("HSETEX", ns, "PX", "1500", "FIELDS", "1", "a", "3")).toBe(1);
      expect(await c.call("HPTTL", ns, "FIELDS", "1", "a")).toEqual([1500]);
      expect(
        await c.call("HSETEX", ns, "EXAT", String(T0 / 1000 + 50), "FIELDS", "1", "c", "x"),
      ).toBe(1);
      expect(await c.call("HEXPIRETIME", ns, "FIELDS", "1", "c")).toEqual([T0 / 1000 + 50]);
      expect(await c.call("HSETEX", ns, "PXAT", String(T0 + 777), "FIELDS", "1", "c", "y")).toBe(1);
      expect(await c.call("HPEXPIRETIME", ns, "FIELDS", "1", "c")).toEqual([T0 + 777]);
      expect(await c.hget(ns, "c")).toBe("y");
    });

    test("HSETEX without an expiry option drops the TTL and KEEPTTL keeps it (Redis 8.0 HSETEX docs)", async () => {
      const ns = fresh();
      await c.call("HSETEX", ns, "EX", "100", "FIELDS", "2", "a", "1", "b", "1");
      expect(await c.call("HSETEX", ns, "KEEPTTL", "FIELDS", "1", "a", "2")).toBe(1);
      expect(await c.call("HSETEX", ns, "FIELDS", "1", "b", "2")).toBe(1);
      expect(await c.call("HTTL", ns, "FIELDS", "2", "a", "b")).toEqual([100, -1]);
      expect(await c.call("HMGET", ns, "a", "b")).toEqual(["2", "2"]);
      expect(await c.call("HSET", ns, "a", "3")).toBe(0);
      expect(await c.call("HTTL", ns, "FIELDS", "1", "a")).toEqual([-1]);
    });

    test("HSETEX FNX and FXX are all-or-nothing (Redis 8.0 HSETEX: 0 if no fields were set)", async () => {
      const ns = fresh();
      const fields = someFields(12);
      await c.call("HSET", ns, fields[5]!, "old");
      const pairs = fields.flatMap((f) => [f, "new"]);
      expect(await c.call("HSETEX", ns, "FNX", "FIELDS", "12", ...pairs)).toBe(0);
      expect(await c.call("HLEN", ns)).toBe(1);
      expect(await c.call("HSETEX", ns, "FXX", "EX", "9", "FIELDS", "12", ...pairs)).toBe(0);
      expect(await c.hget(ns, fields[5]!)).toBe("old");
      expect(
        await c.call(
          "HSETEX",
          ns,
          "FNX",
          "FIELDS",
          "11",
          ...pairs.slice(0, 10),
          ...pairs.slice(12),
        ),
      ).toBe(1);
      expect(await c.call("HSETEX", ns, "FXX", "EX", "9", "FIELDS", "12", ...pairs)).toBe(1);
      expect(new Set(Object.values(await c.hgetall(ns)))).toEqual(new Set(["new"]));
      expect(await c.call("HTTL", ns, "FIELDS", "2", fields[0]!, fields[11]!)).toEqual([9, 9]);
      expect(await c.call("HSETEX", fresh("never"), "FXX", "FIELDS", "1", "a", "1")).toBe(0);
    });

    test("HSETEX refuses repeated or contradictory options with Redis 8.0's error texts", async () => {
      const ns = fresh();
      const err = (...a: string[]) => errorOf(c.call("HSETEX", ns, ...a));
      expect(await err("FNX", "FXX", "FIELDS", "1", "a", "1")).toBe(
        "ERR Only one of FXX or FNX arguments can be specified",
      );
      const onlyOne = "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified";
      expect(await err("EX", "1", "PX", "1", "FIELDS", "1", "a", "1")).toBe(onlyOne);
      expect(await err("KEEPTTL", "EX", "1", "FIELDS", "1", "a", "1")).toBe(onlyOne);
      expect(await err("EX", "1", "EX", "1", "FIELDS", "1", "a", "1")).toBe(onlyOne);
      expect(await err("FIELDS", "0", "a", "1")).toBe("ERR invalid number of fields");
      expect(await err("FIELDS", "x", "a", "1")).toBe("ERR invalid number of fields");
      expect(await err("FIELDS", "2", "a", "1", "b")).toBe(
        "ERR wrong number of arguments for 'hsetex' command",
      );
      expect(await err("FIELDS", "2", "a", "1")).toBe(
        "ERR wrong number of arguments for 'hsetex' command",
      );
      expect(await err("EX", "-1", "FIELDS", "1", "a", "1")).toBe(
        "ERR invalid expire time, must be >= 0",
      );
      expect(await err("EX", "1x", "FIELDS", "1", "a", "1")).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await err("EX", "99999999999999999", "FIELDS", "1", "a", "1")).toBe(
        "ERR invalid expire time in 'hsetex' command",
      );
      expect(await err("NOPE", "FIELDS", "1", "a", "1")).toBe("ERR unknown argument: NOPE");
      expect(await c.call("HLEN", ns)).toBe(0);
    });

    test("HEXPIRE family replies -2, 0, 1 or 2 per field and honours NX, XX, GT and LT (Redis 7.4)", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "a", "1", "b", "2", "c", "3");
      expect(await c.call("HEXPIRE", ns, "100", "NX", "FIELDS", "3", "a", "b", "nope")).toEqual([
        1, 1, -2,
      ]);
      expect(await c.call("HEXPIRE", ns, "50", "NX", "FIELDS", "2", "a", "c")).toEqual([0, 1]);
      expect(await c.call("HPEXPIRE", ns, "200000", "GT", "FIELDS", "2", "a", "b")).toEqual([1, 1]);
      expect(await c.call("HEXPIRE", ns, "300", "XX", "FIELDS", "1", "c")).toEqual([1]);
      expect(await c.call("HSET", ns, "d", "4")).toBe(1);
      expect(await c.call("HEXPIRE", ns, "10", "XX", "FIELDS", "1", "d")).toEqual([0]);
      expect(await c.call("HEXPIRE", ns, "10", "GT", "FIELDS", "1", "d")).toEqual([0]);
      expect(await c.call("HEXPIRE", ns, "10", "LT", "FIELDS", "2", "d", "a")).toEqual([1, 1]);
      expect(
        await c.call("HEXPIREAT", ns, String(T0 / 1000 + 1000), "LT", "FIELDS", "1", "a"),
      ).toEqual([0]);
      expect(await c.call("HPEXPIREAT", ns, String(T0 + 5000), "FIELDS", "1", "b")).toEqual([1]);
      expect(await c.call("HTTL", ns, "FIELDS", "4", "a", "b", "c", "d")).toEqual([10, 5, 300, 10]);
      expect(await c.call("HEXPIRE", ns, "0", "XX", "FIELDS", "2", "c", "zz")).toEqual([2, -2]);
      expect(await c.call("HPEXPIREAT", ns, "1", "FIELDS", "1", "b")).toEqual([2]);
      expect(await c.call("HKEYS", ns).then((k) => (k as string[]).sort())).toEqual(["a", "d"]);
      expect(await c.call("HEXPIRE", fresh("never"), "10", "FIELDS", "1", "a")).toEqual([-2]);
    });

    test("HEXPIRE refuses bad arguments with Redis 7.4's error texts", async () => {
      const ns = fresh();
      const err = (...a: string[]) => errorOf(c.call(...a));
      expect(await err("HEXPIRE", ns, "10", "FIELDS", "0", "a")).toBe(
        "ERR Parameter `numFields` should be greater than 0",
      );
      expect(await err("HEXPIRE", ns, "10", "FIELDS", "2", "a")).toBe(
        "ERR The `numfields` parameter must match the number of arguments",
      );
      expect(await err("HEXPIRE", ns, "10", "XX", "NX", "FIELDS", "1", "a")).toBe(
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      );
      expect(await err("HEXPIRE", ns, "-1", "FIELDS", "1", "a")).toBe(
        "ERR invalid expire time, must be >= 0",
      );
      expect(await err("HPEXPIRE", ns, "x", "FIELDS", "1", "a")).toBe(
        "ERR value is not an integer or out of range",
      );
      expect(await err("HEXPIREAT", ns, "9223372036854775", "FIELDS", "1", "a")).toBe(
        "ERR invalid expire time in 'hexpireat' command",
      );
      expect(await err("HTTL", ns, "FIELDS", "0", "a")).toBe(
        "ERR Number of fields must be a positive integer",
      );
      expect(await err("HPERSIST", ns, "FIELD", "1", "a")).toBe(
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      );
    });

    test("HTTL, HPTTL, HEXPIRETIME and HPEXPIRETIME reply -2 for no field and -1 for no TTL (Redis 7.4)", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "plain", "1");
      await c.call("HSETEX", ns, "PX", "1001", "FIELDS", "1", "ttl", "1");
      const fields = ["FIELDS", "3", "plain", "ttl", "none"];
      expect(await c.call("HTTL", ns, ...fields)).toEqual([-1, 2, -2]);
      expect(await c.call("HPTTL", ns, ...fields)).toEqual([-1, 1001, -2]);
      expect(await c.call("HEXPIRETIME", ns, ...fields)).toEqual([
        -1,
        Math.ceil((T0 + 1001) / 1000),
        -2,
      ]);
      expect(await c.call("HPEXPIRETIME", ns, ...fields)).toEqual([-1, T0 + 1001, -2]);
    });

    test("HPERSIST replies 1 when it removed a TTL, -1 without one and -2 for no field (Redis 7.4)", async () => {
      const ns = fresh();
      await c.call("HSETEX", ns, "EX", "10", "FIELDS", "1", "t", "1");
      await c.call("HSET", ns, "p", "1");
      expect(await c.call("HPERSIST", ns, "FIELDS", "3", "t", "p", "x")).toEqual([1, -1, -2]);
      expect(await c.call("HTTL", ns, "FIELDS", "1", "t")).toEqual([-1]);
    });

    test("HGETEX returns values and sets or removes their TTL (Redis 8.0 HGETEX docs)", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "a", "1", "b", "2");
      expect(await c.call("HGETEX", ns, "EX", "30", "FIELDS", "3", "a", "b", "x")).toEqual([
        "1",
        "2",
        null,
      ]);
      expect(await c.call("HTTL", ns, "FIELDS", "2", "a", "b")).toEqual([30, 30]);
      expect(await c.call("HGETEX", ns, "PERSIST", "FIELDS", "1", "a")).toEqual(["1"]);
      expect(await c.call("HGETEX", ns, "FIELDS", "2", "a", "b")).toEqual(["1", "2"]);
      expect(await c.call("HTTL", ns, "FIELDS", "2", "a", "b")).toEqual([-1, 30]);
      expect(await c.call("HGETEX", ns, "PXAT", String(T0 - 1), "FIELDS", "1", "b")).toEqual(["2"]);
      expect(await c.call("HEXISTS", ns, "b")).toBe(0);
      expect(await errorOf(c.call("HGETEX", ns, "EX", "1", "FIELDS", "2", "a"))).toBe(
        "ERR The `numfields` parameter must match the number of arguments",
      );
      expect(await errorOf(c.call("HGETEX", ns, "KEEPTTL", "FIELDS", "1", "a"))).toBe(
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      );
    });

    test("HGETDEL returns the values and deletes the fields (Redis 8.0 HGETDEL docs)", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "a", "1", "b", "2", "c", "3");
      expect(await c.call("HGETDEL", ns, "FIELDS", "4", "a", "x", "c", "a")).toEqual([
        "1",
        null,
        "3",
        null,
      ]);
      expect(await c.hgetall(ns)).toEqual({ b: "2" });
      expect(await errorOf(c.call("HGETDEL", ns, "FIELDS", "0", "b"))).toBe(
        "ERR Number of fields must be a positive integer",
      );
      expect(await errorOf(c.call("HGETDEL", ns, "FIELDZ", "1", "b"))).toBe(
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      );
    });

    test("an expired field is absent everywhere and HSET on it starts a fresh field without TTL", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "keep", "k");
      await c.call("HSETEX", ns, "PX", "100", "FIELDS", "2", "gone", "g", "again", "g");
      now += 100;
      try {
        expect(await c.hget(ns, "gone")).toBeNull();
        expect(await c.call("HEXISTS", ns, "gone")).toBe(0);
        expect(await c.call("HLEN", ns)).toBe(1);
        expect(await c.hgetall(ns)).toEqual({ keep: "k" });
        expect(await c.call("HSCAN", ns, "0", "COUNT", "100")).toEqual(["0", ["keep", "k"]]);
        expect(await c.call("HTTL", ns, "FIELDS", "1", "gone")).toEqual([-2]);
        expect(await c.call("HEXPIRE", ns, "100", "FIELDS", "1", "gone")).toEqual([-2]);
        expect(await c.call("HPERSIST", ns, "FIELDS", "1", "gone")).toEqual([-2]);
        expect(await c.call("HGETDEL", ns, "FIELDS", "1", "gone")).toEqual([null]);
        expect(await c.hdel(ns, ["gone"])).toBe(0);
        expect(await c.call("HSET", ns, "again", "fresh")).toBe(1);
        expect(await c.call("HTTL", ns, "FIELDS", "1", "again")).toEqual([-1]);
        expect(await c.call("HSETEX", ns, "FNX", "FIELDS", "1", "gone", "new")).toBe(1);
      } finally {
        now = T0;
      }
    });

    test("the expiry sweep reclaims expired fields of large hashes, and a hash left without fields", async () => {
      const big = "v".repeat(100);
      const ns = fresh();
      // A value over 64 bytes makes it a large hash: its fields are rows of the fields table.
      await c.call("HSETEX", ns, "PX", "10", "FIELDS", "3", "a", big, "b", "2", "c", "3");
      await c.call("HSET", ns, "d", "4");
      const gone = fresh();
      await c.call("HSETEX", gone, "PX", "10", "FIELDS", "2", "x", big, "y", "1");
      expect(fieldRows(ns, gone)).toBe(6);
      now += 10;
      try {
        expect(await c.call("HLEN", ns)).toBe(1);
        expect(await c.call("HLEN", gone)).toBe(0);
        expect(await c.hgetall(gone)).toEqual({});
        await new ExpirySweeper(server.handle.store, () => {}, silentLogger()).sweepOnce();
      } finally {
        now = T0;
      }
      expect(fieldRows(ns)).toBe(1);
      expect(fieldRows(gone)).toBe(0);
      // The key row of the hash left without fields went with them.
      const keyRows = server.handle.store.shards.reduce(
        (sum, shard) =>
          sum +
          (
            shard.db.query("SELECT count(*) AS n FROM blobs WHERE key = ?1").get(gone) as {
              n: number;
            }
          ).n,
        0,
      );
      expect(keyRows).toBe(0);
      expect(await c.hgetall(ns)).toEqual({ d: "4" });
      expect(await c.call("HLEN", gone)).toBe(0);
      expect(await c.call("HSET", gone, "x", "back")).toBe(1);
      expect(await c.hgetall(gone)).toEqual({ x: "back" });
    });

    test("a field the sweep removed after a read cached it is new again to HSET, and HLEN counts it", async () => {
      const big = "v".repeat(100);
      const ns = fresh();
      await c.call("HSETEX", ns, "PX", "10", "FIELDS", "2", "a", big, "b", "2");
      await c.call("HSET", ns, "d", "4");
      // Both reads leave their rows (with TTLs) in the value cache; the sweep does not touch it.
      expect(await c.hget(ns, "a")).toBe(big);
      expect(await c.hget(ns, "d")).toBe("4");
      now += 10;
      try {
        await new ExpirySweeper(server.handle.store, () => {}, silentLogger()).sweepOnce();
        expect(fieldRows(ns)).toBe(1);
        expect(await c.call("HSET", ns, "a", "back", "d", "four")).toBe(1);
        expect(await c.call("HLEN", ns)).toBe(2);
        expect(await c.hgetall(ns)).toEqual({ d: "four", a: "back" });
      } finally {
        now = T0;
      }
    });

    test("field TTLs work on a large hash as on a small one", async () => {
      const ns = fresh();
      const fields = someFields(200);
      await c.call("HSET", ns, ...fields.flatMap((f) => [f, "v"]));
      expect(await c.call("HEXPIRE", ns, "10", "FIELDS", "3", "f0", "f150", "nope")).toEqual([
        1, 1, -2,
      ]);
      expect(await c.call("HTTL", ns, "FIELDS", "2", "f0", "f1")).toEqual([10, -1]);
      expect(await c.call("HPERSIST", ns, "FIELDS", "1", "f150")).toEqual([1]);
      await c.call("HSET", ns, "n", "5");
      expect(await c.call("HEXPIRE", ns, "20", "FIELDS", "1", "n")).toEqual([1]);
      expect(await c.call("HINCRBY", ns, "n", "1")).toBe(6);
      expect(await c.call("HTTL", ns, "FIELDS", "1", "n")).toEqual([20]);
      expect(await c.call("HSET", ns, "f0", "kept")).toBe(0);
      expect(await c.call("HTTL", ns, "FIELDS", "1", "f0")).toEqual([-1]);
      await c.call("HPEXPIRE", ns, "5", "FIELDS", "2", "f1", "f2");
      now += 5;
      try {
        expect(await c.call("HLEN", ns)).toBe(199);
        expect(await c.call("HEXISTS", ns, "f1")).toBe(0);
        expect(((await c.call("HKEYS", ns)) as string[]).slice(0, 3)).toEqual(["f0", "f3", "f4"]);
        expect(await c.call("HSET", ns, "f1", "again")).toBe(1);
        // A re-added field counts as new; in a large hash its place in the order is kept.
        expect(await c.call("HLEN", ns)).toBe(200);
      } finally {
        now = T0;
      }
    });

    test("readers never see a multi-field HSET half applied", async () => {
      const ns = fresh();
      const fields = someFields(40);
      const reader = await lib.connect(server.port);
      let done = false;
      const writes = (async () => {
        const all: Promise<unknown>[] = [];
        for (let round = 0; round < 200; round++) {
          all.push(c.call("HSET", ns, ...fields.flatMap((f) => [f, String(round)])));
        }
        await Promise.all(all);
        done = true;
      })();
      let snapshots = 0;
      while (!done || snapshots === 0) {
        const values = (await reader.call("HMGET", ns, ...fields)) as (string | null)[];
        expect(new Set(values).size).toBe(1);
        snapshots++;
      }
      await writes;
      reader.close();
      expect(await c.hget(ns, fields[0]!)).toBe("199");
    });

    test("pipelined hash writes of one client apply in order", async () => {
      const ns = fresh();
      const [f0, f1] = ["f0", "f1"];
      const replies = await Promise.all([
        c.call("HSET", ns, f1, "first"),
        c.call("HSETEX", ns, "FNX", "FIELDS", "2", f0, "x", f1, "y"),
        c.call("HSETEX", ns, "FXX", "FIELDS", "1", f1, "second"),
        c.call("HDEL", ns, f1),
        c.call("HSETEX", ns, "FNX", "FIELDS", "2", f0, "x", f1, "y"),
        c.call("HGETDEL", ns, "FIELDS", "1", f0),
      ]);
      expect(replies).toEqual([1, 0, 1, 1, 1, ["x"]]);
      expect(await c.hgetall(ns)).toEqual({ [f1]: "y" });
    });

    test("a hash of 100,000 fields reads back whole, in insertion order, through HGETALL, HKEYS and HSCAN", async () => {
      const ns = fresh("big");
      const total = 100_000;
      const perCall = 2_000;
      const calls: Promise<unknown>[] = [];
      for (let start = 0; start < total; start += perCall) {
        const args: string[] = [];
        for (let i = start; i < start + perCall; i++) args.push(`field:${i}`, `value:${i}`);
        calls.push(c.call("HSET", ns, ...args));
      }
      expect((await Promise.all(calls)).reduce((a, b) => (a as number) + (b as number), 0)).toBe(
        total,
      );
      expect(await c.call("HLEN", ns)).toBe(total);
      const all = await c.hgetall(ns);
      expect(Object.keys(all).length).toBe(total);
      expect(all["field:12345"]).toBe("value:12345");
      const seen = new Set<string>();
      let cursor = "0";
      do {
        const [next, items] = (await c.call("HSCAN", ns, cursor, "COUNT", "5000")) as [
          string,
          string[],
        ];
        for (let i = 0; i < items.length; i += 2) {
          expect(items[i + 1]).toBe(`value:${items[i]!.slice(6)}`);
          seen.add(items[i]!);
        }
        cursor = next;
      } while (cursor !== "0");
      expect(seen.size).toBe(total);
      const keys = (await c.call("HKEYS", ns)) as string[];
      expect(keys.length).toBe(total);
      for (let i = 0; i < total; i += 997) expect(keys[i]).toBe(`field:${i}`);
      expect(keys[total - 1]).toBe(`field:${total - 1}`);
    }, 20_000);

    test("a hash whose last field is deleted or expires stops existing", async () => {
      const ns = fresh();
      await c.call("HSET", ns, "a", "1", "b", "2");
      await c.call("HSETEX", ns, "PX", "1", "FIELDS", "1", "short", "v");
      expect(await c.hdel(ns, ["a", "b"])).toBe(1 + 1);
      expect(await c.call("HLEN", ns)).toBe(1);
      now += 1;
      try {
        expect(await c.call("HLEN", ns)).toBe(0);
        expect(await c.hgetall(ns)).toEqual({});
        expect(await c.call("HRANDFIELD", ns)).toBeNull();
        expect(await c.call("HRANDFIELD", ns, "-2")).toEqual([]);
        // Writing to it starts a new hash: no field of the old one comes back.
        expect(await c.call("HSET", ns, "new", "1")).toBe(1);
        expect(await c.hgetall(ns)).toEqual({ new: "1" });
      } finally {
        now = T0;
      }
    });
  });
}

test("HGETALL is a map under RESP3 and a flat array under RESP2", async () => {
  await rawExchange(server.port, resp("HSET", "respns", "f", "v"));
  const two = await rawExchange(server.port, resp("HGETALL", "respns"));
  expect(two.data.toString()).toBe("*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  const three = await rawExchange(server.port, [resp("HELLO", "3"), resp("HGETALL", "respns")]);
  expect(three.data.toString().endsWith("%1\r\n$1\r\nf\r\n$1\r\nv\r\n")).toBe(true);
});

test("HRANDFIELD WITHVALUES is a flat array under RESP2 and an array of pairs under RESP3", async () => {
  await rawExchange(server.port, resp("HSET", "rand:resp", "f", "v"));
  const two = await rawExchange(server.port, resp("HRANDFIELD", "rand:resp", "-2", "WITHVALUES"));
  expect(two.data.toString()).toBe("*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n");
  const three = await rawExchange(server.port, [
    resp("HELLO", "3"),
    resp("HRANDFIELD", "rand:resp", "1", "WITHVALUES"),
  ]);
  expect(three.data.toString().endsWith("*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n")).toBe(true);
});
