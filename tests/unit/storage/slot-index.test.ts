/**
 * The cluster slot column below the commands: every write binds the key's slot, the slot
 * queries go through the partial index (EXPLAIN QUERY PLAN), and a file written before the
 * column existed opens, reads NULL slots, is back-filled in batches and then answers from
 * the index, in every database it holds.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { getKeysInSlot } from "../../../src/cluster/slot-keys.ts";
import { defaultConfig } from "../../../src/config/index.ts";
import { limits } from "../../../src/limits.ts";
import { silentLogger } from "../../../src/log.ts";
import { slotOfKey } from "../../../src/storage/engine/key-slot.ts";
import { keySql, keyspaceTables } from "../../../src/storage/engine/sql.ts";
import { SlotBackfill } from "../../../src/storage/jobs/slot-backfill.ts";
import { Store } from "../../../src/storage/store.ts";
import { toPreviousSchema } from "../../helpers/old-schema.ts";
import { tempDir } from "../../helpers/server.ts";

const enc = new TextEncoder();
const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A store as a cluster node opens it (`clusterSlots`), or as a standalone server does. */
function open(dataDir: string, clusterSlots = true): Store {
  const config = defaultConfig({ dataDir, numShards: 2 });
  const store = new Store({
    dataDir,
    numShards: 2,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 1000,
    batchTimeoutMs: 0,
    clusterSlots,
  });
  stores.push(store);
  return store;
}

function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return join(d, "data");
}

/** Writes `n` string keys through the keyspace of database `db`. */
async function fill(store: Store, db: number, n: number, prefix = "k"): Promise<void> {
  const ks = store.keyspace(db);
  for (let i = 0; i < n; i++) {
    const key = enc.encode(`${prefix}${i}`);
    await ks.write(key, (table, now) => table.put(`${prefix}${i}`, key, now, null));
  }
}

/** Every key row of every keys table whose slot is not its key's slot (NULL included). */
function wrongSlots(store: Store): number {
  let wrong = 0;
  for (const shard of store.shards)
    for (const n of shard.databases()) {
      const t = keyspaceTables(n).keys;
      const rows = shard.db.query(`SELECT key, slot FROM "${t}"`).all() as {
        key: string;
        slot: number | null;
      }[];
      for (const r of rows) if (r.slot !== slotOfKey(r.key)) wrong++;
    }
  return wrong;
}

test("the slot queries read the partial slot index, not the table", () => {
  const store = open(newDir());
  const k = keySql(keyspaceTables(0));
  for (const [sql, args] of [
    [k.slotKeys, [1, 2, 3]],
    [k.slotCount, [1, 2]],
  ] as const) {
    const plan = store.shards[0]!.db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as {
      detail: string;
    }[];
    const text = plan.map((p) => p.detail).join("\n");
    expect(text).toMatch(/USING (COVERING )?INDEX blobs_slot/);
    expect(text).not.toMatch(/SCAN blobs(?! USING)/);
  }
});

test("a new data dir is complete from the start and every write binds its key's slot", async () => {
  const store = open(newDir());
  expect(store.db0.slotIndexReady()).toBe(true);
  await fill(store, 0, 300);
  await fill(store, 4, 50, "{tag}x");
  expect(wrongSlots(store)).toBe(0);
  const slot = slotOfKey("k7");
  const expected = Array.from({ length: 300 }, (_, i) => `k${i}`).filter(
    (key) => slotOfKey(key) === slot,
  );
  expect(store.db0.countKeysInSlot(slot, Date.now())).toBe(expected.length);
  expect(store.db0.keysInSlot(slot, 1000, Date.now()).sort()).toEqual(expected.sort());
});

