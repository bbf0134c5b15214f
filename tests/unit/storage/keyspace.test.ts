/**
 * The format 2 keyspace below the commands: one row per key whatever its type, small hashes
 * inline and converted to the fields table past the limits, insertion order kept across the
 * conversion, a large hash's fields dropped with its key (triggers), databases isolated, and
 * the sweep removing expired fields and the hashes they empty; lazy expiry announcing (and
 * counting) a dead key once, whoever finds it first, a read or the sweep.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { keyParam } from "../../../src/storage/engine/keys.ts";
import { ROW_HASH_INLINE, ROW_HASH_TABLE, ROW_STRING } from "../../../src/storage/engine/sql.ts";
import { ExpirySweeper } from "../../../src/storage/jobs/expiry-sweep.ts";
import { Store } from "../../../src/storage/store.ts";
import { tempDir } from "../../helpers/server.ts";

const enc = new TextEncoder();
const dec = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : undefined);
const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(clock?: () => number): Store {
  const d = tempDir();
  dirs.push(d);
  const config = defaultConfig({ dataDir: join(d, "data"), numShards: 2 });
  const store = new Store({
    dataDir: config.dataDir,
    numShards: 2,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 1000,
    batchTimeoutMs: 0,
    clock,
  });
  stores.push(store);
  return store;
}

async function hset(store: Store, db: number, key: string, pairs: [string, string][]) {
  const ks = store.keyspace(db);
  return ks.writeHash(enc.encode(key), (table, now) => {
    const h = table.hashWriter(key, now);
    let added = 0;
    for (const [f, v] of pairs) if (h.set(enc.encode(f), enc.encode(v), null, now)) added++;
    h.save(now);
    return added;
  });
}

function fieldsOf(store: Store, db: number, key: string): string[] {
  const ks = store.keyspace(db);
  const h = ks.tableFor(enc.encode(key)).hash(key, store.now());
  if (!h) return [];
  const out: string[] = [];
  for (let after = 0; ; ) {
    const page = h.page(after, 50, store.now());
    out.push(...page.items.map((i) => dec(i.field)!));
    if (page.next === 0) return out;
    after = page.next;
  }
}

test("a small hash lives inline in its key row and keeps insertion order", async () => {
  const store = open();
  expect(
    await hset(store, 0, "object", [
      ["foo1", "a"],
      ["foo2", "b"],
      ["foo3", "c"],
    ]),
  ).toBe(3);
  expect(await hset(store, 0, "object", [["foo1", "z"]])).toBe(0);
  expect(fieldsOf(store, 0, "object")).toEqual(["foo1", "foo2", "foo3"]);
  expect(store.db0.entry(enc.encode("object"))!.type).toBe(ROW_HASH_INLINE);
});

test("past 128 fields a hash moves to the fields table, in the same order", async () => {
  const store = open();
  const pairs: [string, string][] = Array.from({ length: 200 }, (_, i) => [`f${199 - i}`, `v${i}`]);
  await hset(store, 0, "big", pairs.slice(0, 100));
  expect(store.db0.entry(enc.encode("big"))!.type).toBe(ROW_HASH_INLINE);
  await hset(store, 0, "big", pairs.slice(100));
  expect(store.db0.entry(enc.encode("big"))!.type).toBe(ROW_HASH_TABLE);
  expect(fieldsOf(store, 0, "big")).toEqual(pairs.map(([f]) => f));
  const h = store.db0.tableFor(enc.encode("big")).hash("big", store.now())!;
  expect(h.len(store.now())).toBe(200);
  expect(dec(h.get(enc.encode("f0"), store.now())?.value)).toBe("v199");
});

test("a value longer than 64 bytes converts the hash, as Redis's listpack limit does", async () => {
  const store = open();
  await hset(store, 0, "wide", [["f", "x".repeat(65)]]);
  expect(store.db0.entry(enc.encode("wide"))!.type).toBe(ROW_HASH_TABLE);
});

test("SET over a large hash and DEL of one leave no field rows behind", async () => {
  const store = open();
  const pairs: [string, string][] = Array.from({ length: 150 }, (_, i) => [`f${i}`, "v"]);
  await hset(store, 0, "a", pairs);
  await hset(store, 0, "b", pairs);
  const fieldRows = () =>
    store.shards.reduce(
      (n, s) => n + (s.db.query("SELECT count(*) AS n FROM fields").get() as { n: number }).n,
      0,
    );
  expect(fieldRows()).toBe(300);
  await store.db0.write(enc.encode("a"), (t, now) =>
    t.put(keyParam(enc.encode("a")), enc.encode("s"), now, null),
  );
  expect(store.db0.entry(enc.encode("a"))!.type).toBe(ROW_STRING);
  await store.db0.write(enc.encode("b"), (t, now) => t.remove(keyParam(enc.encode("b")), now));
  expect(fieldRows()).toBe(0);
});

test("string reads of a hash and hash reads of a string are WRONGTYPE", async () => {
  const store = open();
  await hset(store, 0, "h", [["f", "v"]]);
  await store.db0.write(enc.encode("s"), (t, now) => t.put("s", enc.encode("x"), now, null));
  expect(() => store.db0.get(enc.encode("h"))).toThrow("wrong kind");
  expect(() => store.db0.tableFor(enc.encode("s")).hash("s", store.now())).toThrow("wrong kind");
});

test("databases are separate keyspaces in the same shard files", async () => {
  const store = open();
  await store
    .keyspace(5)
    .write(enc.encode("k"), (t, now) => t.put("k", enc.encode("five"), now, null));
  expect(store.db0.get(enc.encode("k"))).toBeNull();
  expect(dec(store.keyspace(5).get(enc.encode("k"))?.value)).toBe("five");
  expect(store.keyspace(5).countKeys(store.now())).toBe(1);
  expect(store.db0.countKeys(store.now())).toBe(0);
  expect(() => store.keyspace(16)).toThrow(RangeError);
});

test("the sweep removes expired fields of large hashes and a hash they leave empty", async () => {
  let now = 1_000_000;
  const store = open(() => now);
  const pairs: [string, string][] = Array.from({ length: 150 }, (_, i) => [`f${i}`, "v"]);
  await hset(store, 0, "h", pairs);
  await store.db0.writeHash(enc.encode("h"), (table, at) => {
    const h = table.hashWriter("h", at);
    for (let i = 0; i < 150; i++) h.setExpiry(enc.encode(`f${i}`), at + (i < 100 ? 10 : 1000), at);
    h.save(at);
  });
  now += 500;
  expect(store.db0.tableFor(enc.encode("h")).hash("h", now)!.len(now)).toBe(50);
  const sweeper = new ExpirySweeper(store, () => {}, silentLogger());
  expect(await sweeper.sweepOnce()).toBe(0);
  expect(store.db0.tableFor(enc.encode("h")).hash("h", now)!.len(now)).toBe(50);
  now += 1000;
  await sweeper.sweepOnce();
  expect(store.db0.entry(enc.encode("h"))).toBeNull();
});

test("a large hash deleted and created again never serves its old fields from the cache", async () => {
  const store = open();
  const get = (field: string) => {
    const h = store.db0.tableFor(enc.encode("big")).hash("big", store.now());
    return dec(h?.get(enc.encode(field), store.now())?.value);
  };
  const old: [string, string][] = Array.from({ length: 150 }, (_, i) => [`f${i}`, "old"]);
  await hset(store, 0, "big", old);
  expect(get("f0")).toBe("old");
  const { id } = store.shards[store.shardOf(enc.encode("big"))]!.blobs.hashRowStmt.get("big")!;
  await store.db0.write(enc.encode("big"), (t, now) => t.remove("big", now));
  // The new hash is the newest row, so SQLite hands it the same rowid again.
  await hset(
    store,
    0,
    "big",
    old.slice(1).map(([f]) => [f, "new"] as [string, string]),
  );
  const again = store.shards[store.shardOf(enc.encode("big"))]!.blobs.hashRowStmt.get("big")!;
  expect(again.id).toBe(id);
  expect(get("f0")).toBeUndefined();
  expect(get("f1")).toBe("new");
});

test("lazy expiry: a read announces a dead key once, counts it, deletes its row; the sweep stays silent", async () => {
  let now = 1_000_000;
  const store = open(() => now);
  const heard: string[] = [];
  let counted = 0;
  store.lazyExpiry.listener = (events) =>
    heard.push(...events.map(([db, e, key]) => `${db}:${e}:${dec(key)}`));
  store.lazyExpiry.counted = (n) => {
    counted += n;
  };
  const k = enc.encode("k");
  const kept = enc.encode("kept");
  await store.db0.write(k, (t, at) => t.put("k", enc.encode("v"), at, at + 10));
  await store.db0.write(kept, (t, at) => t.put("kept", enc.encode("v"), at, at + 10));
  let swept = 0;
  const sweeper = new ExpirySweeper(store, (n) => (swept += n), silentLogger());
  const sweptKeys: string[] = [];
  sweeper.keyListener = (events) =>
    sweptKeys.push(...events.map(([, e, key]) => `${e}:${dec(key)}`));
  now += 100;
  expect(store.db0.get(k)).toBeNull();
  // Announced at the find, before any write: what Redis's lookup does.
  expect(heard).toEqual(["0:expired:k"]);
  expect(store.db0.get(k)).toBeNull();
  // `kept` is written again, queued but not committed, when a read finds the old row dead:
  // the delete queued behind that write must leave the new value alone.
  const rewrite = store.db0.write(kept, (t, at) => t.put("kept", enc.encode("new"), at, null));
  expect(store.db0.get(kept)).toBeNull();
  await rewrite;
  await sweeper.sweepOnce();
  expect(sweptKeys).toEqual([]);
  expect(store.shards[store.shardOf(k)]!.blobs.getStmt.get("k")).toBeNull();
  expect(dec(store.db0.get(kept)?.value)).toBe("new");
  expect(heard).toEqual(["0:expired:k", "0:expired:kept"]);
  expect([counted, swept]).toEqual([2, 0]);
});

test("lazy expiry: a key the sweep removed is not announced again by a read of its cached row", async () => {
  let now = 1_000_000;
  const store = open(() => now);
  const heard: string[] = [];
  store.lazyExpiry.listener = (events) =>
    heard.push(...events.map(([, e, key]) => `${e}:${dec(key)}`));
  const k = enc.encode("k");
  await store.db0.write(k, (t, at) => t.put("k", enc.encode("v"), at, at + 10));
  expect(dec(store.db0.get(k)?.value)).toBe("v");
  now += 100;
  let swept = 0;
  const sweeper = new ExpirySweeper(store, (n) => (swept += n), silentLogger());
  const sweptKeys: string[] = [];
  sweeper.keyListener = (events) =>
    sweptKeys.push(...events.map(([, e, key]) => `${e}:${dec(key)}`));
  await sweeper.sweepOnce();
  expect(store.db0.get(k)).toBeNull();
  expect(sweptKeys).toEqual(["expired:k"]);
  expect(heard).toEqual([]);
  expect(swept).toBe(1);
});

test("lazy expiry: nobody listening, a read deletes nothing and the sweep announces the key", async () => {
  let now = 1_000_000;
  const store = open(() => now);
  const k = enc.encode("k");
  await store.db0.write(k, (t, at) => t.put("k", enc.encode("v"), at, at + 10));
  now += 100;
  expect(store.db0.get(k)).toBeNull();
  await Bun.sleep(10);
  expect(store.shards[store.shardOf(k)]!.blobs.getStmt.get("k")).not.toBeNull();
  let swept = 0;
  const sweeper = new ExpirySweeper(store, (n) => (swept += n), silentLogger());
  const sweptKeys: string[] = [];
  sweeper.keyListener = (events) =>
    sweptKeys.push(...events.map(([, e, key]) => `${e}:${dec(key)}`));
  await sweeper.sweepOnce();
  expect(sweptKeys).toEqual(["expired:k"]);
  expect(swept).toBe(1);
});
