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
import { freePort, startProcess, writeConfig } from "../helpers/process.ts";
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
    // CONFIG SET reaches the running engine on both servers, under either name.
    for (const target of [{ port: server.port }, { unix: redis.socket }]) {
      const admin = await RawClient.connect(target);
      expect((await admin.command("CONFIG", "SET", "lua-time-limit", "70")).toString()).toBe(
        "+OK\r\n",
      );
      expect((await admin.command("CONFIG", "GET", "busy-reply-threshold")).toString()).toBe(
        "*2\r\n$20\r\nbusy-reply-threshold\r\n$2\r\n70\r\n",
      );
      await admin.command("CONFIG", "SET", "busy-reply-threshold", "50");
      admin.close();
    }
    expect(server.handle.context.scripting!.busyThresholdMs).toBe(50);
    const script = "local i = 0 while true do i = i + 1 end";
    const ours = await busyScenario({ port: server.port }, script);
    const theirs = await busyScenario({ unix: redis.socket }, script);
    expect(ours.busy).toBe(theirs.busy);
    expect(ours.kill).toBe("+OK\r\n");
    expect(theirs.kill).toBe("+OK\r\n");
    expect((await ours.result).toString()).toBe((await theirs.result).toString());
  });

  test("a script that has written is UNKILLABLE and finishes", async () => {
    const script =
      "redis.call('set', 'w', '1') local s = redis.call('time') repeat local n = redis.call('time') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 300000 return 'done'";
    const ours = await busyScenario({ port: server.port }, script);
    const theirs = await busyScenario({ unix: redis.socket }, script);
    expect(ours.kill).toBe(theirs.kill);
    expect(ours.kill.startsWith("-UNKILLABLE")).toBe(true);
    expect((await ours.result).toString()).toBe("$4\r\ndone\r\n");
  });
});

describe("a runaway script's memory", () => {
  test("a script that keeps growing the heap is stopped with an error; the server serves on", async () => {
    const engine = server.handle.context.scripting!;
    engine.heapGrowthMaxBytes = 32 * 1024 * 1024;
    const c = await RawClient.connect({ port: server.port });
    try {
      const reply = (
        await c.command(
          "EVAL",
          "local t = {} for i = 1, 100000000 do t[i] = string.rep('x', 64) .. i end return #t",
          "0",
        )
      ).toString();
      expect(reply).toStartWith("-ERR Script exceeded the memory limit");
      expect((await c.command("PING")).toString()).toBe("+PONG\r\n");
      // A script that allocates and drops as much is not stopped: only what stays counts.
      const churn = (
        await c.command(
          "EVAL",
          "local n = 0 for i = 1, 120000 do local s = string.rep('y', 512) .. i n = n + #s end return n",
          "0",
        )
      ).toString();
      expect(churn).toStartWith(":");
    } finally {
      engine.heapGrowthMaxBytes = 1024 * 1024 * 1024;
      c.close();
    }
  }, 60_000);
});

describe("INFO memory's scripting lines", () => {
  test("count cached scripts, functions and libraries, and their source bytes", async () => {
    const c = await RawClient.connect({ port: server.port });
    try {
      await c.command("SCRIPT", "FLUSH");
      await c.command("FUNCTION", "FLUSH");
      const field = async (name: string) =>
        Number(
          new RegExp(`\r\n${name}:(\\d+)`).exec(
            (await c.command("INFO", "memory")).toString(),
          )?.[1],
        );
      expect(await field("number_of_cached_scripts")).toBe(0);
      const body = "return 'counted'";
      await c.command("SCRIPT", "LOAD", body);
      await c.command("EVAL", "return 2", "0");
      expect(await field("number_of_cached_scripts")).toBe(2);
      expect(await field("used_memory_scripts_eval")).toBe(body.length + "return 2".length);
      const lib =
        "#!lua name=infolib\nredis.register_function('f1', function() return 1 end)\nredis.register_function('f2', function() return 2 end)";
      await c.command("FUNCTION", "LOAD", lib);
      expect(await field("number_of_functions")).toBe(2);
      expect(await field("number_of_libraries")).toBe(1);
      expect(await field("used_memory_functions")).toBe(lib.length);
      expect(await field("used_memory_scripts")).toBe(body.length + 8 + lib.length);
      await c.command("SCRIPT", "FLUSH");
      await c.command("FUNCTION", "FLUSH");
      expect(await field("used_memory_scripts")).toBe(0);
    } finally {
      c.close();
    }
  });
});

