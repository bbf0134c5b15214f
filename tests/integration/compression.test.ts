import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import type { CompressionAlgorithm } from "../../src/config/index.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";

/** JSON-like text compresses well; the random tail of some values does not. */
function value(stage: number, i: number): Buffer {
  const record = JSON.stringify({
    id: i,
    stage,
    name: `user-${i}`,
    email: `user${i}@example.com`,
    tags: ["a", "b", "c"],
  });
  const text = Buffer.from(record.repeat(40));
  if (i % 5 !== 0) return text;
  const noise = Buffer.alloc(2048);
  for (let j = 0; j < noise.length; j++) noise[j] = (i * 7919 + j * 104729) & 0xff;
  return Buffer.concat([text, noise]);
}

const stages: { enabled: boolean; algorithm: CompressionAlgorithm; level?: number }[] = [
  { enabled: true, algorithm: "zstd" },
  { enabled: true, algorithm: "gzip", level: 9 },
  { enabled: true, algorithm: "lz4" },
  { enabled: true, algorithm: "brotli", level: 4 },
  { enabled: false, algorithm: "none" },
];

test("values written under zstd, gzip, lz4, brotli and no compression all read back after each restart", async () => {
  const dir = tempDir();
  const perStage = 200;
  for (let s = 0; s < stages.length; s++) {
    const stage = stages[s]!;
    await using server = await startTestServer(
      {
        storageCompression: {
          enabled: stage.enabled,
          algorithm: stage.algorithm,
          level: stage.level ?? null,
          minSizeBytes: 64,
        },
      },
      { dir, keepDir: s < stages.length - 1 },
    );
    const c = new Redis({ port: server.port, lazyConnect: true });
    await c.connect();
    const p = c.pipeline();
    for (let i = 0; i < perStage; i++) p.set(`s${s}:${i}`, value(s, i));
    await p.exec();
    // Everything written so far, under every earlier setting, reads back byte for byte.
    for (let t = 0; t <= s; t++) {
      const keys = Array.from({ length: perStage }, (_, i) => `s${t}:${i}`);
      const got = await c.mgetBuffer(...keys);
      got.forEach((v, i) => {
        if (!v || Buffer.compare(v, value(t, i)) !== 0)
          throw new Error(`stage ${s}: ${keys[i]} differs`);
      });
    }
    expect(await c.dbsize()).toBe(perStage * (s + 1));
    c.disconnect();
  }
});

test("compressible values take a fraction of their size on disk", async () => {
  const sizes: Record<string, number> = {};
  for (const enabled of [false, true]) {
    await using server = await startTestServer({
      numShards: 1,
      storageCompression: { enabled, algorithm: "zstd", level: null, minSizeBytes: 64 },
    });
    const c = new Redis({ port: server.port, lazyConnect: true });
    await c.connect();
    const p = c.pipeline();
    for (let i = 0; i < 500; i++)
      p.set(
        `k${i}`,
        Buffer.from(JSON.stringify({ i, text: "lorem ipsum dolor sit amet ".repeat(200) })),
      );
    await p.exec();
    c.disconnect();
    await server.stop();
    sizes[String(enabled)] = statSync(join(server.config.dataDir, "shard_0.db")).size;
  }
  expect(sizes.true!).toBeLessThan(sizes.false! / 4);
});

test("a corrupted stored value gives that command an ERR, keeps the connection, and other keys still read", async () => {
  await using server = await startTestServer({
    numShards: 1,
    storageCompression: { enabled: true, algorithm: "zstd", level: null, minSizeBytes: 64 },
  });
  const c = new Redis({ port: server.port, lazyConnect: true });
  await c.connect();
  await c.set("good", "x".repeat(1000));
  await c.set("bad", "y".repeat(1000));
  const db = server.handle.store.shards[0]!.db;
  // Flip bytes inside the stored zstd frame, behind the server's back, and drop the cache.
  const row = db.query("SELECT value FROM blobs WHERE key = 'bad'").get() as { value: Uint8Array };
  const broken = new Uint8Array(row.value);
  for (let i = 8; i < broken.length; i += 3) broken[i] = broken[i]! ^ 0x5a;
  db.query("UPDATE blobs SET value = ?1 WHERE key = 'bad'").run(broken);
  server.handle.store.db0.keyTables[0]!.cache.clear();
  await expect(c.get("bad")).rejects.toThrow(/ERR/);
  expect(await c.get("good")).toBe("x".repeat(1000));
  expect(await c.ping()).toBe("PONG");
  c.disconnect();
});
