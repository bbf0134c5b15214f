/**
 * The keyspace events that belong to key lookups, against a real Redis 7: `new` (flag n) when
 * a command creates a key, `keymiss` (flag m) when a read lookup finds nothing (the writes
 * that read first included), and `expired` when a command's lookup finds a key whose TTL has
 * passed (lazy expiry): before its own events, or in its key's place for DEL, UNLINK and
 * MSET, exactly once even after the sweep runs, and counted in INFO expired_keys. A raw
 * subscriber listens on every keyspace and keyevent channel of both servers; the two event
 * streams must match frame for frame.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Target = { port: number } | { unix: string };

let ours: TestServer;
let ref: RedisRef;
/** Our server's clock runs `skew` ms ahead of the wall clock: expiry without sleeping. */
let skew = 0;

beforeAll(async () => {
  [ours, ref] = await Promise.all([
    startTestServer({ numShards: 3 }, { clock: () => Date.now() + skew }),
    // Redis's active expiry is switched off in the lazy-expiry tests (DEBUG SET-ACTIVE-EXPIRE).
    startRedisRef(["--enable-debug-command", "yes"]),
  ]);
});

afterAll(async () => {
  await ours?.[Symbol.asyncDispose]();
  await ref?.[Symbol.asyncDispose]();
});

interface Step {
  run?: string[];
  /** Let `ms` pass: our clock jumps, Redis sleeps. */
  wait?: number;
}

/**
 * Our expiry sweep wakes every second and would announce the keys the steps leave for lazy
 * expiry (Redis's active expiry is off here): start just after a round, seen when it removes
 * a sentinel key, so the steps (well under a second) are done before the next one.
 */
async function afterSweep(target: Target): Promise<void> {
  const sub = await RawClient.connect(target);
  const c = await RawClient.connect(target);
  try {
    await c.command("CONFIG", "SET", "notify-keyspace-events", "Ex");
    await sub.command("SUBSCRIBE", "__keyevent@0__:expired");
    await c.command("SET", "sentinel", "1", "PX", "20");
    await sub.receive(5_000);
  } finally {
    sub.close();
    c.close();
  }
}

/** Runs `steps` with notifications set to `flags`; returns every frame the listener got. */
async function events(target: Target, flags: string, steps: Step[]): Promise<string[]> {
  const isOurs = "port" in target;
  const sub = await RawClient.connect(target);
  const driver = await RawClient.connect(target);
  try {
    await driver.command("FLUSHALL");
    if (!isOurs) await driver.command("DEBUG", "SET-ACTIVE-EXPIRE", "0");
    else if (steps.some((step) => step.wait !== undefined)) await afterSweep(target);
    await driver.command("CONFIG", "SET", "notify-keyspace-events", flags);
    await sub.command("PSUBSCRIBE", "__key*@*__:*");
    await sub.command("SUBSCRIBE", "done");
    for (const step of steps) {
      if (step.run) await driver.command(...step.run);
      if (step.wait !== undefined) {
        if (isOurs) skew += step.wait;
        else await Bun.sleep(step.wait);
      }
    }
    await driver.command("PUBLISH", "done", "x");
    const frames: string[] = [];
    for (;;) {
      const frame = (await sub.receive()).toString("latin1");
      if (frame.includes("$4\r\ndone\r\n")) return frames;
      frames.push(frame);
    }
  } finally {
    await driver.command("CONFIG", "SET", "notify-keyspace-events", "");
    if (!isOurs) await driver.command("DEBUG", "SET-ACTIVE-EXPIRE", "1");
    sub.close();
    driver.close();
  }
}

async function compare(flags: string, steps: Step[]): Promise<string[]> {
  const [a, b] = await Promise.all(
    [{ port: ours.port }, { unix: ref.socket }].map((t) => events(t, flags, steps)),
  );
  expect(a).toEqual(b!);
  return a!;
}

const run = (...args: string[]): Step => ({ run: args });

