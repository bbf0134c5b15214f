/**
 * Hash commands byte for byte against a real Redis 7.0 (for commands it has). A hash is one
 * Redis key, kept in insertion order like Redis's listpack, so replies of small hashes match
 * Redis exactly, order included. Once a hash outgrows the listpack (more than 128 fields, or
 * a field or value over 64 bytes) Redis's hashtable order is arbitrary: those replies are
 * compared as sorted sets of elements, and our insertion order is checked on its own.
 */
import { expect, test } from "bun:test";
import { parityPair } from "../helpers/parity-pair.ts";
import type { RawClient } from "../helpers/redis-ref.ts";

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
    "HGETALL, HKEYS and HVALS reply in insertion order, like Redis's listpack",
    [
      ["HSET", "all", "f1", "v1", "f2", "v2", "f3", "v3", "f4", "v4", "f5", "v5"],
      ["HGETALL", "all"],
      ["HKEYS", "all"],
      ["HVALS", "all"],
      ["HGETALL", "nothere"],
      ["HKEYS", "nothere"],
      ["HVALS", "nothere"],
      ["HGETALL", "all", "extra"],
    ],
  ],
  [
    "field order: insertion order, an overwrite keeps its place, a re-added field moves last",
    [
      ["HSET", "object", "foo1", "a"],
      ["HSET", "object", "foo2", "b"],
      ["HSET", "object", "foo3", "c"],
      ["HKEYS", "object"],
      ["HSET", "object", "foo1", "A"],
      ["HINCRBY", "object", "n", "1"],
      ["HKEYS", "object"],
      ["HDEL", "object", "foo2"],
      ["HSETNX", "object", "foo2", "B"],
      ["HGETALL", "object"],
      ["HVALS", "object"],
    ],
  ],
  [
    "hash keys are any bytes: colons, spaces, binary and the empty key",
    [
      ["HSET", "user:1001", "name", "Ada", "email", "ada@example.com"],
      ["HGETALL", "user:1001"],
      ["HSET", "a b:c{d}", "f", "v"],
      ["HGET", "a b:c{d}", "f"],
      ["HSET", bin, "f", "v"],
      ["HGETALL", bin],
      ["HSET", "", "f", "v"],
      ["HLEN", ""],
      ["HGET", "User:1001", "name"],
    ],
  ],
  [
    "hash commands on a string key reply WRONGTYPE, after Redis's own argument checks",
    [
      ["SET", "s", "v"],
      ["HSET", "s", "f", "v"],
      ["HSET", "s", "f"],
      ["HMSET", "s", "f", "v"],
      ["HSETNX", "s", "f", "v"],
      ["HGET", "s", "f"],
      ["HMGET", "s", "f", "g"],
      ["HDEL", "s", "f"],
      ["HEXISTS", "s", "f"],
      ["HLEN", "s"],
      ["HSTRLEN", "s", "f"],
      ["HGETALL", "s"],
      ["HKEYS", "s"],
      ["HVALS", "s"],
      ["HINCRBY", "s", "f", "x"],
      ["HINCRBY", "s", "f", "1"],
      ["HINCRBYFLOAT", "s", "f", "x"],
      ["HINCRBYFLOAT", "s", "f", "1"],
      ["HSCAN", "s", "x"],
      ["HSCAN", "s", "0"],
      ["HRANDFIELD", "s"],
      ["HRANDFIELD", "s", "x"],
      ["HRANDFIELD", "s", "2", "BAD"],
      ["HRANDFIELD", "s", "2"],
      ["GET", "s"],
    ],
  ],
  [
    "a hash whose last field is deleted stops existing; HSET then starts a new one",
    [
      ["HSET", "h", "a", "1", "b", "2"],
      ["HDEL", "h", "a", "b"],
      ["HLEN", "h"],
      ["HGETALL", "h"],
      ["HSCAN", "h", "0"],
      ["HSET", "h", "c", "3"],
      ["HGETALL", "h"],
    ],
  ],
  [
    "HSCAN of a small hash returns everything with cursor 0, whatever COUNT and cursor",
    [
      ["HSET", "sc", "f1", "a", "f2", "b", "g1", "c", "f10", "d"],
      ["HSCAN", "sc", "0"],
      ["HSCAN", "sc", "0", "COUNT", "1"],
      ["HSCAN", "sc", "0", "MATCH", "f1*"],
      ["HSCAN", "sc", "0", "MATCH", "*", "COUNT", "2"],
      ["HSCAN", "sc", "12345"],
      ["HSCAN", "sc", "18446744073709551615"],
      ["HSCAN", "sc", "18446744073709551616"],
      ["HSCAN", "sc", "0", "COUNT", "0"],
      ["HSCAN", "sc", "0", "COUNT", "x"],
      ["HSCAN", "sc", "0", "TYPE", "hash"],
      ["HSCAN", "sc", "0", "MATCH"],
      ["HSCAN", "nothere", "0"],
      ["HSCAN", "nothere", "0", "COUNT", "0"],
      ["HSCAN", "nothere", "x"],
    ],
  ],
  [
    "HRANDFIELD: whole-hash counts, zero, missing keys and errors reply like Redis",
    [
      ["HSET", "r", "a", "1", "b", "2", "c", "3"],
      ["HRANDFIELD", "r", "3"],
      ["HRANDFIELD", "r", "10", "WITHVALUES"],
      ["HRANDFIELD", "r", "10", "withvalues"],
      ["HRANDFIELD", "r", "0"],
      ["HRANDFIELD", "r", "0", "WITHVALUES"],
      ["HRANDFIELD", "nothere"],
      ["HRANDFIELD", "nothere", "5"],
      ["HRANDFIELD", "nothere", "-5", "WITHVALUES"],
      ["HRANDFIELD", "r", "x"],
      ["HRANDFIELD", "r", "1.5"],
      ["HRANDFIELD", "r", "2", "WITHSCORES"],
      ["HRANDFIELD", "r", "2", "WITHVALUES", "x"],
      ["HRANDFIELD", "r", "-9223372036854775808"],
      ["HRANDFIELD", "r", "9223372036854775807", "WITHVALUES"],
      ["HRANDFIELD", "r", "-4611686018427387904", "WITHVALUES"],
      ["HRANDFIELD", "nothere", "x"],
      ["HSET", "one", "only", "v"],
      ["HRANDFIELD", "one"],
      ["HRANDFIELD", "one", "-3"],
      ["HRANDFIELD", "one", "-2", "WITHVALUES"],
      ["HRANDFIELD", "one", "1", "WITHVALUES"],
    ],
  ],
  [
    "values over 64 bytes convert the hash: same elements as Redis's, HGET and HSTRLEN exact",
    [
      ["HSET", "lv", "small", "x", "other", "y"],
      ["HSET", "lv", "big", "v".repeat(65)],
      ["HGET", "lv", "big"],
      ["HSTRLEN", "lv", "big"],
      ["HLEN", "lv"],
      { unordered: ["HGETALL", "lv"] },
      { unordered: ["HKEYS", "lv"] },
      ["HSET", "lf", "f".repeat(65), "v"],
      ["HGET", "lf", "f".repeat(65)],
      ["HDEL", "lv", "small", "other", "big"],
      ["HLEN", "lv"],
      ["HGETALL", "lv"],
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

let ours: RawClient;
let theirs: RawClient;

parityPair((pair) => {
  ({ ours, theirs } = pair);
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

test("a hash grown past 128 fields keeps insertion order here and holds Redis's elements", async () => {
  await ours.command("FLUSHALL");
  await theirs.command("FLUSHALL");
  const fields = Array.from({ length: 200 }, (_, i) => `field${(i * 7919) % 1000}`);
  for (const [i, f] of fields.entries()) {
    // One field per command, so the hash converts while it grows, as Redis's does.
    const [a, b] = await Promise.all([
      ours.command("HSET", "grow", f, `v${i}`),
      theirs.command("HSET", "grow", f, `v${i}`),
    ]);
    expect(a.toString()).toBe(b.toString());
  }
  for (const cmd of [
    ["HLEN", "grow"],
    ["HGET", "grow", fields[150]!],
    ["HSTRLEN", "grow", fields[3]!],
  ]) {
    const [a, b] = await Promise.all([ours.command(...cmd), theirs.command(...cmd)]);
    expect(a.toString()).toBe(b.toString());
  }
  for (const cmd of [
    ["HKEYS", "grow"],
    ["HVALS", "grow"],
    ["HGETALL", "grow"],
  ]) {
    const [a, b] = await Promise.all([ours.command(...cmd), theirs.command(...cmd)]);
    expect(sortedElements(a)).toEqual(sortedElements(b));
  }
  const keys = await ours.command("HKEYS", "grow");
  expect(keys.toString()).toBe(`*200\r\n${fields.map((f) => `$${f.length}\r\n${f}\r\n`).join("")}`);
  // HSCAN pages a large hash: every field exactly once, in insertion order here.
  const seen: string[] = [];
  let cursor = "0";
  let rounds = 0;
  do {
    const reply = (await ours.command("HSCAN", "grow", cursor, "COUNT", "30")).toString();
    const lines = reply.split("\r\n");
    cursor = lines[2]!;
    for (let i = 5; i < lines.length - 1; i += 4) seen.push(lines[i]!);
    rounds++;
  } while (cursor !== "0");
  expect(rounds).toBeGreaterThan(1);
  expect(seen).toEqual(fields);
});
