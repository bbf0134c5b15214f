/**
 * ValueCache: byte bound (one budget shared by a store's caches), write-through staging while a transaction is open (nothing a
 * transaction wrote is visible outside it before commit, nothing survives a rollback), and
 * cacheableValue (cached values never pin a larger received chunk).
 */
import { describe, expect, test } from "bun:test";
import {
  CacheBudget,
  type CachedRow,
  cacheableValue,
  ValueCache,
} from "../../../src/storage/engine/cache.ts";

const row = (text: string, expiresAt: number | null = null): CachedRow => ({
  value: new TextEncoder().encode(text),
  expiresAt,
  type: 0,
});
const text = (r: CachedRow | undefined) =>
  r === undefined ? undefined : r.value === null ? null : new TextDecoder().decode(r.value);

describe("ValueCache outside transactions", () => {
  test("set, get, delete", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.set("a", row("1"));
    expect(text(cache.get("a"))).toBe("1");
    cache.set("a", row("2"));
    expect(text(cache.get("a"))).toBe("2");
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.usedBytes).toBe(0);
  });

  test("values above the per-entry limit are not kept, and replace an older entry", () => {
    const cache = new ValueCache(1 << 20, 4);
    cache.set("a", row("1"));
    cache.set("a", row("too long"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.takes(4)).toBe(true);
    expect(cache.takes(5)).toBe(false);
  });

  test("the byte bound evicts the oldest entries", () => {
    const cache = new ValueCache(1000, 1000);
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, row("x".repeat(20)));
    expect(cache.usedBytes).toBeLessThanOrEqual(1000);
    expect(cache.get("k0")).toBeUndefined();
    expect(text(cache.get("k49"))).toBe("x".repeat(20));
  });

  test("writes fill the cache only up to the write-through size", () => {
    const cache = new ValueCache(1 << 20, 1024, 16);
    expect(cache.takesWrite(16)).toBe(true);
    expect(cache.takesWrite(17)).toBe(false);
    expect(cache.takes(17)).toBe(true);
  });

  test("overwrites do not inflate the byte count that eviction and metrics see", () => {
    const cache = new ValueCache(10_000, 1000);
    for (let i = 0; i < 1000; i++) cache.set("same", row("z".repeat(50)));
    expect(cache.size).toBe(1);
    expect(cache.usedBytes).toBeLessThan(200);
    // Nothing was evicted for the overcount: every distinct key still fits.
    for (let i = 0; i < 40; i++) cache.set(`k${i}`, row("z".repeat(50)));
    for (let i = 0; i < 1000; i++) cache.set("k0", row("z".repeat(50)));
    expect(cache.size).toBe(41);
  });

  test("overwrites near the bound leave headroom instead of recounting on every write", () => {
    const cache = new ValueCache(100_000, 1000);
    // ~99.5 % full with distinct keys (each entry: 100 B value + key + 64 B overhead).
    let n = 0;
    while (cache.usedBytes < 99_500) cache.set(`key${n++}`, row("x".repeat(100)));
    const recount = (cache as unknown as { recount(): void }).recount.bind(cache);
    let recounts = 0;
    (cache as unknown as { recount(): void }).recount = () => {
      recounts++;
      recount();
    };
    for (let i = 0; i < 10_000; i++) cache.set(`key${i % n}`, row("y".repeat(100)));
    // Each recount evicts down to 90 %, so the next one is at least 10 % of the bound away.
    expect(recounts).toBeLessThan(10_000 / 50);
    expect(cache.usedBytes).toBeLessThanOrEqual(100_000);
  });

  test("a zero-byte cache keeps nothing", () => {
    const cache = new ValueCache(0, 1024);
    cache.set("a", row("1"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.takes(1)).toBe(false);
  });
});

