/**
 * Keyspace notifications against a real Redis 7: the same write commands run on both servers
 * while a raw subscriber listens to every keyspace and keyevent channel; the two event streams
 * must match frame for frame. Then the flags as CONFIG GET prints them, the config file key,
 * and the session-store case: a 1 s TTL seen as `expired` through ioredis, node-redis (RESP2
 * and RESP3).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Target = { port: number } | { unix: string };

let ours: TestServer;
let ref: RedisRef;
const targets = (): [string, Target][] => [
  ["ours", { port: ours.port }],
  ["redis", { unix: ref.socket }],
];

beforeAll(async () => {
  ours = await startTestServer();
  ref = await startRedisRef();
});

afterAll(async () => {
  await ours[Symbol.asyncDispose]();
  await ref[Symbol.asyncDispose]();
});

/** Runs `steps` with notifications set to `flags`; returns every frame the listener got. */
async function events(target: Target, flags: string, steps: string[][]): Promise<string[]> {
  const sub = await RawClient.connect(target);
  const driver = await RawClient.connect(target);
  try {
    await driver.command("FLUSHALL");
    await driver.command("CONFIG", "SET", "notify-keyspace-events", flags);
    await sub.command("PSUBSCRIBE", "__key*@*__:*");
    await sub.command("SUBSCRIBE", "done");
    for (const step of steps) await driver.command(...step);
    await driver.command("PUBLISH", "done", "x");
    const frames: string[] = [];
    for (;;) {
      const frame = (await sub.receive()).toString("latin1");
      if (frame.includes("$4\r\ndone\r\n")) return frames;
      frames.push(frame);
    }
  } finally {
    await driver.command("CONFIG", "SET", "notify-keyspace-events", "");
    sub.close();
    driver.close();
  }
}

const writes: string[][] = [
  ["SET", "k", "v"],
  ["SET", "k", "v", "EX", "100"],
  ["SET", "k", "w", "NX"],
  ["SET", "k2", "w", "XX"],
  ["SET", "k3", "w", "GET"],
  ["SETNX", "k", "v"],
  ["SETNX", "n1", "v"],
  ["SETEX", "se", "100", "v"],
  ["PSETEX", "pse", "100000", "v"],
  ["APPEND", "k", "x"],
  ["SETRANGE", "k", "0", "y"],
  ["SETRANGE", "k", "0", ""],
  ["INCR", "c"],
  ["INCRBY", "c", "2"],
  ["DECR", "c"],
  ["DECRBY", "c", "2"],
  ["INCRBYFLOAT", "f", "1.5"],
  ["GETSET", "k", "z"],
  ["MSET", "a", "1", "b", "2"],
  ["MSETNX", "a", "1", "zz", "2"],
  ["MSETNX", "m1", "1", "m2", "2"],
  ["DEL", "a", "nosuch", "b"],
  ["UNLINK", "m1"],
  ["EXPIRE", "k", "100"],
  ["PEXPIRE", "k", "100000"],
  ["PERSIST", "k"],
  ["PERSIST", "k"],
  ["EXPIRE", "m2", "-1"],
  ["EXPIRE", "nosuch", "10"],
  ["RENAME", "c", "c2"],
  ["RENAMENX", "c2", "k"],
  ["RENAMENX", "c2", "c3"],
  ["COPY", "c3", "c4"],
  ["COPY", "c3", "c5", "DB", "2"],
  ["MOVE", "c4", "1"],
  ["GETDEL", "c3"],
  ["GETDEL", "nosuch"],
  ["GETEX", "k", "EX", "100"],
  ["GETEX", "k", "PERSIST"],
  ["GETEX", "k"],
  ["HSET", "h", "f", "v", "g", "w"],
  ["HSET", "h", "f", "v"],
  ["HMSET", "h", "x", "1"],
  ["HSETNX", "h", "f", "v"],
  ["HSETNX", "h", "new", "v"],
  ["HINCRBY", "h", "n", "1"],
  ["HINCRBYFLOAT", "h", "n", "1.5"],
  ["HDEL", "h", "nosuch"],
  ["HDEL", "h", "f", "g"],
  ["HDEL", "h", "x", "new", "n"],
  ["SETBIT", "bits", "1", "1"],
  ["BITOP", "OR", "dest", "bits"],
  ["BITOP", "OR", "dest", "nosuch"],
  ["BITFIELD", "bf", "SET", "u8", "0", "1"],
  ["BITFIELD", "bf", "GET", "u8", "0"],
  ["FLUSHDB"],
];

