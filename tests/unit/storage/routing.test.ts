/**
 * src/storage/engine/routing.ts: key → shard. Checks the pinned mapping (the on-disk contract), balance
 * for every shard count 2..64, consistent-hashing movement when a shard is added, and input
 * validation. Balance covers 200,000 keys at each of 63 shard counts; shardsByCount keeps that
 * fast, and the text keys' shards are computed once for the range and balance tests.
 */
import { expect, spyOn, test } from "bun:test";
import { createRouter } from "../../../src/storage/engine/routing.ts";

const KEY_COUNT = 200_000;
const MAX_SHARDS = 64;
const encoder = new TextEncoder();

/** Deterministic generator (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const textKeys = Array.from({ length: KEY_COUNT }, (_, i) => encoder.encode(`key:${i}`));

function randomBinaryKeys(count: number, seed: number): Uint8Array[] {
  const next = rng(seed);
  return Array.from({ length: count }, () => {
    const key = new Uint8Array(8 + (next() % 57)); // 8..64 bytes
    for (let i = 0; i < key.length; i++) key[i] = next() & 0xff;
    return key;
  });
}

/**
 * shards[n][i] = shard of keys[i] with n shards, for n = 1..MAX_SHARDS + 1, using ~5 lookups per
 * key instead of 65. Adding a shard only ever moves keys onto it (checked directly by the movement
 * test), so a key at shard s with `top` shards is at s for every count in (s, top], and below
 * that at whatever shard it had with s shards. Each key is also routed directly at one count
 * (spread over 2..65) to check the derived shards.
 */
function shardsByCount(keys: readonly Uint8Array[]): Uint8Array[] {
  const routers = Array.from({ length: MAX_SHARDS + 2 }, (_, n) => createRouter(Math.max(n, 1)));
  const shards = routers.map(() => new Uint8Array(keys.length)); // count 1: all zero
  keys.forEach((key, i) => {
    for (let top = MAX_SHARDS + 1, s = 0; top > 1; top = s) {
      s = routers[top]!.shardOf(key);
      if (!(s >= 0 && s < top)) throw new Error(`key ${i}: shard ${s} out of range for N=${top}`);
      for (let n = s + 1; n <= top; n++) shards[n]![i] = s;
    }
    const n = 2 + (i % MAX_SHARDS);
    const direct = routers[n]!.shardOf(key);
    if (direct !== shards[n]![i]) throw new Error(`key ${i}: derived shard wrong at N=${n}`);
  });
  return shards;
}

let textShardsMemo: Uint8Array[] | undefined;
const textShards = () => {
  textShardsMemo ??= shardsByCount(textKeys);
  return textShardsMemo;
};

function fullestOverMean(shards: Uint8Array, n: number): number {
  const counts = new Array<number>(n).fill(0);
  for (const shard of shards) counts[shard]!++;
  return Math.max(...counts) / (shards.length / n);
}

const BINARY_KEY = Uint8Array.from([0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe, 0x00, 0x00]);
const LONG_KEY = Uint8Array.from({ length: 64 }, (_, i) => (i * 31 + 7) & 0xff);

// Changing these values means the algorithm changed: keys already stored would route to another
// shard and become unreachable. Do not update them to make the test pass; keep the old mapping.
const PINNED: ReadonlyArray<[string, Uint8Array, { 4: number; 8: number; 16: number }]> = [
  ["empty key", new Uint8Array(0), { 4: 2, 8: 2, 16: 2 }],
  ["key:0", encoder.encode("key:0"), { 4: 0, 8: 4, 16: 13 }],
  ["user:1001", encoder.encode("user:1001"), { 4: 3, 8: 3, 16: 3 }],
  ["UTF-8 key", encoder.encode("héllo wörld 🦖"), { 4: 1, 8: 7, 16: 7 }],
  ["binary key", BINARY_KEY, { 4: 2, 8: 2, 16: 11 }],
  ["64-byte key", LONG_KEY, { 4: 0, 8: 4, 16: 4 }],
  ["session:7f3a9c", encoder.encode("session:7f3a9c"), { 4: 0, 8: 0, 16: 13 }],
  ["blob path", encoder.encode("blob/2024/06/01/a.png"), { 4: 2, 8: 2, 16: 14 }],
];