/** Writes that create keys, and writes that only change them. */
const creating: Step[] = [
  run("SET", "k", "v"),
  run("SET", "k", "w"),
  run("SET", "nx", "v", "NX"),
  run("SET", "xx", "v", "XX"),
  run("SET", "g", "v", "GET"),
  run("SETNX", "k", "v"),
  run("SETEX", "se", "100", "v"),
  run("APPEND", "ap", "x"),
  run("APPEND", "ap", "y"),
  run("SETRANGE", "sr", "0", ""),
  run("SETRANGE", "sr", "2", "x"),
  run("INCR", "c"),
  run("INCRBYFLOAT", "f", "1.5"),
  run("GETSET", "gs", "1"),
  run("MSET", "a", "1", "b", "2", "a", "3"),
  run("MSETNX", "m1", "1", "m2", "2"),
  run("SETBIT", "bits", "1", "1"),
  run("BITFIELD", "bf", "SET", "u8", "0", "1"),
  run("BITOP", "OR", "dest", "bits"),
  run("BITOP", "OR", "empty", "nosuch"),
  run("HSET", "h", "f", "v"),
  run("HSET", "h", "g", "v"),
  run("HSETNX", "h2", "f", "v"),
  run("HINCRBY", "h3", "n", "1"),
  run("HINCRBYFLOAT", "h4", "n", "1.5"),
  run("RENAME", "k", "k2"),
  run("RENAME", "a", "b"),
  run("RENAMENX", "b", "b2"),
  run("COPY", "b2", "b3"),
  run("COPY", "b2", "b3", "REPLACE"),
  run("COPY", "b2", "other", "DB", "4"),
  run("MOVE", "b3", "5"),
  run("DEL", "h"),
  run("HSET", "h", "again", "v"),
];

/** Read lookups that hit and miss, and writes whose lookups are write lookups. */
const reading: Step[] = [
  run("SET", "s", "v"),
  run("HSET", "hh", "f", "v"),
  run("GET", "nosuch"),
  run("GET", "s"),
  run("GET", "hh"),
  run("MGET", "s", "n1", "n2", "n1"),
  run("EXISTS", "s", "n3", "n3"),
  run("STRLEN", "n4"),
  run("GETRANGE", "n5", "0", "1"),
  run("TYPE", "n6"),
  run("TTL", "n7"),
  run("PTTL", "n8"),
  run("EXPIRETIME", "n9"),
  run("TOUCH", "s", "n10"),
  run("DUMP", "n11"),
  run("GETBIT", "n12", "0"),
  run("BITCOUNT", "n13"),
  run("BITPOS", "n14", "1"),
  run("BITFIELD_RO", "n15", "GET", "u8", "0"),
  run("BITFIELD", "n16", "GET", "u8", "0"),
  run("BITFIELD", "n17", "SET", "u8", "0", "1"),
  run("LCS", "s", "n18"),
  run("HGET", "n19", "f"),
  run("HGET", "hh", "nof"),
  run("HMGET", "n20", "f"),
  run("HGETALL", "n21"),
  run("HKEYS", "n22"),
  run("HVALS", "n23"),
  run("HLEN", "n24"),
  run("HEXISTS", "n25", "f"),
  run("HSTRLEN", "n26", "f"),
  run("HRANDFIELD", "n27"),
  run("HSCAN", "n28", "0"),
  run("OBJECT", "ENCODING", "n29"),
  run("MEMORY", "USAGE", "n30"),
  run("GETDEL", "n31"),
  run("GETEX", "n32"),
  run("GETSET", "n33", "v"),
  run("SET", "n34", "v", "GET"),
  run("COPY", "n35", "n36"),
  run("BITOP", "AND", "n37", "n38", "s"),
  run("DEL", "n39"),
  run("EXPIRE", "n40", "10"),
  run("PERSIST", "n41"),
  run("INCR", "n42"),
  run("HDEL", "n43", "f"),
  run("RENAME", "n44", "n45"),
  run("MOVE", "n46", "1"),
];

