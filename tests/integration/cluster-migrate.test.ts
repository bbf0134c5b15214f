/**
 * DUMP, RESTORE and MIGRATE between two real servers (cluster mode off: they work the same,
 * with RESTORE instead of RESTORE-ASKING). Strings, small and large hashes, key TTLs and field
 * TTLs travel; a foreign payload is refused in Redis's words; a key leaves the source only
 * after the target took it.
 */
import { expect, test } from "bun:test";
import Redis from "ioredis";
import { errorOf } from "../helpers/clients.ts";
import { startTestServer } from "../helpers/server.ts";

async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  return c;
}

test("DUMP and RESTORE round-trip strings, hashes, key TTLs and field TTLs", async () => {
  await using server = await startTestServer({
    storageCompression: { enabled: true, algorithm: "zstd", minSizeBytes: 16 },
  });
  const r = await client(server.port);
  await r.set("s", "x".repeat(1000));
  await r.hset("h", "a", "1", "b", "2");
  await r.call("HEXPIRE", "h", "100", "FIELDS", "1", "a");
  const big: string[] = [];
  for (let i = 0; i < 500; i++) big.push(`f${i}`, `v${i}`);
  await r.hset("big", ...big);
  for (const key of ["s", "h", "big"]) {
    const payload = await r.dumpBuffer(key);
    expect(payload).not.toBeNull();
    expect(await errorOf(r.restore(key, 0, payload!))).toBe(
      "BUSYKEY Target key name already exists.",
    );
    expect(await r.restore(`${key}2`, 5000, payload!)).toBe("OK");
    expect(await r.type(`${key}2`)).toBe(await r.type(key));
    const ttl = await r.pttl(`${key}2`);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
  }
  expect(await r.get("s2")).toBe("x".repeat(1000));
  expect(await r.hgetall("h2")).toEqual({ a: "1", b: "2" });
  const fieldTtl = (await r.call("HPTTL", "h2", "FIELDS", "2", "a", "b")) as number[];
  expect(fieldTtl[0]).toBeGreaterThan(90_000);
  expect(fieldTtl[1]).toBe(-1);
  expect(await r.hlen("big2")).toBe(500);
  expect(await r.hget("big2", "f499")).toBe("v499");
  expect(await r.dumpBuffer("nokey")).toBeNull();
  expect(await r.restore("s", 0, (await r.dumpBuffer("h"))!, "REPLACE")).toBe("OK");
  expect(await r.type("s")).toBe("hash");
  r.disconnect();
});

test("RESTORE refuses a payload that is not ours with Redis's error", async () => {
  await using server = await startTestServer();
  const r = await client(server.port);
  // A DUMP of the string "v" from redis-server 7.0.
  const redisPayload = Buffer.from("0001760a009108ceb219388ace", "hex");
  expect(await errorOf(r.restore("k", 0, redisPayload))).toBe(
    "ERR DUMP payload version or checksum are wrong",
  );
  await r.set("s", "v");
  const ours = (await r.dumpBuffer("s"))!;
  ours[0] = ours[0]! ^ 1;
  expect(await errorOf(r.restore("k", 0, ours))).toBe(
    "ERR DUMP payload version or checksum are wrong",
  );
  expect(await errorOf(r.restore("k", -1, ours))).toBe("ERR Invalid TTL value, must be >= 0");
  expect(await errorOf(r.call("RESTORE", "k", "0", ours, "BOGUS"))).toBe("ERR syntax error");
  r.disconnect();
});

test("MIGRATE moves keys of every type with their TTLs, and deletes them only after the target took them", async () => {
  await using source = await startTestServer();
  await using target = await startTestServer();
  const s = await client(source.port);
  const t = await client(target.port);
  await s.set("str", "v", "PX", 60_000);
  await s.hset("hash", "f", "1");
  await s.set("other", "o");
  expect(await s.call("MIGRATE", "127.0.0.1", String(target.port), "str", "0", "1000")).toBe("OK");
  expect(await s.exists("str")).toBe(0);
  expect(await t.get("str")).toBe("v");
  expect(await t.pttl("str")).toBeGreaterThan(50_000);
  expect(
    await s.call(
      "MIGRATE",
      "127.0.0.1",
      String(target.port),
      "",
      "0",
      "1000",
      "KEYS",
      "hash",
      "other",
      "missing",
    ),
  ).toBe("OK");
  expect(await t.hget("hash", "f")).toBe("1");
  expect(await t.get("other")).toBe("o");
  expect(await s.dbsize()).toBe(0);
  expect(await s.call("MIGRATE", "127.0.0.1", String(target.port), "missing", "0", "1000")).toBe(
    "NOKEY",
  );
  await s.set("str", "again");
  expect(
    await errorOf(s.call("MIGRATE", "127.0.0.1", String(target.port), "str", "0", "1000")),
  ).toBe("ERR Target instance replied with error: BUSYKEY Target key name already exists.");
  expect(await s.get("str")).toBe("again");
  expect(
    await s.call(
      "MIGRATE",
      "127.0.0.1",
      String(target.port),
      "str",
      "0",
      "1000",
      "COPY",
      "REPLACE",
    ),
  ).toBe("OK");
  expect(await s.get("str")).toBe("again");
  expect(await t.get("str")).toBe("again");
  expect(
    await errorOf(
      s.call("MIGRATE", "127.0.0.1", String(target.port), "str", "0", "1000", "KEYS", "str"),
    ),
  ).toBe("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
  expect(
    await errorOf(s.call("MIGRATE", "127.0.0.1", String(target.port), "str", "0", "1000", "BOGUS")),
  ).toBe("ERR syntax error");
  await target.stop();
  expect(
    (
      await errorOf(s.call("MIGRATE", "127.0.0.1", String(target.port), "str", "0", "500"))
    ).startsWith("IOERR "),
  ).toBe(true);
  expect(await s.get("str")).toBe("again");
  s.disconnect();
  t.disconnect();
});