describe("caches sharing one budget", () => {
  // Each entry: 100 B value + 2 × 4-char key + 64 B overhead = 172 B.
  const entry = 172;
  const fill = (cache: ValueCache, prefix: string, n: number) => {
    for (let i = 0; i < n; i++)
      cache.set(`${prefix}${String(i).padStart(3, "0")}`, row("v".repeat(100)));
  };

  test("one busy cache may use the whole budget while the others are empty", () => {
    const budget = new CacheBudget(100 * entry);
    const a = new ValueCache(50 * entry, 1000, 1000, budget);
    const b = new ValueCache(50 * entry, 1000, 1000, budget);
    fill(a, "a", 95);
    expect(a.size).toBe(95);
    expect(b.size).toBe(0);
    expect(a.limitBytes).toBe(50 * entry);
    expect(budget.used).toBe(95 * entry);
  });

  test("with no reads anywhere, the largest cache gives room back, oldest entries first", () => {
    const budget = new CacheBudget(100 * entry);
    const a = new ValueCache(50 * entry, 1000, 1000, budget);
    const b = new ValueCache(50 * entry, 1000, 1000, budget);
    fill(a, "a", 100);
    fill(b, "b", 30);
    expect(b.size).toBe(30);
    expect(a.usedBytes + b.usedBytes).toBeLessThanOrEqual(100 * entry);
    expect(budget.used).toBe(a.usedBytes + b.usedBytes);
    expect(a.get("a000")).toBeUndefined();
    expect(text(a.get("a099"))).toBe("v".repeat(100));
  });

  test("without reads, the cache written least recently gives most of the room, even when smaller", () => {
    const budget = new CacheBudget(100 * entry);
    const old = new ValueCache(50 * entry, 1000, 1000, budget);
    const busy = new ValueCache(50 * entry, 1000, 1000, budget);
    fill(old, "o", 40);
    fill(busy, "b", 90);
    // A bulk load into one shard: the other's entries are older, so most room comes from them.
    expect(40 - old.size).toBeGreaterThan(2 * (90 - busy.size));
    expect(old.size).toBeLessThanOrEqual(20);
    expect(old.usedBytes + busy.usedBytes).toBeLessThanOrEqual(100 * entry);
  });

  test("a cache that is read keeps most of its entries; one nobody reads gives them up", () => {
    const budget = new CacheBudget(100 * entry);
    const hot = new ValueCache(50 * entry, 1000, 1000, budget);
    const cold = new ValueCache(50 * entry, 1000, 1000, budget);
    fill(cold, "c", 40);
    fill(hot, "h", 55);
    for (let i = 0; i < 55; i++) hot.get(`h${String(i).padStart(3, "0")}`);
    // The hot cache, already the larger, grows on: the room comes out of the cold one.
    for (let i = 55; i < 75; i++) hot.set(`h${String(i).padStart(3, "0")}`, row("v".repeat(100)));
    expect(40 - cold.size).toBeGreaterThan(2 * (75 - hot.size));
    expect(cold.size).toBeLessThan(25);
    expect(text(hot.get("h074"))).toBe("v".repeat(100));
    expect(hot.usedBytes + cold.usedBytes).toBeLessThanOrEqual(100 * entry);
  });

  test("a cache only written to (a bulk load) drops its own entries before a read one's", () => {
    const budget = new CacheBudget(100 * entry);
    const read = new ValueCache(50 * entry, 1000, 1000, budget);
    const load = new ValueCache(50 * entry, 1000, 1000, budget);
    fill(read, "r", 30);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 30; i++) read.get(`r${String(i).padStart(3, "0")}`);
      fill(load, `l${round}`, 40);
    }
    expect(read.size).toBe(30);
    expect(load.usedBytes + read.usedBytes).toBeLessThanOrEqual(100 * entry);
  });

  test("a large hash's row that is read survives eviction; one not read since goes", () => {
    const cache = new ValueCache(100 * entry, 1000);
    const hashRow = (id: number): CachedRow => ({
      value: new Uint8Array(0),
      expiresAt: null,
      type: 2,
      id,
      gen: id,
    });
    cache.set("read", hashRow(1));
    cache.set("idle", hashRow(2));
    for (let round = 0; round < 5; round++) {
      // Each round pushes the whole cache out once; the row read in between stays.
      expect(cache.get("read")?.gen).toBe(1);
      fill(cache, `r${round}`, 100);
    }
    expect(cache.get("read")?.gen).toBe(1);
    expect(cache.get("idle")).toBeUndefined();
    expect(cache.usedBytes).toBeLessThanOrEqual(100 * entry);
  });

  test("overwrites and deletes keep the shared count exact after a recount", () => {
    const budget = new CacheBudget(1 << 20);
    const a = new ValueCache(1 << 19, 1000, 1000, budget);
    const b = new ValueCache(1 << 19, 1000, 1000, budget);
    for (let i = 0; i < 100; i++) a.set("same", row("z".repeat(50)));
    fill(b, "b", 10);
    b.delete("b003");
    b.clear();
    expect(a.usedBytes + b.usedBytes).toBe(budget.used);
    expect(b.usedBytes).toBe(0);
  });
});

