/**
 * Background Workers: the startup prewarm (plans within the memory budget, reads every shard
 * file and WAL, skips what does not fit) and the fsync syncer's fallback when its Worker dies
 * (syncs keep completing on this thread instead of hanging).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Prewarmer, planPrewarm } from "../../../src/storage/jobs/prewarm.ts";
import { WalSyncer } from "../../../src/storage/writes/syncer.ts";
import { startTestServer } from "../../helpers/server.ts";

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "workers-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("prewarm reads every shard file and its WAL when they fit in the budget", async () => {
  const d = dir();
  const shards = [join(d, "shard_0.db"), join(d, "shard_1.db")];
  writeFileSync(shards[0]!, Buffer.alloc(3 * 1024 * 1024 + 5, 1));
  writeFileSync(`${shards[0]!}-wal`, Buffer.alloc(4096, 2));
  writeFileSync(shards[1]!, Buffer.alloc(100, 3)); // no WAL for this one
  const plan = planPrewarm(shards, 1 << 30);
  expect(plan.paths).toEqual([shards[0]!, `${shards[0]!}-wal`, shards[1]!]);
  expect(plan.bytes).toBe(3 * 1024 * 1024 + 5 + 4096 + 100);
  expect(plan.budget).toBe((1 << 30) / 2);
  const result = await new Prewarmer(plan).done;
  expect(result?.bytes).toBe(plan.bytes);
});

test("prewarm is skipped when the files exceed half of the available memory", async () => {
  const d = dir();
  const shard = join(d, "shard_0.db");
  writeFileSync(shard, Buffer.alloc(10_000));
  const plan = planPrewarm([shard], 10_000);
  expect(plan.budget).toBe(5_000);
  expect(await new Prewarmer(plan).done).toBeNull();
});

test("a prewarm stopped early settles with null", async () => {
  const d = dir();
  const shard = join(d, "shard_0.db");
  writeFileSync(shard, Buffer.alloc(1000));
  const prewarm = new Prewarmer(planPrewarm([shard], 1 << 30));
  prewarm.stop();
  expect(await prewarm.done).toBeNull();
});

test("when the fsync Worker fails, syncs complete on this thread instead of hanging", async () => {
  const d = dir();
  const wal = join(d, "shard_0.db-wal");
  writeFileSync(wal, Buffer.alloc(4096));
  const syncer = new WalSyncer();
  expect(syncer.start()).toBe(true);
  await syncer.sync([wal]);
  // Simulate the Worker dying (as when its module cannot load in a broken build).
  (syncer as unknown as { workerFailed(message: string): void }).workerFailed("test");
  const syncsBefore = syncer.syncs;
  await syncer.sync([wal, join(d, "missing-wal")]);
  await Promise.all([syncer.sync([wal]), syncer.sync([wal])]);
  expect(syncer.syncs).toBeGreaterThan(syncsBefore);
  syncer.stop();
});

test("the server prewarms its shard files at startup unless [sqlite] prewarm = false", async () => {
  {
    await using server = await startTestServer({ numShards: 2 });
    const result = await server.handle.store.prewarm!.done;
    expect(result!.bytes).toBeGreaterThan(0);
  }
  await using off = await startTestServer({
    numShards: 2,
    sqlite: { prewarm: false },
  });
  expect(off.handle.store.prewarm).toBeNull();
});
