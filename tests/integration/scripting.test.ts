/**
 * Scripting as applications use it: the lock-release script under 50 concurrent clients, a
 * rate limiter, ioredis defineCommand, node-redis scripts, EVAL inside MULTI, BUSY and SCRIPT
 * KILL (compared with redis-server), functions surviving a restart and FUNCTION DUMP/RESTORE
 * between two of our servers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { createClient, defineScript } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer, tempDir } from "../helpers/server.ts";

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
else
  return 0
end`;

/** A token bucket in a hash: capacity ARGV[1], one token back per ARGV[2] ms, now = ARGV[3]. */
const BUCKET = `local capacity, refill_ms, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call("hmget", KEYS[1], "tokens", "ts")
local tokens, ts = tonumber(state[1]) or capacity, tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.floor((now - ts) / refill_ms))
local allowed = 0
if tokens > 0 then tokens = tokens - 1 allowed = 1 end
redis.call("hset", KEYS[1], "tokens", tokens, "ts", now)
redis.call("pexpire", KEYS[1], capacity * refill_ms)
return {allowed, tokens}`;

let server: TestServer;
let redis: RedisRef;

beforeAll(async () => {
  [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await redis?.[Symbol.asyncDispose]();
});

describe("scripts as applications use them", () => {
  test("a lock taken with SET NX and released by script never has two holders among 50 clients", async () => {
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => new Redis({ port: server.port, host: "127.0.0.1" })),
    );
    try {
      let inside = 0;
      let maxInside = 0;
      let acquired = 0;
      await Promise.all(
        clients.map(async (c, i) => {
          for (let round = 0; round < 2; round++) {
            const token = `${i}:${round}`;
            while ((await c.set("lock", token, "PX", 10_000, "NX")) !== "OK") {
              await Bun.sleep(2 + Math.random() * 8);
            }
            inside++;
            maxInside = Math.max(maxInside, inside);
            acquired++;
            expect(await c.incr("holders")).toBe(1);
            expect(await c.decr("holders")).toBe(0);
            inside--;
            // A stale token must not release someone else's lock.
            expect(await c.eval(RELEASE, 1, "lock", "not-mine")).toBe(0);
            expect(await c.eval(RELEASE, 1, "lock", token)).toBe(1);
          }
        }),
      );
      expect(maxInside).toBe(1);
      expect(acquired).toBe(100);
    } finally {
      for (const c of clients) c.disconnect();
    }
  }, 30_000);

  test("a token-bucket rate limiter answers as on redis-server", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    const now = 1_700_000_000_000;
    const steps = [0, 0, 0, 0, 10, 250, 260, 1000, 1001, 5000].map((dt) => [
      "EVAL",
      BUCKET,
      "1",
      "bucket",
      "3",
      "100",
      String(now + dt),
    ]);
    for (const step of steps) {
      const [a, b] = await Promise.all([ours.command(...step), theirs.command(...step)]);
      expect(a.toString()).toBe(b.toString());
    }
    expect((await ours.command("HGET", "bucket", "ts")).toString()).toBe(
      `$13\r\n${now + 5000}\r\n`,
    );
  });

  test("ioredis defineCommand runs by EVALSHA, loading the script once", async () => {
    const c = new Redis({ port: server.port, host: "127.0.0.1" });
    try {
      c.defineCommand("lockRelease", { numberOfKeys: 1, lua: RELEASE });
      const release = (
        c as unknown as { lockRelease(k: string, v: string): Promise<number> }
      ).lockRelease.bind(c);
      await c.set("lk", "me");
      expect(await release("lk", "other")).toBe(0);
      expect(await release("lk", "me")).toBe(1);
      expect(await c.exists("lk")).toBe(0);
      await c.script("FLUSH");
      await c.set("lk", "me");
      expect(await release("lk", "me")).toBe(1);
    } finally {
      c.disconnect();
    }
  });

  test("node-redis scripts run through EVALSHA", async () => {
    const c = createClient({
      socket: { port: server.port, host: "127.0.0.1", reconnectStrategy: false },
      scripts: {
        release: defineScript({
          SCRIPT: RELEASE,
          NUMBER_OF_KEYS: 1,
          parseCommand(parser, key: string, token: string) {
            parser.pushKey(key);
            parser.push(token);
          },
          transformReply: (reply) => reply as unknown as number,
        }),
      },
    });
    c.on("error", () => {});
    await c.connect();
    try {
      await c.set("nk", "tok");
      expect(await c.release("nk", "nope")).toBe(0);
      expect(await c.release("nk", "tok")).toBe(1);
      expect(await c.get("nk")).toBeNull();
    } finally {
      c.destroy();
    }
  });

  test("EVAL inside MULTI runs in the transaction", async () => {
    const c = await RawClient.connect({ port: server.port });
    expect((await c.command("MULTI")).toString()).toBe("+OK\r\n");
    expect(
      (
        await c.command("EVAL", "return redis.call('incrby', KEYS[1], ARGV[1])", "1", "mx", "5")
      ).toString(),
    ).toBe("+QUEUED\r\n");
    expect((await c.command("GET", "mx")).toString()).toBe("+QUEUED\r\n");
    expect((await c.command("EXEC")).toString()).toBe("*2\r\n:5\r\n$1\r\n5\r\n");
  });
});

