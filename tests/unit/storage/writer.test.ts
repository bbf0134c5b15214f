import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ValueCache } from "../../../src/storage/engine/cache.ts";
import { Shard } from "../../../src/storage/engine/shard.ts";
import { WriteScheduler } from "../../../src/storage/writes/scheduler.ts";
import { ShardWriter } from "../../../src/storage/writes/shard-writer.ts";
import { tempDir } from "../../helpers/server.ts";

const sqlite = {
  cacheSizeMb: 8,
  busyTimeoutMs: 1000,
  synchronous: "NORMAL",
  mmapSizeMb: 0,
  journalSizeLimitMb: 8,
} as const;
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function setup(shards = 2, batchSize = 1000) {
  const dir = tempDir("blobasaur-writer-");
  const commits: number[] = [];
  const scheduler = new WriteScheduler(0, Date.now, { onCommit: (_s, ops) => commits.push(ops) });
  const list = Array.from({ length: shards }, (_, i) => {
    const shard = new Shard(i, join(dir, `shard_${i}.db`), sqlite, shards, false);
    const writer = new ShardWriter(shard, scheduler, batchSize);
    scheduler.add(writer);
    return { shard, writer };
  });
  cleanup.push(() => {
    for (const { shard } of list) shard.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const count = (i: number) =>
    (list[i]!.shard.db.query("select count(*) as n from blobs").get() as { n: number }).n;
  return { scheduler, list, commits, count };
}

const value = new Uint8Array([0, 1, 2]);

test("operations queued in one turn share one transaction and resolve after it commits", async () => {
  const { list, commits, count } = setup(1);
  const { shard, writer } = list[0]!;
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      writer.submit((now) => {
        shard.blobs.upsert(`k${i}`, value, now, null);
        return i;
      }),
    ),
  );
  expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect(commits).toEqual([50]);
  expect(count(0)).toBe(50);
});

test("an operation that throws after writing is undone alone, its cache entries with it", async () => {
  const { list, count } = setup(1);
  const { shard, writer } = list[0]!;
  const cache = new ValueCache(1 << 20, 1 << 16);
  shard.cache = cache;
  const row = { value, expiresAt: null, type: 0 };
  const ok1 = writer.submit((now) => {
    shard.blobs.upsert("a", value, now, null);
    cache.set("a", row);
  });
  // Writes one row and stages a cache entry, then fails: neither may survive.
  const bad = writer.submit((now) => {
    shard.blobs.upsert("half", value, now, null);
    cache.set("half", row);
    throw new Error("refused after a write");
  });
  const ok2 = writer.submit((now) => {
    shard.blobs.upsert("b", value, now, null);
    cache.set("b", row);
  });
  await ok1;
  await expect(bad).rejects.toThrow("refused after a write");
  await ok2;
  expect(count(0)).toBe(2);
  expect(shard.db.query("SELECT key FROM blobs ORDER BY key").all()).toEqual([
    { key: "a" },
    { key: "b" },
  ]);
  expect(cache.get("half")).toBeUndefined();
  expect(cache.get("a")).toEqual(row);
  expect(cache.get("b")).toEqual(row);
});

test("a write queued after its shard closed is refused, and the writer keeps going", async () => {
  const { list } = setup(1);
  const { shard, writer } = list[0]!;
  await writer.submit((now) => shard.blobs.upsert("a", value, now, null));
  shard.close();
  // bun:sqlite would run the statements of a closed database silently; the writer must not.
  await expect(
    writer.submit((now) => shard.blobs.upsert("late", value, now, null)),
  ).rejects.toThrow("could not start a transaction");
  expect(shard.inTransaction).toBe(false);
});

test("batch_size caps the operations per transaction", async () => {
  const { list, commits } = setup(1, 16);
  const { shard, writer } = list[0]!;
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      writer.submit((now) => shard.blobs.upsert(`k${i}`, value, now, null)),
    ),
  );
  expect(commits).toEqual([16, 16, 8]);
});

test("a failing operation gets its own error while its neighbours still commit", async () => {
  const { list, count } = setup(1);
  const { shard, writer } = list[0]!;
  const ok1 = writer.submit((now) => shard.blobs.upsert("a", value, now, null));
  const bad = writer.submit(() => {
    shard.db.run("INSERT INTO no_such_table VALUES (1)");
  });
  const ok2 = writer.submit((now) => shard.blobs.upsert("b", value, now, null));
  await ok1;
  await expect(bad).rejects.toThrow();
  await ok2;
  expect(count(0)).toBe(2);
});

test("a multi-shard operation runs after earlier writes on each shard and before later ones", async () => {
  const { list, scheduler, count } = setup(2);
  const order: string[] = [];
  const a = list[0]!;
  const b = list[1]!;
  const p1 = a.writer.submit(() => order.push("a1"));
  const multi = scheduler.submitMulti([a.writer, b.writer], (now) => {
    order.push("multi");
    a.shard.blobs.upsert("x", value, now, null);
    b.shard.blobs.upsert("y", value, now, null);
    return "done";
  });
  const p2 = b.writer.submit(() => order.push("b2"));
  const p0 = b.writer.submit(() => order.push("b3"));
  expect(await multi).toBe("done");
  await Promise.all([p1, p2, p0]);
  expect(order).toEqual(["a1", "multi", "b2", "b3"]);
  expect(count(0)).toBe(1);
  expect(count(1)).toBe(1);
});

test("a multi-shard operation that throws rolls back on every shard", async () => {
  const { list, scheduler, count } = setup(2);
  const a = list[0]!;
  const b = list[1]!;
  const multi = scheduler.submitMulti([a.writer, b.writer], (now) => {
    a.shard.blobs.upsert("x", value, now, null);
    b.shard.blobs.upsert("y", value, now, null);
    throw new Error("changed my mind");
  });
  await expect(multi).rejects.toThrow("changed my mind");
  expect(count(0)).toBe(0);
  expect(count(1)).toBe(0);
});

test("interleaved multi-shard operations never deadlock", async () => {
  const { list, scheduler } = setup(3);
  const w = list.map((x) => x.writer);
  const done = await Promise.all([
    scheduler.submitMulti([w[0]!, w[1]!], () => 1),
    scheduler.submitMulti([w[1]!, w[2]!], () => 2),
    w[1]!.submit(() => 3),
    scheduler.submitMulti([w[2]!, w[0]!], () => 4),
  ]);
  expect(done).toEqual([1, 2, 3, 4]);
});

test("drain resolves once every queue is empty", async () => {
  const { list, scheduler } = setup(2);
  let ran = 0;
  for (let i = 0; i < 10; i++) void list[i % 2]!.writer.submit(() => ran++);
  await scheduler.drain();
  expect(ran).toBe(10);
  expect(scheduler.pendingOps).toBe(0);
});