test("a data dir written before the slot column opens, is back-filled, then answers from the index", async () => {
  const dataDir = newDir();
  const first = open(dataDir);
  const rows = limits.slotBackfillRowsPerBatch * 2 + 17;
  await fill(first, 0, rows);
  await fill(first, 3, 40, "{tag}x");
  await first.close();
  stores.splice(stores.indexOf(first), 1);
  for (let i = 0; i < 2; i++) toPreviousSchema(join(dataDir, `shard_${i}.db`));

  const store = open(dataDir);
  expect(store.db0.slotIndexReady()).toBe(false);
  expect(wrongSlots(store)).toBe(rows + 40);
  // Rows written after the upgrade carry their slot already.
  await fill(store, 0, 5, "new");
  expect(wrongSlots(store)).toBe(rows + 40);
  const backfill = new SlotBackfill(store, silentLogger());
  backfill.start();
  const deadline = Date.now() + 20_000;
  while (!backfill.done && Date.now() < deadline) await Bun.sleep(10);
  backfill.stop();
  expect(backfill.done).toBe(true);
  expect(store.db0.slotIndexReady()).toBe(true);
  expect(wrongSlots(store)).toBe(0);
  const slot = slotOfKey("k11");
  const expected = Array.from({ length: rows }, (_, i) => `k${i}`).filter(
    (key) => slotOfKey(key) === slot,
  );
  expect(store.db0.countKeysInSlot(slot, Date.now())).toBe(expected.length);
  expect(store.db0.keysInSlot(slot, 10_000, Date.now()).sort()).toEqual(expected.sort());
});

/** Runs the back-fill to its end and says whether it got there. */
async function backfillAll(store: Store): Promise<boolean> {
  const backfill = new SlotBackfill(store, silentLogger());
  backfill.start();
  const deadline = Date.now() + 20_000;
  while (!backfill.done && Date.now() < deadline) await Bun.sleep(10);
  backfill.stop();
  return backfill.done;
}

test("a standalone store writes no slots and drops the marker; a cluster start back-fills what it wrote", async () => {
  const dataDir = newDir();
  const cluster = open(dataDir);
  await fill(cluster, 0, 100, "c");
  expect(cluster.db0.slotIndexReady()).toBe(true);
  await cluster.close();
  stores.splice(stores.indexOf(cluster), 1);

  // Standalone: new rows get NULL, so the file can no longer claim every row has its slot.
  const standalone = open(dataDir, false);
  expect(standalone.db0.slotIndexReady()).toBe(false);
  await fill(standalone, 0, 60, "s");
  // Overwriting a key keeps the slot its row already had (the slot is the key's alone).
  await fill(standalone, 0, 10, "c");
  const index = (store: Store) =>
    store.shards
      .map(
        (s) =>
          (
            s.db.query("SELECT count(*) AS n FROM blobs WHERE slot IS NOT NULL").get() as {
              n: number;
            }
          ).n,
      )
      .reduce((a, b) => a + b, 0);
  expect(index(standalone)).toBe(100);
  expect(wrongSlots(standalone)).toBe(60);
  // Without the marker, cluster code asks by scanning (slot-keys.ts), and that stays right.
  const slot = slotOfKey("s3");
  const all = [
    ...Array.from({ length: 100 }, (_, i) => `c${i}`),
    ...Array.from({ length: 60 }, (_, i) => `s${i}`),
  ];
  const expected = all.filter((key) => slotOfKey(key) === slot).sort();
  const scanned = getKeysInSlot(standalone.db0, slot, 1000).map((k) => new TextDecoder().decode(k));
  expect(scanned.sort()).toEqual(expected);
  await standalone.close();
  stores.splice(stores.indexOf(standalone), 1);

  const again = open(dataDir);
  expect(again.db0.slotIndexReady()).toBe(false);
  expect(await backfillAll(again)).toBe(true);
  expect(again.db0.slotIndexReady()).toBe(true);
  expect(wrongSlots(again)).toBe(0);
  expect(again.db0.countKeysInSlot(slot, Date.now())).toBe(expected.length);
  expect(again.db0.keysInSlot(slot, 1000, Date.now()).sort()).toEqual(expected);
});
