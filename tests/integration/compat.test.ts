/**
 * Redis compatibility II (issue 18): CONFIG as clients use it, OBJECT ENCODING transitions,
 * MEMORY, protocol error texts and Redis 8's GETRANGE. Where Redis 7.0 has the behaviour the
 * replies are compared byte for byte with a real redis-server; where Redis 8 differs we assert
 * Redis 8's reply.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { resp, startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let redis: RedisRef;
let ours: RawClient;
let ref: RawClient;

beforeAll(async () => {
  server = await startTestServer();
  redis = await startRedisRef();
  ours = await RawClient.connect({ port: server.port });
  ref = await RawClient.connect({ unix: redis.socket });
});

afterAll(async () => {
  ours.close();
  ref.close();
  await server[Symbol.asyncDispose]();
  await redis[Symbol.asyncDispose]();
});

const both = async (...args: string[]) =>
  [
    (await ours.send(resp(...args))).toString("latin1"),
    (await ref.send(resp(...args))).toString("latin1"),
  ] as const;

async function same(...args: string[]): Promise<string> {
  const [a, b] = await both(...args);
  expect(`${args.join(" ")} -> ${a}`).toBe(`${args.join(" ")} -> ${b}`);
  return a;
}

test("OBJECT ENCODING follows Redis's string transitions (SET, APPEND, SETRANGE, INCR, INCRBYFLOAT)", async () => {
  const steps: string[][] = [
    ["SET", "foo", "1"],
    ["OBJECT", "ENCODING", "foo"],
    ["APPEND", "foo", "2"],
    ["OBJECT", "ENCODING", "foo"],
    ["INCR", "foo"],
    ["OBJECT", "ENCODING", "foo"],
    ["APPEND", "foo", "x"],
    ["OBJECT", "ENCODING", "foo"],
    ["SET", "foo", "13x"],
    ["OBJECT", "ENCODING", "foo"],
    ["SET", "foo", "1234"],
    ["SETRANGE", "foo", "0", ""],
    ["OBJECT", "ENCODING", "foo"],
    ["SETRANGE", "foo", "1", "3"],
    ["OBJECT", "ENCODING", "foo"],
    ["SET", "foo", "1334"],
    ["OBJECT", "ENCODING", "foo"],
    ["DEL", "new"],
    ["APPEND", "new", "12"],
    ["OBJECT", "ENCODING", "new"],
    ["DEL", "new"],
    ["SETRANGE", "new", "0", "12"],
    ["OBJECT", "ENCODING", "new"],
    ["SET", "f", "1.5"],
    ["INCRBYFLOAT", "f", "1.5"],
    ["OBJECT", "ENCODING", "f"],
    ["GET", "f"],
    ["SET", "foo", "1"],
    ["APPEND", "foo", "2"],
    ["SET", "foo", "12"],
    ["OBJECT", "ENCODING", "foo"],
    ["APPEND", "foo", "3"],
    ["RENAME", "foo", "bar"],
    ["OBJECT", "ENCODING", "bar"],
    ["COPY", "bar", "baz"],
    ["OBJECT", "ENCODING", "baz"],
    ["SET", "long", "x".repeat(45)],
    ["OBJECT", "ENCODING", "long"],
    ["SET", "short", "x".repeat(44)],
    ["OBJECT", "ENCODING", "short"],
    ["OBJECT", "REFCOUNT", "short"],
    ["SET", "n", "5"],
    ["OBJECT", "REFCOUNT", "n"],
    ["APPEND", "n", ""],
    ["OBJECT", "ENCODING", "n"],
    ["OBJECT", "REFCOUNT", "n"],
    ["INCRBYFLOAT", "n", "1"],
    ["OBJECT", "REFCOUNT", "n"],
    ["INCR", "n"],
    ["OBJECT", "REFCOUNT", "n"],
    ["OBJECT", "ENCODING", "n"],
    ["OBJECT", "ENCODING", "missing"],
  ];
  for (const s of steps) await same(...s);
});

test("OBJECT ENCODING is raw after SETBIT, BITFIELD and BITOP, and MOVE keeps it, as in Redis", async () => {
  const steps: string[][] = [
    ["SET", "enc:b", "12"],
    ["SETBIT", "enc:b", "1", "1"],
    ["OBJECT", "ENCODING", "enc:b"],
    ["SETBIT", "enc:new", "3", "1"],
    ["OBJECT", "ENCODING", "enc:new"],
    ["SET", "enc:f", "7"],
    ["BITFIELD", "enc:f", "SET", "u8", "0", "55"],
    ["OBJECT", "ENCODING", "enc:f"],
    ["SET", "enc:s", "x"],
    ["BITOP", "OR", "enc:o", "enc:s"],
    ["OBJECT", "ENCODING", "enc:o"],
    ["SET", "enc:m", "hello"],
    ["APPEND", "enc:m", "!"],
    ["MOVE", "enc:m", "3"],
    ["SELECT", "3"],
    ["OBJECT", "ENCODING", "enc:m"],
    ["SELECT", "0"],
  ];
  for (const s of steps) await same(...s);
});

test("CONFIG GET with globs, several patterns and aliases, like Redis", async () => {
  for (const p of ["hash-max-*", "slowlog-*", "hz", "maxmemory-policy", "nosuch*"]) {
    const [a, b] = await both("CONFIG", "GET", p);
    const pairs = (s: string) => s.split("\r\n").filter((l) => !/^[*$]/.test(l) && l !== "");
    const names = (s: string) =>
      pairs(s)
        .filter((_, i) => i % 2 === 0)
        .sort();
    expect(names(a)).toEqual(names(b));
  }
  const all = (await ours.send(resp("CONFIG", "GET", "*"))).toString();
  for (const name of ["timeout", "maxclients", "proto-max-bulk-len", "databases", "num_shards"])
    expect(all).toContain(`\r\n${name}\r\n`);
});

test("CONFIG SET of several parameters is all or nothing, with Redis's error texts", async () => {
  await same("CONFIG", "SET", "hz", "20");
  await same("CONFIG", "SET", "hz", "30", "foo", "1");
  await same("CONFIG", "SET", "hz", "40", "hz", "50");
  await same("CONFIG", "SET", "hz", "40", "activerehashing", "maybe");
  await same("CONFIG", "GET", "hz");
  await same("CONFIG", "SET", "hash-max-listpack-entries", "-1");
  await same("CONFIG", "SET", "hash-max-ziplist-entries", "5", "hash-max-listpack-entries", "6");
  await same("CONFIG", "SET", "maxmemory-policy", "foo");
  await same("CONFIG", "SET", "list-max-listpack-size", "-2", "zset-max-ziplist-entries", "0");
  await same("CONFIG", "GET", "zset-max-listpack-entries");
  await same("CONFIG", "SET", "slowlog-max-len", "abc");
  await same("CONFIG", "SET", "hz");
  await same("CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0");
  await same("CONFIG", "GET", "latency-tracking-info-percentiles");
  await same("CONFIG", "SET", "daemonize", "yes");
  await same("CONFIG", "SET", "proto-max-bulk-len", "1mb");
  await same("CONFIG", "GET", "proto-max-bulk-len");
  await same("CONFIG", "SET", "proto-max-bulk-len", "512mb");
  await same("CONFIG", "RESETSTAT");
  await same("CONFIG", "HELP");
  await same("CONFIG", "GET");
  await same("CONFIG", "SET", "hz", "10", "maxclients");
  await same("CONFIG", "NOSUCH");
});

test("HELP of PUBSUB, ACL, SLOWLOG, CLIENT and COMMAND: Redis's text as status lines", async () => {
  await same("PUBSUB", "HELP");
  await same("ACL", "HELP");
  await same("SLOWLOG", "HELP");
  // CLIENT and COMMAND leave out the one subcommand each that is not served here (UNBLOCK,
  // GETKEYSANDFLAGS) and CLIENT follows Redis 8's list: the head line and the footer match.
  for (const container of ["CLIENT", "COMMAND"]) {
    const raw = (await ours.send(resp(container, "HELP"))).toString("latin1");
    const lines = raw.split("\r\n");
    expect(lines[0]).toMatch(/^\*\d+$/);
    expect(lines[1]).toBe(`+${container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
    expect(raw).toEndWith("+HELP\r\n+    Prints this help.\r\n");
    expect(raw).not.toContain("$");
  }
});

test("CONFIG SET takes effect: slowlog and hash encoding limits", async () => {
  await same("CONFIG", "SET", "slowlog-max-len", "7", "hash-max-listpack-entries", "2");
  expect(server.handle.context.stats.slowlog.maxLen).toBe(7);
  await same("DEL", "h");
  await same("HSET", "h", "a", "1", "b", "2", "c", "3");
  await same("OBJECT", "ENCODING", "h");
  await same("CONFIG", "SET", "hash-max-listpack-entries", "128", "slowlog-max-len", "128");
});

test("MEMORY USAGE is an estimate for keys that exist, nil otherwise, with Redis's argument errors", async () => {
  await same("SET", "m", "bar");
  await same("MEMORY", "USAGE", "m");
  await same("SET", "m", "12345");
  await same("MEMORY", "USAGE", "m");
  await same("SET", "m", "a".repeat(100));
  await same("MEMORY", "USAGE", "m");
  await same("MEMORY", "USAGE", "missing");
  await same("MEMORY", "USAGE", "m", "SAMPLES", "-1");
  await same("MEMORY", "USAGE", "m", "SAMPLES", "x");
  await same("MEMORY", "USAGE", "m", "bar");
  await same("MEMORY", "HELP");
  await same("DEL", "h");
  await same("HSET", "h", "a", "1", "b", "2");
  const usage = Number(
    (await ours.send(resp("MEMORY", "USAGE", "h", "SAMPLES", "0"))).toString().slice(1),
  );
  expect(usage).toBeGreaterThan(0);
  expect((await ours.send(resp("MEMORY", "STATS"))).toString()).toContain("peak.allocated");
  expect((await ours.send(resp("MEMORY", "DOCTOR"))).toString()).toContain("Sam");
});

test("GETRANGE follows Redis 8: an end before the first byte selects nothing", async () => {
  await ours.send(resp("SET", "mykey", "Hello World"));
  const cases: [string, string, string][] = [
    ["0", "-100", ""],
    ["1", "-100", ""],
    ["-1", "-100", ""],
    ["-100", "-99", ""],
    ["-100", "-100", ""],
    ["-100", "-101", ""],
    ["0", "-9223372036854775808", ""],
    ["-5000", "10000", "Hello World"],
    ["-12", "0", "H"],
    ["0", "-1", "Hello World"],
  ];
  for (const [start, end, want] of cases) {
    const got = (await ours.send(resp("GETRANGE", "mykey", start, end))).toString();
    expect(`${start} ${end}: ${got}`).toBe(`${start} ${end}: $${want.length}\r\n${want}\r\n`);
  }
});

async function rawBoth(bytes: string): Promise<[string, string]> {
  const send = async (target: { port: number } | { unix: string }) => {
    const c = await RawClient.connect(target);
    try {
      return (await c.send(bytes)).toString("latin1");
    } finally {
      c.close();
    }
  };
  return [await send({ port: server.port }), await send({ unix: redis.socket })];
}

test("protocol errors match Redis byte for byte", async () => {
  const inputs = [
    "*3000000000\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
    "*1\r\nfoo\r\n",
    'set """test-key""" test-value\r\n',
    "*-10\r\nPING\r\n",
  ];
  for (const input of inputs) {
    const [a, b] = await rawBoth(input);
    expect(`${JSON.stringify(input)} -> ${a}`).toBe(`${JSON.stringify(input)} -> ${b}`);
  }
});

test("CONFIG REWRITE writes changed parameters back to the file, comments kept, or refuses clearly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "blobasaur-compat-rewrite-"));
  const path = join(dir, "c.toml");
  const original = `# my server\ndata_dir = "${dir}"\nnum_shards = 1\n# clients\nmaxclients = 100 # keep me\n`;
  writeFileSync(path, original);
  try {
    await using s = await startTestServer({ sourcePath: path });
    const c = await RawClient.connect({ port: s.port });
    const say = async (...args: string[]) => (await c.send(resp(...args))).toString();
    expect(await say("CONFIG", "REWRITE")).toBe("+OK\r\n");
    expect(readFileSync(path, "utf8")).toBe(original);
    expect(await say("CONFIG", "SET", "maxclients", "50", "timeout", "30", "hz", "20")).toBe(
      "+OK\r\n",
    );
    expect(await say("CONFIG", "REWRITE")).toBe("+OK\r\n");
    expect(readFileSync(path, "utf8")).toBe(
      `# my server\ndata_dir = "${dir}"\nnum_shards = 1\n# clients\nmaxclients = 50 # keep me\ntimeout = 30\n`,
    );
    expect(await say("CONFIG", "SET", "slowlog-max-len", "5")).toBe("+OK\r\n");
    const refused = await say("CONFIG", "REWRITE");
    expect(refused).toStartWith(
      "-ERR Rewriting config file: 'slowlog-max-len' changed at run time",
    );
    expect(refused).toContain("nothing was written");
    c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await same("CONFIG", "REWRITE");
});

test("INFO reports hz and maxclients as CONFIG SET left them", async () => {
  const info = async () => (await ours.send(resp("INFO", "everything"))).toString();
  await same("CONFIG", "SET", "hz", "25", "maxclients", "321");
  expect(await info()).toContain("\r\nhz:25\r\n");
  expect(await info()).toContain("\r\nconfigured_hz:25\r\n");
  expect(await info()).toContain("\r\nmaxclients:321\r\n");
  await same("CONFIG", "SET", "hz", "10", "maxclients", "10000");
});

test("MEMORY USAGE samples a large hash: SAMPLES 0 reads every field, and more fields cost more", async () => {
  await same("CONFIG", "SET", "hash-max-listpack-entries", "2");
  try {
    await ours.send(resp("DEL", "big"));
    await ours.send(resp("HSET", "big", "a", "1", "b", "2", "c", "3"));
    expect((await ours.send(resp("OBJECT", "ENCODING", "big"))).toString()).toBe(
      "$9\r\nhashtable\r\n",
    );
    const usage = async (...extra: string[]) =>
      Number((await ours.send(resp("MEMORY", "USAGE", "big", ...extra))).toString().slice(1));
    const small = await usage("SAMPLES", "0");
    expect(small).toBeGreaterThan(0);
    const fields: string[] = [];
    for (let i = 0; i < 200; i++) fields.push(`f${i}`, "x".repeat(100));
    await ours.send(resp("HSET", "big", ...fields));
    // The default 5 samples are the oldest fields (a, b, c, f0, f1): an estimate, like Redis's.
    expect(await usage()).toBeGreaterThan(small);
    expect(await usage("SAMPLES", "0")).toBeGreaterThan(small + 200 * 100);
  } finally {
    await same("CONFIG", "SET", "hash-max-listpack-entries", "128");
  }
});

test("the accepted knobs check their values like Redis (integers, memory values, yes/no, enums)", async () => {
  const knobs = [
    "hz",
    "list-max-listpack-size",
    "list-compress-depth",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "stream-node-max-entries",
    "stream-node-max-bytes",
    "hll-sparse-max-bytes",
    "active-expire-effort",
    "tcp-keepalive",
    "maxmemory-samples",
    "lfu-log-factor",
    "lfu-decay-time",
    "lua-time-limit",
    "latency-monitor-threshold",
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "repl-backlog-ttl",
    "repl-timeout",
    "tracking-table-max-keys",
    "slowlog-max-len",
    "slowlog-log-slower-than",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
  ];
  const values = ["-99999999999999999999", "99999999999999999999", "-9999999999", "abc", "1kb"];
  for (const k of knobs) for (const v of values) await same("CONFIG", "SET", k, v);
  for (const [k, v] of [
    ["hz", "0"],
    ["hz", "600"],
    ["list-max-listpack-size", "-6"],
    ["stream-node-max-bytes", "4KB"],
    ["activerehashing", "maybe"],
    ["activerehashing", "NO"],
    ["lazyfree-lazy-expire", "yes"],
    ["maxmemory-policy", "ALLKEYS-LRU"],
    ["latency-tracking-info-percentiles", "10.0 50.0 a"],
    ["latency-tracking-info-percentiles", "10.0 50.0 101.0"],
    ["latency-tracking-info-percentiles", ""],
  ] as const) {
    await same("CONFIG", "SET", k, v);
    await same("CONFIG", "GET", k);
  }
  // Back to the defaults both servers started with.
  await same(
    "CONFIG",
    "SET",
    "hz",
    "10",
    "list-max-listpack-size",
    "-2",
    "activerehashing",
    "yes",
    "lazyfree-lazy-expire",
    "no",
    "maxmemory-policy",
    "noeviction",
    "latency-tracking-info-percentiles",
    "50 99 99.9",
    "stream-node-max-bytes",
    "4096",
    "slowlog-max-len",
    "128",
    "slowlog-log-slower-than",
    "10000",
    "hash-max-listpack-value",
    "64",
  );
});
