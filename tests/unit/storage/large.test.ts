/**
 * Large values below the commands (storage/large/): the reference record, the chunked file
 * written by an upload in arbitrary pieces (compression on and off) and read back by range and
 * as a stream, the parser's sink for long bulk strings, the garbage triggers, the startup
 * cleanup, the refusal of unknown row types, and the O(1) upgrade from format 2.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../../src/config/index.ts";
import { StorageError } from "../../../src/errors.ts";
import { type BulkSink, type LargeBody, largeBody } from "../../../src/protocol/large-arg.ts";
import { type Command, RespParser } from "../../../src/protocol/parser.ts";
import { keyParam } from "../../../src/storage/engine/keys.ts";
import { FORMAT_VERSION, ROW_STRING } from "../../../src/storage/engine/sql.ts";
import {
  decodeRef,
  encodeFooter,
  encodeIndex,
  encodeRef,
  type LargeRef,
} from "../../../src/storage/large/format.ts";
import { Store } from "../../../src/storage/store.ts";
import { tempDir } from "../../helpers/server.ts";

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(compression = false, dir?: string): Store {
  const d = dir ?? tempDir();
  if (!dir) dirs.push(d);
  const config = defaultConfig({ dataDir: join(d, "data"), numShards: 2 });
  const store = new Store({
    dataDir: config.dataDir,
    numShards: 2,
    sqlite: { ...config.sqlite, prewarm: false },
    compression: { ...config.storageCompression, enabled: compression },
    batchSize: 1000,
    batchTimeoutMs: 0,
    largeValueThresholdBytes: 1024,
  });
  stores.push(store);
  return store;
}

/** Uploads `value` in pieces of random sizes, as a socket would deliver it. */
async function upload(store: Store, value: Uint8Array): Promise<LargeRef> {
  const up = store.large.upload(value.length);
  for (let p = 0; p < value.length; ) {
    const n = Math.min(value.length - p, 1 + Math.floor(Math.random() * 100_000));
    up.write(value.subarray(p, p + n));
    p += n;
  }
  return await up.finish().persist();
}

test("a reference record round-trips and anything else is refused", () => {
  const ref = {
    id: "0123456789abcdef0123456789abcdef",
    size: 5 * 2 ** 32 + 7,
    chunkBytes: 262144,
    codec: 1,
  };
  expect(decodeRef(encodeRef(ref))).toEqual(ref);
  expect(() => decodeRef(new Uint8Array(31))).toThrow("damaged");
  const newer = encodeRef(ref);
  newer[1] = 9;
  expect(() => decodeRef(newer)).toThrow("version 9");
});

for (const compression of [false, true]) {
  test(`an upload in arbitrary pieces reads back whole, by range and as a stream (compression ${compression ? "on" : "off"})`, async () => {
    const store = open(compression);
    const cs = store.large.chunkBytes;
    // Half compressible text, half random: both kinds of chunk in one file.
    const value = Buffer.concat([Buffer.from("abc ".repeat(cs)), randomBytes(2 * cs + 123)]);
    const ref = await upload(store, value);
    expect(ref.size).toBe(value.length);
    if (compression) expect(ref.codec).not.toBe(0);
    const file = store.large.open(ref);
    try {
      expect(Buffer.from(file.readAll()).equals(value)).toBe(true);
      for (const [s, e] of [
        [0, 1],
        [cs - 1, cs + 1],
        [cs, 2 * cs],
        [5, value.length],
        [value.length - 1, value.length],
      ] as const) {
        expect(Buffer.from(file.readRange(s, e)).equals(value.subarray(s, e))).toBe(true);
      }
    } finally {
      file.close();
    }
    const stream = store.large.stream(ref);
    const pieces: Buffer[] = [];
    for (let p = stream.next(); p !== null; p = stream.next()) pieces.push(Buffer.from(p));
    expect(Buffer.concat(pieces).equals(value)).toBe(true);
    expect(readdirSync(store.large.tmpDir)).toEqual([]);
  });
}

test("a damaged file is reported, not misread", async () => {
  const store = open();
  const ref = await upload(store, randomBytes(5000));
  writeFileSync(join(store.large.dir, ref.id), "short");
  expect(() => store.large.open(ref)).toThrow("truncated");
});