/** Runs a script past the busy threshold on `target`, and records what a second client sees. */
async function busyScenario(target: { port: number } | { unix: string }, script: string) {
  const runner = await RawClient.connect(target);
  const other = await RawClient.connect(target);
  const started = runner.command("EVAL", script, "0");
  // Redis answers BUSY only once the script has run past the threshold (50 ms here).
  let busy = "";
  for (let i = 0; i < 200 && !busy.startsWith("-BUSY"); i++) {
    await Bun.sleep(10);
    busy = (await other.command("GET", "x")).toString();
  }
  const kill = (await other.command("SCRIPT", "KILL")).toString();
  const stats = (await other.command("FUNCTION", "STATS")).toString();
  return { busy, kill, stats: stats.slice(0, 20), result: started };
}

describe("BUSY and SCRIPT KILL", () => {
  test("a busy script answers BUSY to others and SCRIPT KILL stops it, as redis-server does", async () => {
    server.handle.context.scripting!.busyThresholdMs = 50;
    const admin = await RawClient.connect({ unix: redis.socket });
    await admin.command("CONFIG", "SET", "busy-reply-threshold", "50");
    const script = "local i = 0 while true do i = i + 1 end";
    const ours = await busyScenario({ port: server.port }, script);
    const theirs = await busyScenario({ unix: redis.socket }, script);
    expect(ours.busy).toBe(theirs.busy);
    expect(ours.kill).toBe("+OK\r\n");
    expect(theirs.kill).toBe("+OK\r\n");
    expect((await ours.result).toString()).toBe((await theirs.result).toString());
  });

  test("a script that has written is UNKILLABLE and finishes", async () => {
    server.handle.context.scripting!.busyThresholdMs = 50;
    const script =
      "redis.call('set', 'w', '1') local s = redis.call('time') repeat local n = redis.call('time') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 300000 return 'done'";
    const ours = await busyScenario({ port: server.port }, script);
    const theirs = await busyScenario({ unix: redis.socket }, script);
    expect(ours.kill).toBe(theirs.kill);
    expect(ours.kill.startsWith("-UNKILLABLE")).toBe(true);
    expect((await ours.result).toString()).toBe("$4\r\ndone\r\n");
  });
});

describe("functions persist", () => {
  const LIB =
    "#!lua name=kept\nredis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)";

  test("a library survives a restart; the script cache does not", async () => {
    const dir = tempDir();
    const first = await startTestServer({}, { dir, keepDir: true });
    let c = await RawClient.connect({ port: first.port });
    expect((await c.command("FUNCTION", "LOAD", LIB)).toString()).toBe("$4\r\nkept\r\n");
    const sha = (await c.command("SCRIPT", "LOAD", "return 1")).toString().split("\r\n")[1]!;
    await first.stop();
    await using second = await startTestServer({}, { dir });
    c = await RawClient.connect({ port: second.port });
    expect((await c.command("FCALL", "hello", "0", "you")).toString()).toBe("$6\r\nhi you\r\n");
    expect((await c.command("SCRIPT", "EXISTS", sha)).toString()).toBe("*1\r\n:0\r\n");
  });

  test("a damaged library file stops the start and names the file", async () => {
    const dir = tempDir();
    const first = await startTestServer({}, { dir, keepDir: true });
    await first.stop();
    const file = join(dir, "data", "functions.json");
    writeFileSync(file, "{not json");
    await expect(startTestServer({}, { dir, keepDir: true })).rejects.toThrow(`${file} is damaged`);
    rmSync(file);
    await using again = await startTestServer({}, { dir });
    expect(again.port).toBeGreaterThan(0);
  });

  test("FUNCTION DUMP from one server restores on another", async () => {
    await using a = await startTestServer();
    await using b = await startTestServer();
    const ca = await RawClient.connect({ port: a.port });
    const cb = await RawClient.connect({ port: b.port });
    await ca.command("FUNCTION", "LOAD", LIB);
    const dump = await ca.command("FUNCTION", "DUMP");
    const payload = dump.subarray(dump.indexOf("\r\n") + 2, dump.length - 2);
    expect((await cb.command("FUNCTION", "RESTORE", payload)).toString()).toBe("+OK\r\n");
    expect((await cb.command("FCALL", "hello", "0", "b")).toString()).toBe("$4\r\nhi b\r\n");
    expect((await cb.command("FUNCTION", "RESTORE", payload)).toString()).toBe(
      "-ERR Library kept already exists\r\n",
    );
    expect((await cb.command("FUNCTION", "RESTORE", payload, "REPLACE")).toString()).toBe(
      "+OK\r\n",
    );
  });
});
