/**
 * A cluster slot's keys from the storage slot index, through real sockets: COUNTKEYSINSLOT
 * and GETKEYSINSLOT for strings and small and large hashes, after RENAME, DEL and expiry;
 * every write path binding the key's slot (RENAME across slots, COPY, MOVE, on a standalone
 * server); and a data dir written before the column, whose back-fill is killed with SIGKILL
 * half way and resumes on the next start.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { keySlot } from "../../src/cluster/slots.ts";
import { defaultConfig } from "../../src/config/index.ts";
import { rawEncode } from "../../src/storage/codecs/codec.ts";
import { slotOfKey } from "../../src/storage/engine/key-slot.ts";
import { Store } from "../../src/storage/store.ts";
import { toPreviousSchema } from "../helpers/old-schema.ts";
import { freePort, startProcess, writeConfig } from "../helpers/process.ts";
import { startTestServer, type TestServer, tempDir } from "../helpers/server.ts";
import { client, createCluster, startClusterNode, until } from "./cluster-harness.ts";

const b = (s: string) => new TextEncoder().encode(s);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Key rows of every keys table of a node whose slot is not their key's slot (NULL counts). */
function wrongSlots(node: TestServer): number {
  let wrong = 0;
  for (const shard of node.handle.store.shards)
    for (const n of shard.databases()) {
      const t = n === 0 ? "blobs" : `db${n}_blobs`;
      for (const r of shard.db.query(`SELECT key, slot FROM "${t}"`).all() as {
        key: string;
        slot: number | null;
      }[])
        if (r.slot !== slotOfKey(r.key)) wrong++;
    }
  return wrong;
}

test("COUNTKEYSINSLOT / GETKEYSINSLOT from the index: strings, hashes, RENAME, DEL, expiry", async () => {
  await using node = await startClusterNode(0);
  await createCluster([node]);
  expect(node.handle.store.db0.slotIndexReady()).toBe(true);
  const c = await client(node.port);
  try {
    const slot = String(keySlot(b("{a}")));
    await c.set("{a}s", "1");
    await c.hset("{a}h", "f", "v");
    // Past 128 fields: a large hash, its fields in the fields table.
    const fields = Array.from({ length: 200 }, (_, i) => [`f${i}`, "v"]).flat();
    await c.hset("{a}big", ...fields);
    await c.set("{b}other", "x");
    const keys = async () =>
      ((await c.call("CLUSTER", "GETKEYSINSLOT", slot, "100")) as string[]).sort();
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", slot)).toBe(3);
    expect(await keys()).toEqual(["{a}big", "{a}h", "{a}s"]);
    await c.rename("{a}s", "{a}s2");
    await c.rename("{a}big", "{a}big2");
    expect(await keys()).toEqual(["{a}big2", "{a}h", "{a}s2"]);
    await c.del("{a}h");
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", slot)).toBe(2);
    await c.pexpire("{a}s2", 30);
    await Bun.sleep(80);
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", slot)).toBe(1);
    expect(await keys()).toEqual(["{a}big2"]);
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", String(keySlot(b("{b}"))))).toBe(1);
    expect(wrongSlots(node)).toBe(0);
  } finally {
    c.disconnect();
  }
});

test("every write path of a cluster node binds the key's slot: RENAME, large hashes, COPY, MSET, APPEND", async () => {
  await using node = await startClusterNode(0);
  await createCluster([node]);
  const c = await client(node.port);
  try {
    await c.set("{t}a", "1");
    await c.rename("{t}a", "{t}b");
    await c.hset("{t}h", ...Array.from({ length: 200 }, (_, i) => [`f${i}`, "v"]).flat());
    await c.rename("{t}h", "{t}h-renamed");
    await c.hset("{t}small", "f", "v");
    await c.rename("{t}small", "{t}small-renamed");
    await c.copy("{t}b", "{t}c");
    await c.mset("{u}x1", "1", "{u}x2", "2");
    await c.set("ttl", "1", "PX", 60_000);
    await c.append("{u}x1", "more");
    expect(await c.dbsize()).toBe(7);
    expect(wrongSlots(node)).toBe(0);
  } finally {
    c.disconnect();
  }
});