describe("`new` (flag n): a command that creates a key says so first", () => {
  test("creating writes emit `new` before their own event, as Redis (KEA plus n)", async () => {
    const frames = await compare("KEAn", creating);
    expect(frames.join("").split("$3\r\nnew\r\n").length - 1).toBeGreaterThan(20);
  });

  test("`n` alone (keyevent channel) and A without n", async () => {
    for (const flags of ["En", "KEA", "Kgn"]) await compare(flags, creating);
  });
});

describe("`keymiss` (flag m): read lookups that find nothing", () => {
  test("every read command and the writes that read first, as Redis (KEAm)", async () => {
    const frames = await compare("KEAm", reading);
    expect(frames.join("")).toContain("keymiss");
  });

  test("m alone, and m with n", async () => {
    for (const flags of ["Em", "KEAmn"]) await compare(flags, reading);
  });
});

describe("lazy expiry: a read that finds a key past its TTL", () => {
  const expiring: Step[] = [
    run("SET", "k", "v", "PX", "50"),
    run("HSET", "h", "f", "v"),
    run("PEXPIRE", "h", "50"),
    run("SET", "w", "v", "PX", "50"),
    run("SET", "d", "v", "PX", "50"),
    run("SET", "e", "v", "PX", "50"),
    { wait: 120 },
    run("GET", "k"),
    run("GET", "k"),
    run("EXISTS", "k"),
    run("HGET", "h", "f"),
    run("SET", "w", "again"),
    run("DEL", "d"),
    run("TTL", "e"),
  ];

  test("`expired` comes before the reply's keymiss and the next write's `new`, once per key", async () => {
    for (const flags of ["KEA", "KEAmn", "Ex"]) await compare(flags, expiring);
    const frames = (await compare("Ex", expiring)).join("");
    expect(frames.split("expired").length - 1).toBe(5);
  });

  /** Writes over keys past their TTL, and rows whose key positions are not looked up. */
  const expiringWrites: Step[] = [
    ...["gd", "gx", "gs", "sg", "inc", "ap", "cp", "bo", "mv", "rn", "ex", "nx"].map((k) =>
      run("SET", k, "1", "PX", "50"),
    ),
    run("HSET", "hx", "f", "v"),
    run("PEXPIRE", "hx", "50"),
    run("SET", "shard", "v", "PX", "50"),
    run("SET", "watched", "v", "PX", "50"),
    { wait: 120 },
    // Redis does not look up SPUBLISH's shard channel nor WATCH's keys: nothing is announced.
    run("SPUBLISH", "shard", "hello"),
    run("WATCH", "watched"),
    run("UNWATCH"),
    run("GETDEL", "gd"),
    run("GETEX", "gx", "EX", "100"),
    run("GETSET", "gs", "v"),
    run("SET", "sg", "v", "GET"),
    run("INCR", "inc"),
    run("APPEND", "ap", "x"),
    run("COPY", "cp", "cp2"),
    run("BITOP", "OR", "bo", "bo"),
    run("HSET", "hx", "g", "v"),
    run("MOVE", "mv", "1"),
    run("RENAME", "rn", "rn2"),
    run("EXPIRE", "ex", "100"),
    run("SETNX", "nx", "v"),
    // Still there to be found: the read announces both now.
    run("EXISTS", "shard", "watched"),
  ];

  test("a write's lookup announces `expired` first too; SPUBLISH and WATCH look nothing up", async () => {
    for (const flags of ["KEA", "KEAmn", "Ex"]) await compare(flags, expiringWrites);
    const frames = await compare("KEAmn", expiringWrites);
    const expired = frames.filter((f) => f.includes("__keyevent@0__:expired"));
    expect(expired).toHaveLength(15);
    // Announced only by the EXISTS at the end, after every other event.
    expect(frames.slice(-8).join("")).toContain("__keyevent@0__:expired\r\n$5\r\nshard");
    expect(frames.slice(-8).join("")).toContain("__keyevent@0__:expired\r\n$7\r\nwatched");
  });

  /**
   * Commands with several keys: Redis's DEL, UNLINK and MSET look up and notify one key at a
   * time, so a key found expired is announced among the other keys' events; MSETNX, RENAME
   * and COPY look up first, and stop at a missing source.
   */
  const expiringKeys: Step[] = [
    run("SET", "a", "1"),
    run("SET", "c", "1"),
    ...["b", "d", "e", "f", "g", "h", "k", "l", "m", "u"].map((k) =>
      run("SET", k, "1", "PX", "50"),
    ),
    { wait: 120 },
    run("DEL", "a", "b"),
    run("DEL", "d", "c"),
    run("MSET", "x", "1", "e", "2", "x", "3"),
    run("MSETNX", "y", "1", "f", "2"),
    run("SET", "z", "1"),
    run("UNLINK", "g", "z"),
    run("SET", "z", "1"),
    run("UNLINK", "z", "h"),
    run("RENAME", "nosuch", "k"),
    run("COPY", "nosuch", "l"),
    run("SET", "src", "1"),
    run("RENAME", "src", "k"),
    run("COPY", "k", "m"),
    run("COPY", "k", "u", "DB", "3"),
    run("EXISTS", "l", "u"),
  ];

  test("several keys: `expired` in its place among the command's events, as Redis", async () => {
    for (const flags of ["KEAmn", "KEA", "Ex"]) await compare(flags, expiringKeys);
    const events = (await compare("Eg$xn", expiringKeys)).map((f) =>
      /__keyevent@(\d+)__:(\w+)\r\n\$\d+\r\n(\w+)/.exec(f)!.slice(1).join(" "),
    );
    // A few of them, spelt out: the order is the point.
    // Each key here is expired once and written at most once after its TTL ran out.
    const at = (event: string) => events.lastIndexOf(event);
    expect(at("0 del a")).toBeLessThan(at("0 expired b"));
    expect(at("0 expired d")).toBeLessThan(at("0 del c"));
    expect(events.indexOf("0 set x")).toBeLessThan(at("0 expired e"));
    expect(at("0 expired e")).toBeLessThan(at("0 new e"));
    expect(at("0 expired f")).toBeLessThan(at("0 new y"));
    // The missing sources: k and l are not looked up then, only later.
    expect(at("0 expired k")).toBeGreaterThan(at("0 set src"));
    expect(at("0 expired l")).toBeGreaterThan(at("0 copy_to m"));
    expect(events).toContain("3 copy_to u");
    expect(events).toContain("0 expired u");
  });

  // Redis checks MSET's argument count before any lookup; ours looked the keys up first
  // (docs/compatibility.md), and a key found expired then is announced all the same, once.
  test("a per-key write refused after its lookups still announces what they found expired", async () => {
    const sub = await RawClient.connect({ port: ours.port });
    const c = await RawClient.connect({ port: ours.port });
    try {
      await c.command("FLUSHALL");
      await afterSweep({ port: ours.port });
      await c.command("CONFIG", "SET", "notify-keyspace-events", "Ex");
      await sub.command("SUBSCRIBE", "__keyevent@0__:expired");
      await sub.command("SUBSCRIBE", "done");
      await c.command("SET", "b", "v", "PX", "50");
      skew += 100;
      expect((await c.command("MSET", "a", "1", "b")).toString()).toStartWith("-ERR wrong number");
      expect((await c.command("GET", "b")).toString()).toBe("$-1\r\n");
      await c.command("PUBLISH", "done", "x");
      const keys: string[] = [];
      for (;;) {
        const frame = (await sub.receive()).toString("latin1");
        if (frame.includes("$4\r\ndone\r\n")) break;
        keys.push(frame.split("\r\n").at(-2)!);
      }
      expect(keys).toEqual(["b"]);
    } finally {
      await c.command("CONFIG", "SET", "notify-keyspace-events", "");
      sub.close();
      c.close();
    }
  });

  test("INFO expired_keys counts the keys reads found expired at once, as Redis", async () => {
    const counted = await Promise.all(
      [{ port: ours.port }, { unix: ref.socket }].map(async (target: Target) => {
        const isOurs = "port" in target;
        const c = await RawClient.connect(target);
        const expiredKeys = async () =>
          Number(/expired_keys:(\d+)/.exec((await c.command("INFO", "stats")).toString())![1]);
        try {
          await c.command("FLUSHALL");
          // Neither server's active expiry may get there first: the reads must count them.
          if (!isOurs) await c.command("DEBUG", "SET-ACTIVE-EXPIRE", "0");
          else await afterSweep(target);
          await c.command("CONFIG", "SET", "notify-keyspace-events", "Ex");
          const before = await expiredKeys();
          for (const k of ["a", "b", "c"]) await c.command("SET", k, "v", "PX", "50");
          if (isOurs) skew += 120;
          else await Bun.sleep(120);
          await c.command("GET", "a");
          await c.command("EXISTS", "b", "c", "a");
          await c.command("SET", "c", "again");
          return (await expiredKeys()) - before;
        } finally {
          await c.command("CONFIG", "SET", "notify-keyspace-events", "");
          if (!isOurs) await c.command("DEBUG", "SET-ACTIVE-EXPIRE", "1");
          c.close();
        }
      }),
    );
    expect(counted).toEqual([3, 3]);
  });

  test("the sweep that runs after a read found the key expired announces nothing more, as Redis", async () => {
    const seen = await Promise.all(
      [{ port: ours.port }, { unix: ref.socket }].map(async (target: Target) => {
        const isOurs = "port" in target;
        const sub = await RawClient.connect(target);
        const c = await RawClient.connect(target);
        const expiredKeys = async () =>
          Number(/expired_keys:(\d+)/.exec((await c.command("INFO", "stats")).toString())![1]);
        try {
          await c.command("FLUSHALL");
          if (isOurs) await afterSweep(target);
          else await c.command("DEBUG", "SET-ACTIVE-EXPIRE", "0");
          const before = await expiredKeys();
          await c.command("CONFIG", "SET", "notify-keyspace-events", "Ex");
          await sub.command("SUBSCRIBE", "__keyevent@0__:expired");
          await sub.command("SUBSCRIBE", "done");
          await c.command("SET", "once", "v", "PX", "50");
          await c.command("SET", "swept", "v", "PX", "50");
          if (isOurs) skew += 100;
          else await Bun.sleep(100);
          const first = (await c.command("GET", "once")).toString();
          // Let the sweep (Redis: active expiry) run, so it would find any row left behind.
          if (!isOurs) await c.command("DEBUG", "SET-ACTIVE-EXPIRE", "1");
          await Bun.sleep(1_300);
          // Reads after the sweep find nothing more to announce (our cache still held both).
          const later = [
            (await c.command("GET", "swept")).toString(),
            (await c.command("GET", "once")).toString(),
          ];
          await c.command("PUBLISH", "done", "x");
          const keys: string[] = [];
          for (;;) {
            const frame = (await sub.receive()).toString("latin1");
            if (frame.includes("$4\r\ndone\r\n")) break;
            keys.push(frame.split("\r\n").at(-2)!);
          }
          return { first, later, keys, counted: (await expiredKeys()) - before };
        } finally {
          await c.command("CONFIG", "SET", "notify-keyspace-events", "");
          if (!isOurs) await c.command("DEBUG", "SET-ACTIVE-EXPIRE", "1");
          sub.close();
          c.close();
        }
      }),
    );
    // INFO counts both, the one a read expired and the one the sweep did.
    const expected = {
      first: "$-1\r\n",
      later: ["$-1\r\n", "$-1\r\n"],
      keys: ["once", "swept"],
      counted: 2,
    };
    expect(seen).toEqual([expected, expected]);
  });
});
