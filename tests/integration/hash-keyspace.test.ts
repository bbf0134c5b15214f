/**
 * Hashes are Redis keys: the generic key commands (TYPE, EXISTS, DEL, UNLINK, EXPIRE, TTL,
 * KEYS, DBSIZE, OBJECT ENCODING) and the string commands see them exactly as Redis does,
 * checked byte for byte against a real Redis 7.0. These commands live in generic.ts and
 * string.ts; the hash side of the contract (a hash appears with its first field and
 * disappears with its last) is what this file pins down.
 */
import { expect, test } from "bun:test";
import { parityPair } from "../helpers/parity-pair.ts";
import type { RawClient } from "../helpers/redis-ref.ts";

type Step = (string | Uint8Array)[];

const scripts: [string, Step[]][] = [
  [
    "TYPE, EXISTS, DEL and UNLINK see hashes as keys",
    [
      ["HSET", "user:1001", "name", "Ada"],
      ["TYPE", "user:1001"],
      ["EXISTS", "user:1001"],
      ["EXISTS", "user:1001", "user:1001", "nothere"],
      ["SET", "plain", "v"],
      ["TYPE", "plain"],
      ["DEL", "user:1001", "plain", "nothere"],
      ["TYPE", "user:1001"],
      ["EXISTS", "user:1001"],
      ["HGET", "user:1001", "name"],
      ["HSET", "user:1002", "a", "1", "b", "2"],
      ["UNLINK", "user:1002"],
      ["HLEN", "user:1002"],
    ],
  ],
  [
    "a hash stops existing with its last field",
    [
      ["HSET", "h", "a", "1"],
      ["EXISTS", "h"],
      ["HDEL", "h", "a"],
      ["EXISTS", "h"],
      ["TYPE", "h"],
      ["HSET", "h", "b", "2"],
      ["HGETDEL", "h", "FIELDS", "1", "b"],
      ["EXISTS", "h"],
      ["DBSIZE"],
    ],
  ],
  [
    "SET replaces a hash; string commands on a hash reply WRONGTYPE",
    [
      ["HSET", "h", "f", "v"],
      ["GET", "h"],
      ["APPEND", "h", "x"],
      ["INCR", "h"],
      ["STRLEN", "h"],
      ["GETRANGE", "h", "0", "1"],
      ["SETNX", "h", "v"],
      ["MGET", "h", "nothere"],
      ["TYPE", "h"],
      ["SET", "h", "now a string"],
      ["TYPE", "h"],
      ["GET", "h"],
      ["HGET", "h", "f"],
      ["HSET", "big", "f", "v".repeat(100)],
      ["SET", "big", "small"],
      ["GET", "big"],
      ["HLEN", "big"],
    ],
  ],
  [
    "a hash key's own TTL: EXPIRE, TTL and PERSIST, kept across field writes",
    [
      ["HSET", "t", "a", "1"],
      ["EXPIRE", "t", "100"],
      ["TTL", "t"],
      ["HSET", "t", "b", "2"],
      ["TTL", "t"],
      ["HDEL", "t", "a"],
      ["TTL", "t"],
      ["PERSIST", "t"],
      ["TTL", "t"],
      ["TTL", "nothere"],
    ],
  ],
  [
    "OBJECT ENCODING follows Redis's listpack limits",
    [
      ["HSET", "e", "f", "v"],
      ["OBJECT", "ENCODING", "e"],
      ["HSET", "e", "long", "v".repeat(65)],
      ["OBJECT", "ENCODING", "e"],
      ["HDEL", "e", "long"],
      ["OBJECT", "ENCODING", "e"],
    ],
  ],
  [
    "KEYS and DBSIZE count hashes once, whatever their field count",
    [
      ["HSET", "k:1", ...Array.from({ length: 300 }, (_, i) => [`f${i}`, "v"]).flat()],
      ["HSET", "k:2", "f", "v"],
      ["SET", "k:3", "v"],
      ["DBSIZE"],
      ["KEYS", "k:[12]"],
    ],
  ],
];

let ours: RawClient;
let theirs: RawClient;

parityPair((pair) => {
  ({ ours, theirs } = pair);
});

/** Redis 7.0 lacks HGETDEL (8.0): its step is checked against Redis 8's documented reply. */
const REDIS_8_ONLY = new Set(["HGETDEL"]);

for (const [name, steps] of scripts) {
  test(name, async () => {
    await ours.command("FLUSHALL");
    await theirs.command("FLUSHALL");
    const got: string[] = [];
    const want: string[] = [];
    for (const cmd of steps) {
      const what = cmd
        .map((x) => (typeof x === "string" ? x : "<bin>"))
        .join(" ")
        .slice(0, 80);
      if (REDIS_8_ONLY.has(String(cmd[0]))) {
        const a = await ours.command(...cmd);
        // HGETDEL h FIELDS 1 b on a one-field hash: the value, and the hash is gone.
        expect(a.toString()).toBe("*1\r\n$1\r\n2\r\n");
        await theirs.command("HDEL", String(cmd[1]), ...cmd.slice(4));
        continue;
      }
      const [a, b] = await Promise.all([ours.command(...cmd), theirs.command(...cmd)]);
      let mine = a.toString("latin1");
      let theirsText = b.toString("latin1");
      if (cmd[0] === "KEYS") {
        // KEYS order is undefined in Redis; compare the sets.
        mine = mine.split("\r\n").slice(1).sort().join(",");
        theirsText = theirsText.split("\r\n").slice(1).sort().join(",");
      }
      got.push(`${what} -> ${JSON.stringify(mine)}`);
      want.push(`${what} -> ${JSON.stringify(theirsText)}`);
    }
    expect(got).toEqual(want);
  });
}