describe("keyspace notifications", () => {
  test("every write command emits Redis's events in Redis's order (KEA)", async () => {
    const [oursEvents, redisEvents] = await Promise.all(
      targets().map(([, t]) => events(t, "KEA", writes)),
    );
    expect(oursEvents!.length).toBeGreaterThan(60);
    expect(oursEvents).toEqual(redisEvents!);
  });

  // `new` (class n) is left out of A, as in Redis; with it, every key a write creates gets a
  // `new` event ahead of the command's own.
  test("with KEAn a write that creates a key emits `new` first, as Redis", async () => {
    const [oursEvents, redisEvents] = await Promise.all(
      targets().map(([, t]) => events(t, "KEAn", writes)),
    );
    expect(oursEvents!.filter((f) => f.includes("\r\nnew\r\n")).length).toBeGreaterThan(10);
    expect(oursEvents).toEqual(redisEvents!);
  });

  // `keymiss` (class m) fires for each key a read finds missing; OBJECT does not count.
  test("with KEm reads of missing keys emit `keymiss`, as Redis", async () => {
    const reads = [
      ["SET", "here", "v"],
      ["GET", "nope"],
      ["GET", "here"],
      ["MGET", "here", "a", "b", "a"],
      ["HGET", "h", "f"],
      ["HSET", "h", "f", "v"],
      ["HGET", "h", "missing-field"],
      ["EXISTS", "gone", "here"],
      ["STRLEN", "nope"],
      ["TTL", "nope"],
      ["TYPE", "nope"],
      ["GETRANGE", "nope", "0", "1"],
      ["OBJECT", "ENCODING", "nope"],
      ["HGETALL", "nothere"],
      ["DUMP", "nope"],
    ];
    const [oursEvents, redisEvents] = await Promise.all(
      targets().map(([, t]) => events(t, "KEm", reads)),
    );
    expect(oursEvents!.length).toBeGreaterThan(10);
    expect(oursEvents).toEqual(redisEvents!);
  });

  test("class flags select events: only keyevent, only generic and string", async () => {
    for (const flags of ["Eg", "K$", "Kh", "KEx"]) {
      const [a, b] = await Promise.all(targets().map(([, t]) => events(t, flags, writes)));
      expect(a).toEqual(b!);
    }
  });

  test("events in another database name that database", async () => {
    const steps = [
      ["SELECT", "3"],
      ["SET", "k", "v"],
      ["DEL", "k"],
      ["SELECT", "0"],
    ];
    const [a, b] = await Promise.all(targets().map(([, t]) => events(t, "KEA", steps)));
    expect(a).toEqual(b!);
    expect(a!.join("")).toContain("__keyevent@3__:set");
  });

  test("CONFIG GET prints the flags as Redis does", async () => {
    const cases = ["KEA", "Ex", "KA", "AKEmn", "g$hxn", "KEg$lshzxetdn", ""];
    for (const [, t] of targets()) {
      const c = await RawClient.connect(t);
      try {
        const out: string[] = [];
        for (const f of cases) {
          await c.command("CONFIG", "SET", "notify-keyspace-events", f);
          out.push((await c.command("CONFIG", "GET", "notify-keyspace-events")).toString());
        }
        out.push((await c.command("CONFIG", "SET", "notify-keyspace-events", "bad")).toString());
        expect(out).toEqual([
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxE\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nAK\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$4\r\nAKEm\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$5\r\ng$hxn\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n",
          "*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n",
          "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n",
        ]);
      } finally {
        c.close();
      }
    }
  });

  test("the config file key notify_keyspace_events turns notifications on at startup", async () => {
    await using s = await startTestServer({ notifyKeyspaceEvents: "Ex" });
    const c = await RawClient.connect({ port: s.port });
    try {
      expect((await c.command("CONFIG", "GET", "notify-keyspace-events")).toString()).toBe(
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxE\r\n",
      );
    } finally {
      c.close();
    }
  });
});