describe("ValueCache inside a write transaction", () => {
  test("a staged write is visible inside the transaction and published by commit", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.set("a", row("old"));
    cache.begin();
    cache.set("a", row("new"));
    expect(text(cache.get("a"))).toBe("new");
    cache.commit();
    expect(text(cache.get("a"))).toBe("new");
    expect(cache.size).toBe(1);
  });

  test("a rollback leaves no staged value behind and keeps the committed one", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.set("a", row("old"));
    cache.set("b", row("untouched"));
    cache.begin();
    cache.set("a", row("new"));
    cache.set("c", row("created"));
    cache.rollback();
    // SQLite still holds "old" after the rollback; serving "new" would be wrong.
    expect(text(cache.get("a"))).toBe("old");
    expect(cache.get("c")).toBeUndefined();
    expect(text(cache.get("b"))).toBe("untouched");
  });

  test("a delete inside the transaction hides the committed entry from reads in it", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.set("a", row("old"));
    cache.begin();
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
    cache.set("a", row("again"));
    cache.delete("a");
    cache.commit();
    expect(cache.get("a")).toBeUndefined();
  });

  test("a read filled inside the transaction is published only on commit", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.begin();
    cache.set("a", row("read in tx"));
    cache.rollback();
    expect(cache.get("a")).toBeUndefined();
    cache.begin();
    cache.set("a", row("read in tx"));
    cache.commit();
    expect(text(cache.get("a"))).toBe("read in tx");
  });

  test("a new transaction discards what an abandoned one staged", () => {
    const cache = new ValueCache(1 << 20, 1024);
    cache.begin();
    cache.set("a", row("lost"));
    cache.begin();
    cache.commit();
    expect(cache.get("a")).toBeUndefined();
  });

  test("the byte bound holds after a large commit", () => {
    const cache = new ValueCache(2000, 1000);
    cache.begin();
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, row("y".repeat(30)));
    cache.commit();
    expect(cache.usedBytes).toBeLessThanOrEqual(2000);
    expect(text(cache.get("k99"))).toBe("y".repeat(30));
  });
});

describe("cacheableValue", () => {
  test("copies a view into a larger buffer", () => {
    const chunk = new Uint8Array(65536).fill(7);
    const view = chunk.subarray(100, 200);
    const kept = cacheableValue(view);
    expect(kept.buffer.byteLength).toBe(100);
    expect(kept).toEqual(view);
  });
});

describe("ValueCache against a reference model", () => {
  /**
   * Random sequences of transactions (sets, deletes, reads, commit or rollback) and plain
   * writes, checked step by step against a model of what is committed and what the open
   * transaction wrote: the cache may forget entries (eviction) but must never return a value
   * that differs from the model, inside or outside a transaction.
   */
  test("never serves a value the model does not hold", () => {
    let seed = 42;
    // xorshift32: every bit varies (a plain LCG's low bits would repeat with a short period).
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return Math.floor(((seed >>> 0) / 2 ** 32) * n);
    };
    for (let round = 0; round < 50; round++) {
      const max = 2_000 + rand(4_000);
      const cache = new ValueCache(max, 200, 100);
      const committed = new Map<string, string | null>();
      let pending: Map<string, string | null> | null = null;
      const expected = (id: string) =>
        pending?.has(id) ? pending.get(id) : committed.has(id) ? committed.get(id) : undefined;
      for (let step = 0; step < 2_000; step++) {
        const id = `k${rand(40)}`;
        const op = rand(10);
        if (op < 3) {
          const value = rand(5) === 0 ? null : `v${step}`.repeat(1 + rand(20));
          const r: CachedRow = {
            value: value === null ? null : new TextEncoder().encode(value),
            expiresAt: null,
            type: 0,
          };
          cache.set(id, r);
          (pending ?? committed).set(id, value);
        } else if (op < 4) {
          cache.delete(id);
          // A delete only says "not cached"; the model forgets what it knew of the key.
          (pending ?? committed).delete(id);
          if (pending) pending.set(id, undefined as unknown as null);
        } else if (op < 7) {
          const got = text(cache.get(id));
          if (got !== undefined) expect(got).toBe(expected(id) as string | null);
        } else if (op < 8 && pending === null) {
          cache.begin();
          pending = new Map();
        } else if (op < 9 && pending !== null) {
          cache.commit();
          for (const [k, v] of pending) {
            if (v === undefined) committed.delete(k);
            else committed.set(k, v);
          }
          pending = null;
        } else if (pending !== null) {
          cache.rollback();
          pending = null;
        }
        expect(cache.usedBytes).toBeLessThanOrEqual(max);
      }
    }
  });
});