describe("the parser's sink", () => {
  class Sink implements BulkSink, LargeBody {
    parts: Uint8Array[] = [];
    aborted = false;
    disposed = false;
    constructor(readonly size: number) {}
    write(b: Uint8Array) {
      this.parts.push(b.slice());
    }
    finish() {
      return this;
    }
    abort() {
      this.aborted = true;
    }
    readAll() {
      return Buffer.concat(this.parts);
    }
    dispose() {
      this.disposed = true;
    }
  }
  const value = Buffer.from("0123456789".repeat(5));
  const frame = Buffer.from(
    `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n*1\r\n$4\r\nPING\r\n`,
  );

  test("a bulk string above the threshold reaches the sink whole and the command gets a handle, at every split", () => {
    for (let cut = 0; cut <= frame.length; cut++) {
      const sinks: Sink[] = [];
      const p = new RespParser({
        streamBulkBytesOver: 10,
        openSink: (n) => {
          const s = new Sink(n);
          sinks.push(s);
          return s;
        },
      });
      const out: Command[] = [];
      p.feed(frame.subarray(0, cut), out);
      p.feed(frame.subarray(cut), out);
      expect(out).toHaveLength(2);
      expect(Buffer.from(out[0]![1]!).toString()).toBe("k");
      const body = largeBody(out[0]![2]);
      expect(body).not.toBeNull();
      expect(Buffer.from(body!.readAll()).equals(value)).toBe(true);
      expect(out[0]![2]!.length).toBe(0);
      expect(Buffer.from(out[1]![0]!).toString()).toBe("PING");
      expect(sinks).toHaveLength(1);
      expect(p.bufferedBytes).toBe(0);
    }
  });

  test("a connection gone mid-body aborts the sink; short bulks never use it", () => {
    let sink: Sink | null = null;
    const p = new RespParser({
      streamBulkBytesOver: 10,
      openSink: (n) => {
        sink = new Sink(n);
        return sink;
      },
    });
    const out: Command[] = [];
    p.feed(Buffer.from("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n"), out);
    expect(sink).toBeNull();
    expect(largeBody(out[0]![1])).toBeNull();
    p.feed(frame.subarray(0, frame.indexOf("0123") + 20), out);
    expect(p.bufferedBytes).toBeLessThan(40);
    p.abort();
    expect(sink!.aborted).toBe(true);
  });
});

test("deleting or overwriting a file row queues its file, collect() unlinks it, and startup removes orphans and uploads in flight", async () => {
  const d = tempDir();
  dirs.push(d);
  let store = open(false, d);
  const ks = store.db0;
  const put = async (key: string) => {
    const ref = await upload(store, randomBytes(3000));
    await ks.writeHash(Buffer.from(key), (t, now) =>
      t.putFile(keyParam(Buffer.from(key)), ref, now, null),
    );
    return ref;
  };
  const a = await put("a");
  await put("b");
  await put("c");
  expect(ks.entry(Buffer.from("a"))!.large).toEqual(a);
  expect(ks.entry(Buffer.from("a"))!.type).toBe(ROW_STRING);
  expect(ks.get(Buffer.from("a"))!.value.length).toBe(3000);
  await ks.write(Buffer.from("a"), (t, now) => t.remove(keyParam(Buffer.from("a")), now));
  await ks.write(Buffer.from("b"), (t, now) =>
    t.put(keyParam(Buffer.from("b")), Buffer.from("small"), now, null),
  );
  expect(readdirSync(store.large.dir).filter((n) => n !== "tmp")).toHaveLength(3);
  expect(await store.large.collect(store)).toBe(2);
  expect(readdirSync(store.large.dir).filter((n) => n !== "tmp")).toHaveLength(1);
  // An orphan (renamed, never committed) and an upload in flight, then a restart.
  const orphan = store.large.upload(2000);
  orphan.write(randomBytes(2000));
  await orphan.finish().persist();
  store.large.upload(5000).write(randomBytes(100));
  await store.close();
  stores.splice(stores.indexOf(store), 1);
  store = open(false, d);
  expect(readdirSync(store.large.dir).filter((n) => n !== "tmp")).toHaveLength(1);
  expect(readdirSync(store.large.tmpDir)).toEqual([]);
  expect(store.db0.get(Buffer.from("c"))!.value.length).toBe(3000);
});

