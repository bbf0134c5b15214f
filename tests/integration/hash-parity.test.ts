/**
 * Hash commands byte for byte against a real Redis 7.0 (for commands it has), with namespace
 * names valid here ([A-Za-z0-9_]+). Replies whose order Redis does not define across our
 * shards (HGETALL, HKEYS, HVALS) are compared as sorted sets of elements.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Step = (string | Uint8Array)[] | { unordered: (string | Uint8Array)[] };

const bin = Buffer.from([0, 255, 13, 10, 7]);

const scripts: [string, Step[]][] = [
  [
    "HSET, HGET, HDEL, HEXISTS, HLEN and HSTRLEN reply like Redis",
    [
      ["HSET", "h", "a", "1"],
      ["HSET", "h", "a", "2", "b", "3", "c", ""],
      ["HSET", "h", "a"],
      ["HSET", "h"],
      ["HGET", "h", "a"],
      ["HGET", "h", "missing"],
      ["HGET", "nothere", "a"],
      ["HEXISTS", "h", "b"],
      ["HEXISTS", "h", "zz"],
      ["HEXISTS", "nothere", "zz"],
      ["HLEN", "h"],
      ["HLEN", "nothere"],
      ["HSTRLEN", "h", "a"],
      ["HSTRLEN", "h", "c"],
      ["HSTRLEN", "h", "zz"],
      ["HDEL", "h", "a", "a", "zz"],
      ["HDEL", "h"],
      ["HDEL", "nothere", "a"],
      ["HLEN", "h"],
      ["HGET", "h", "a"],
    ],
  ],
  [
    "HMGET, HSETNX and HMSET reply like Redis",
    [
      ["HMSET", "h", "x", "1", "y", "2"],
      ["HMSET", "h", "x"],
      ["HMGET", "h", "x", "nope", "y"],
      ["HMGET", "nothere", "x"],
      ["HMGET", "h"],
      ["HSETNX", "h", "x", "9"],
      ["HSETNX", "h", "z", "9"],
      ["HGET", "h", "z"],
      ["HSETNX", "h", "z"],
    ],
  ],
  [
    "HINCRBY and HINCRBYFLOAT reply like Redis, errors included",
    [
      ["HINCRBY", "n", "i", "5"],
      ["HINCRBY", "n", "i", "-7"],
      ["HINCRBY", "n", "i", "abc"],
      ["HINCRBY", "n", "i", "9223372036854775807"],
      ["HSET", "n", "s", "text"],
      ["HINCRBY", "n", "s", "1"],
      ["HSET", "n", "big", "9223372036854775807"],
      ["HINCRBY", "n", "big", "1"],
      ["HINCRBYFLOAT", "n", "f", "1.5"],
      ["HINCRBYFLOAT", "n", "f", "0.1"],
      ["HINCRBYFLOAT", "n", "f", "-1e3"],
      ["HINCRBYFLOAT", "n", "s", "1"],
      ["HINCRBYFLOAT", "n", "f", "nan"],
      ["HINCRBYFLOAT", "n", "f", "abc"],
      ["HINCRBYFLOAT", "n", "i", "2.5"],
      ["HGET", "n", "i"],
      ["HINCRBY", "n", "i"],
    ],
  ],
  [
    "binary and empty fields and values round-trip like Redis",
    [
      ["HSET", "b", bin, bin],
      ["HGET", "b", bin],
      ["HSET", "b", "", "empty-field"],
      ["HGET", "b", ""],
      ["HSTRLEN", "b", bin],
      ["HEXISTS", "b", ""],
      ["HDEL", "b", bin, ""],
      ["HLEN", "b"],
    ],
  ],
  [
    "HGETALL, HKEYS and HVALS hold the same elements as Redis's",
    [
      ["HSET", "all", "f1", "v1", "f2", "v2", "f3", "v3", "f4", "v4", "f5", "v5"],
      { unordered: ["HGETALL", "all"] },
      { unordered: ["HKEYS", "all"] },
      { unordered: ["HVALS", "all"] },
      ["HGETALL", "nothere"],
      ["HKEYS", "nothere"],
      ["HVALS", "nothere"],
      ["HGETALL", "all", "extra"],
    ],
  ],
];

/** The elements of a flat array reply, sorted (RESP2, bulk strings only). */
function sortedElements(reply: Buffer): string[] {
  const text = reply.toString("latin1");
  const lines = text.split("\r\n");
  const items: string[] = [];
  for (let i = 1; i < lines.length - 1; i += 2) items.push(lines[i + 1]!);
  return [`${lines[0]}`, ...items.sort()];
}

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

for (const [name, steps] of scripts) {
  test(name, async () => {
    await ours.command("FLUSHALL");
    await theirs.command("FLUSHALL");
    const got: string[] = [];
    const want: string[] = [];
    for (const step of steps) {
      const cmd = Array.isArray(step) ? step : step.unordered;
      const [a, b] = await Promise.all([ours.command(...cmd), theirs.command(...cmd)]);
      const what = cmd
        .map((x) => (typeof x === "string" ? x : `<${Buffer.from(x).toString("hex")}>`))
        .join(" ");
      if (Array.isArray(step)) {
        got.push(`${what} -> ${JSON.stringify(a.toString("latin1"))}`);
        want.push(`${what} -> ${JSON.stringify(b.toString("latin1"))}`);
      } else {
        got.push(`${what} -> ${JSON.stringify(sortedElements(a))}`);
        want.push(`${what} -> ${JSON.stringify(sortedElements(b))}`);
      }
    }
    expect(got).toEqual(want);
  });
}