test("pinned keys route to the same shards as when data was first written", () => {
  for (const n of [4, 8, 16] as const) {
    const router = createRouter(n);
    const got = PINNED.map(([name, key]) => [name, router.shardOf(key)]);
    expect(got).toEqual(PINNED.map(([name, , want]) => [name, want[n]]));
  }
});

test("a key inside a larger buffer routes like the same bytes on their own", () => {
  const router = createRouter(16);
  const buffer = encoder.encode("xxhéllo wörld 🦖yy");
  const view = buffer.subarray(2, buffer.length - 2);
  expect(router.shardOf(view)).toBe(router.shardOf(encoder.encode("héllo wörld 🦖")));
});

test("routers for the same shard count agree and do not affect each other", () => {
  const a = createRouter(7);
  const b = createRouter(7);
  createRouter(64).shardOf(textKeys[1]!);
  for (const key of textKeys.slice(0, 1000)) expect(b.shardOf(key)).toBe(a.shardOf(key));
});

test("a single shard gets every key without hashing it", () => {
  const wyhash = spyOn(Bun.hash, "wyhash");
  try {
    const one = createRouter(1);
    expect(one.shardCount).toBe(1);
    for (const key of PINNED.map(([, k]) => k)) expect(one.shardOf(key)).toBe(0);
    expect(wyhash).not.toHaveBeenCalled();
    createRouter(2).shardOf(textKeys[0]!);
    expect(wyhash).toHaveBeenCalled(); // the spy does see the hashing path
  } finally {
    wyhash.mockRestore();
  }
});

test("shard counts that are not positive integers are rejected with a RangeError", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(() => createRouter(bad)).toThrow(RangeError);
  }
  expect(createRouter(3).shardCount).toBe(3);
});

test("every shard index returned is within range", () => {
  const all = textShards();
  for (let n = 1; n <= MAX_SHARDS + 1; n++) {
    let max = 0;
    for (const shard of all[n]!) max = Math.max(max, shard);
    expect(max).toBe(n - 1); // in range, and the last shard is used
  }
});

test("the fullest shard holds at most 1.10 × the mean of key:<i> keys for every N from 2 to 64", () => {
  const all = textShards();
  const over: string[] = [];
  for (let n = 2; n <= MAX_SHARDS; n++) {
    const ratio = fullestOverMean(all[n]!, n);
    if (ratio > 1.1) over.push(`N=${n}: ${ratio.toFixed(3)}`);
  }
  expect(over).toEqual([]);
});

test("the fullest shard holds at most 1.10 × the mean of random binary keys for every N", () => {
  const all = shardsByCount(randomBinaryKeys(KEY_COUNT, 20240601));
  const over: string[] = [];
  for (let n = 2; n <= MAX_SHARDS; n++) {
    const ratio = fullestOverMean(all[n]!, n);
    if (ratio > 1.1) over.push(`N=${n}: ${ratio.toFixed(3)}`);
  }
  expect(over).toEqual([]);
});

test("adding a shard moves keys only onto the new shard, about 1/(N+1) of them", () => {
  const keys = textKeys.slice(0, 20_000);
  const problems: string[] = [];
  let before = keys.map(() => 0);
  for (let n = 1; n <= MAX_SHARDS; n++) {
    const router = createRouter(n + 1);
    const after = keys.map((key) => router.shardOf(key));
    let moved = 0;
    let elsewhere = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      if (after[i] !== n) elsewhere++;
    }
    const share = (moved / keys.length) * (n + 1); // 1.0 = exactly 1/(N+1)
    const step = `${n}→${n + 1}`;
    if (elsewhere > 0) problems.push(`${step}: ${elsewhere} keys moved between old shards`);
    if (share < 0.75 || share > 1.25) problems.push(`${step}: moved ${share.toFixed(3)}/(N+1)`);
    before = after;
  }
  expect(problems).toEqual([]);
});