test("a row type this server does not know is refused with a StorageError, not misread", async () => {
  const store = open();
  const shard = store.shardOf(Buffer.from("weird"));
  store.shards[shard]!.db.run(
    "INSERT INTO blobs (key, value, created_at, updated_at, type) VALUES ('weird', x'00', 0, 0, 9)",
  );
  expect(() => store.db0.entry(Buffer.from("weird"))).toThrow(StorageError);
  expect(() => store.db0.entry(Buffer.from("weird"))).toThrow("row type 9");
});

test("a format 2 file upgrades to format 3 in place: garbage table, triggers and index, no row rewritten", async () => {
  const d = tempDir();
  dirs.push(d);
  let store = open(false, d);
  await store.db0.write(Buffer.from("s"), (t, now) =>
    t.put(keyParam(Buffer.from("s")), Buffer.from("v"), now, null),
  );
  await store.close();
  stores.length = 0;
  // Make every file look like format 2.
  for (let i = 0; i < 2; i++) {
    const db = new Database(join(d, "data", `shard_${i}.db`));
    db.run("DROP TABLE large_garbage");
    db.run('DROP TRIGGER "blobs_large_delete"');
    db.run('DROP TRIGGER "blobs_large_replace"');
    db.run('DROP INDEX "blobs_large"');
    db.run("PRAGMA user_version = 2");
    db.close();
  }
  store = open(false, d);
  for (const shard of store.shards) {
    expect(
      (shard.db.query("PRAGMA user_version").get() as { user_version: number }).user_version,
    ).toBe(FORMAT_VERSION);
    const names = (
      shard.db.query("SELECT name FROM sqlite_master").all() as { name: string }[]
    ).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "large_garbage",
        "blobs_large_delete",
        "blobs_large_replace",
        "blobs_large",
      ]),
    );
  }
  expect(Buffer.from(store.db0.get(Buffer.from("s"))!.value).toString()).toBe("v");
});

test("a multi-GiB value: its size, STRLEN's source, and ranges past 4 GiB are exact (sparse file)", async () => {
  const store = open();
  const cs = store.large.chunkBytes;
  const size = 5 * 2 ** 30 + 123;
  const chunks = Math.ceil(size / cs);
  const id = "ab".repeat(16);
  const fd = openSync(join(store.large.dir, id), "w");
  const offsets: number[] = [];
  let at = 0;
  const head = new Uint8Array(5);
  const view = new DataView(head.buffer);
  for (let i = 0; i < chunks; i++) {
    const n = Math.min(cs, size - i * cs);
    offsets.push(at);
    view.setUint32(0, n + 1, true);
    writeSync(fd, head, 0, 5, at);
    at += 5 + n;
  }
  // One marked byte just past 4 GiB, inside a chunk's payload.
  const mark = 2 ** 32 + 7;
  const ci = Math.floor(mark / cs);
  writeSync(fd, new Uint8Array([0x5a]), 0, 1, offsets[ci]! + 5 + (mark - ci * cs));
  writeSync(fd, encodeIndex(offsets), 0, offsets.length * 8, at);
  writeSync(
    fd,
    encodeFooter({ indexOffset: at, chunks, chunkBytes: cs, size }),
    0,
    32,
    at + offsets.length * 8,
  );
  closeSync(fd);
  const ref: LargeRef = { id, size, chunkBytes: cs, codec: 0 };
  const key = Buffer.from("huge");
  await store.db0.writeHash(key, (t, now) => t.putFile(keyParam(key), ref, now, null));
  const entry = store.db0.get(key)!;
  expect(entry.large!.size).toBe(size);
  const file = store.large.open(entry.large!);
  try {
    expect(file.size).toBe(size);
    const range = file.readRange(mark - 3, mark + 3);
    expect([...range]).toEqual([0, 0, 0, 0x5a, 0, 0]);
    expect(file.readRange(size - 5, size)).toHaveLength(5);
  } finally {
    file.close();
  }
});