test("a standalone server keeps no slot index: its rows have no slot and no file claims complete", async () => {
  await using node = await startTestServer({});
  const c = await client(node.port);
  try {
    await c.mset("a", "1", "b", "2");
    await c.hset("h", "f", "v");
    await c.rename("a", "a2");
    expect(await c.dbsize()).toBe(3);
    expect(wrongSlots(node)).toBe(3);
    expect(node.handle.store.db0.slotIndexReady()).toBe(false);
  } finally {
    c.disconnect();
  }
});

/** The slot back-fill's state on disk: rows filled, rows left, and whether a file has the marker. */
function backfillState(dataDir: string): { filled: number; left: number; complete: number } {
  let filled = 0;
  let left = 0;
  let complete = 0;
  for (const i of [0, 1]) {
    const db = new Database(join(dataDir, `shard_${i}.db`));
    try {
      const r = db
        .query("SELECT count(slot) AS f, count(*) - count(slot) AS l FROM blobs")
        .get() as { f: number; l: number };
      filled += r.f;
      left += r.l;
      const m = db.query("SELECT value FROM meta WHERE name = 'slots_complete'").get() as {
        value: number;
      } | null;
      if (m?.value === 1) complete++;
    } finally {
      db.close();
    }
  }
  return { filled, left, complete };
}

test("an old data dir is back-filled in cluster mode; a SIGKILL half way resumes on the next start", async () => {
  const dir = tempDir("blobasaur-slot-backfill-");
  dirs.push(dir);
  const dataDir = join(dir, "data");
  const rows = 300_000;
  // An old data dir: rows written, then the slot column, index and marker taken away.
  const config = defaultConfig({ dataDir, numShards: 2 });
  const store = new Store({
    dataDir,
    numShards: 2,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: config.storageCompression,
    batchSize: 100_000,
    batchTimeoutMs: 0,
  });
  for (let from = 0; from < rows; from += 50_000) {
    await Promise.all(
      [0, 1].map((s) =>
        store.writeShard(s, (now) => {
          for (let i = from; i < from + 50_000; i++) {
            const key = `k${i}`;
            if (store.shardOf(b(key)) === s)
              store.shards[s]!.blobs.upsert(key, rawEncode(b("v")), now, null);
          }
        }),
      ),
    );
  }
  await store.close();
  for (const i of [0, 1]) toPreviousSchema(join(dataDir, `shard_${i}.db`));

  const port = freePort();
  const configPath = writeConfig(
    dir,
    `data_dir = "${dataDir}"
num_shards = 2
addr = "127.0.0.1:${port}"
[cluster]
enabled = true
node_id = "node-0"
port = ${freePort()}
secret = "slot-backfill-secret"
`,
  );
  const server = await startProcess(["serve", "--config", configPath]);
  try {
    await until(() => server.output().includes("back-filling"), 10_000, "back-fill log line");
    await until(() => backfillState(dataDir).filled > 0, 10_000, "some rows back-filled");
  } finally {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
  }
  const killed = backfillState(dataDir);
  expect(killed.filled).toBeGreaterThan(0);
  expect(killed.left).toBeGreaterThan(0);
  expect(killed.complete).toBeLessThan(2);

  await using node = await startClusterNode(0, { dir, overrides: { numShards: 2 } });
  const c = await client(node.port);
  try {
    const slots = ["k1", "k77", "k123456"].map((k) => slotOfKey(k));
    const expected = (slot: number) => {
      let n = 0;
      for (let i = 0; i < rows; i++) if (slotOfKey(`k${i}`) === slot) n++;
      return n;
    };
    // Correct before the back-fill is done (the scan) and after it (the index).
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", String(slots[0]))).toBe(expected(slots[0]!));
    await until(() => node.handle.store.db0.slotIndexReady(), 30_000, "back-fill done");
    for (const slot of slots)
      expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", String(slot))).toBe(expected(slot));
    const listed = (await c.call("CLUSTER", "GETKEYSINSLOT", String(slots[1]), "1000")) as string[];
    expect(listed.length).toBe(expected(slots[1]!));
    expect(listed.every((k) => slotOfKey(k) === slots[1])).toBe(true);
    expect(wrongSlots(node)).toBe(0);
  } finally {
    c.disconnect();
  }
}, 60_000);