describe("field expiry (Redis 7.4+)", () => {
  test("a large hash's expired field emits hexpired, its last one also del", async () => {
    const sub = await RawClient.connect({ port: ours.port });
    const c = await RawClient.connect({ port: ours.port });
    try {
      await c.command("CONFIG", "SET", "notify-keyspace-events", "Eghx");
      await c.command("CONFIG", "SET", "hash-max-listpack-entries", "1");
      await sub.command("PSUBSCRIBE", "__keyevent@0__:*");
      await c.command("HSET", "fh", "a", "1", "b", "2");
      await c.command("HPEXPIRE", "fh", "50", "FIELDS", "2", "a", "b");
      const frames: string[] = [];
      while (frames.length < 4) frames.push((await sub.receive()).toString("latin1"));
      const events = frames.map((f) => /__keyevent@0__:(\w+)/.exec(f)![1]);
      expect(events).toEqual(["hset", "hexpire", "hexpired", "del"]);
    } finally {
      await c.command("CONFIG", "SET", "notify-keyspace-events", "");
      await c.command("CONFIG", "SET", "hash-max-listpack-entries", "128");
      sub.close();
      c.close();
    }
  });
});

describe("expired on read", () => {
  // Redis removes a key whose TTL has passed as soon as a command touches it (expireIfNeeded)
  // and reports `expired` then, not when its active expiry gets there. Ours does the same
  // while someone listens: every event is in before the PUBLISH sent after the reads.
  test("a read of keys past their TTL reports each one `expired`, once, as Redis", async () => {
    const streams: string[][] = [];
    for (const [, target] of targets()) {
      const sub = await RawClient.connect(target);
      const driver = await RawClient.connect(target);
      try {
        await driver.command("FLUSHALL");
        await driver.command("CONFIG", "SET", "notify-keyspace-events", "Ex");
        await sub.command("PSUBSCRIBE", "__keyevent@0__:expired");
        await sub.command("SUBSCRIBE", "done");
        for (let i = 0; i < 10; i++) await driver.command("SET", `lazy:${i}`, "v", "PX", "40");
        await Bun.sleep(80);
        for (let i = 0; i < 10; i++)
          expect(await driver.command("GET", `lazy:${i}`)).toEqual(Buffer.from("$-1\r\n"));
        await driver.command("PUBLISH", "done", "x");
        const untilDone = async (): Promise<string[]> => {
          const frames: string[] = [];
          for (;;) {
            const frame = (await sub.receive()).toString("latin1");
            if (frame.includes("$4\r\ndone\r\n")) return frames.sort();
            frames.push(frame);
          }
        };
        streams.push(await untilDone());
        // A second look a sweep later: nothing is reported twice.
        await Bun.sleep(1_200);
        await driver.command("PUBLISH", "done", "x");
        expect(await untilDone()).toEqual([]);
      } finally {
        await driver.command("CONFIG", "SET", "notify-keyspace-events", "");
        sub.close();
        driver.close();
      }
    }
    expect(streams[0]).toHaveLength(10);
    expect(streams[0]).toEqual(streams[1]!);
  }, 10_000);
});

describe("a session store learns that a TTL ended", () => {
  /** Waits for one `expired` event for `key` on `port`, with `listen` subscribing. */
  async function expiredVia(
    port: number,
    key: string,
    listen: (onMessage: (channel: string, key: string) => void) => Promise<() => Promise<void>>,
  ): Promise<[string, string]> {
    const setter = new Redis({ port, lazyConnect: true });
    await setter.connect();
    await setter.config("SET", "notify-keyspace-events", "Ex");
    let resolve!: (v: [string, string]) => void;
    const got = new Promise<[string, string]>((r) => {
      resolve = r;
    });
    const stop = await listen((channel, k) => {
      if (k === key) resolve([channel, k]);
    });
    try {
      await setter.set(key, "session", "EX", 1);
      return await got;
    } finally {
      await stop();
      setter.disconnect();
    }
  }

  test("ioredis PSUBSCRIBE __keyevent@0__:expired receives `expired` for a 1 s TTL", async () => {
    const result = await expiredVia(ours.port, "sess:io", async (on) => {
      const sub = new Redis({ port: ours.port });
      sub.on("pmessage", (_p, channel, key) => on(channel, key));
      await sub.psubscribe("__keyevent@0__:expired");
      return async () => sub.disconnect();
    });
    expect(result).toEqual(["__keyevent@0__:expired", "sess:io"]);
  }, 10_000);

  for (const RESP of [2, 3] as const) {
    test(`node-redis (RESP${RESP}) receives the same event`, async () => {
      const result = await expiredVia(ours.port, `sess:nr${RESP}`, async (on) => {
        const sub = createClient({ url: `redis://127.0.0.1:${ours.port}`, RESP });
        await sub.connect();
        await sub.pSubscribe("__keyevent@0__:expired", (key, channel) => on(channel, key));
        return async () => {
          await sub.close();
        };
      });
      expect(result).toEqual(["__keyevent@0__:expired", `sess:nr${RESP}`]);
    }, 10_000);
  }
});