describe("SHUTDOWN while a script is busy", () => {
  test("without NOSAVE it is refused with Redis's BUSY; bad arguments get Redis's errors", async () => {
    const replies: string[][] = [];
    for (const target of [{ port: server.port }, { unix: redis.socket }]) {
      const runner = await RawClient.connect(target);
      const other = await RawClient.connect(target);
      await other.command("CONFIG", "SET", "busy-reply-threshold", "50");
      const started = runner.command("EVAL", "local i = 0 while true do i = i + 1 end", "0");
      let busy = "";
      for (let i = 0; i < 200 && !busy.startsWith("-BUSY"); i++) {
        await Bun.sleep(10);
        busy = (await other.command("GET", "x")).toString();
      }
      const seen = [
        busy,
        (await other.command("SHUTDOWN")).toString(),
        (await other.command("SHUTDOWN", "SAVE")).toString(),
        (await other.command("SHUTDOWN", "NOSAVE", "SAVE")).toString(),
        (await other.command("SHUTDOWN", "ABORT")).toString(),
        (await other.command("SHUTDOWN", "BOGUS")).toString(),
      ];
      expect((await other.command("SCRIPT", "KILL")).toString()).toBe("+OK\r\n");
      await started;
      replies.push(seen);
      runner.close();
      other.close();
    }
    expect(replies[0]![1]!.startsWith("-BUSY")).toBe(true);
    expect(replies[0]).toEqual(replies[1]!);
  });

  test("SHUTDOWN NOSAVE stops a busy script that has written, and the server exits", async () => {
    const dir = tempDir();
    const port = freePort();
    const config = writeConfig(
      dir,
      `data_dir = "${dir}/data"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\nbusy_reply_threshold_ms = 50\n`,
    );
    const proc = await startProcess(["--config", config]);
    const c = await RawClient.connect({ port });
    const other = await RawClient.connect({ port });
    try {
      expect((await c.command("SET", "before", "kept")).toString()).toBe("+OK\r\n");
      const running = c
        .command("EVAL", "redis.call('set', 'during', '1') while true do end", "0")
        .catch(() => Buffer.from("closed"));
      let busy = "";
      for (let i = 0; i < 200 && !busy.startsWith("-BUSY"); i++) {
        await Bun.sleep(10);
        busy = (await other.command("GET", "before")).toString();
      }
      expect(busy.startsWith("-BUSY")).toBe(true);
      expect((await other.command("SCRIPT", "KILL")).toString()).toStartWith("-UNKILLABLE");
      // A successful SHUTDOWN has no reply: the connection closes.
      const shut = other.command("SHUTDOWN", "NOSAVE").catch(() => Buffer.from("closed"));
      expect(await proc.proc.exited).toBe(0);
      await Promise.all([running, shut]);
    } finally {
      c.close();
      other.close();
      proc.proc.kill();
    }
    const again = await startProcess(["--config", config]);
    const r = await RawClient.connect({ port });
    try {
      expect((await r.command("GET", "before")).toString()).toBe("$4\r\nkept\r\n");
      // The script's write before the stop is kept (docs/scripting.md: Redis would lose it).
      expect((await r.command("GET", "during")).toString()).toBe("$1\r\n1\r\n");
    } finally {
      r.close();
      again.proc.kill();
      await again.proc.exited;
    }
  }, 20_000);
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
