/**
 * Large values (storage/large/): bulk strings above large_value_threshold_kb stream into files
 * beside the shards and stream back out. Round trips with sha256, ranges and lengths read from
 * the chunk index, space reclaimed on DEL, overwrite and FLUSHALL, SET's options, no trace
 * after a client disconnects mid-upload, reply order with pipelined commands, commands that
 * need the whole value, compression on and off, async_write. (RSS bounds, SIGKILL, migrate
 * and backup: tests/cli/large-values.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import Redis from "ioredis";
import { startTestServer, tempDir } from "../helpers/server.ts";

const MiB = 1024 * 1024;

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function largeFiles(dataDir: string): string[] {
  const dir = join(dataDir, "large");
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{32}$/.test(n)) : [];
}

function tmpFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, "large", "tmp"));
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(20);
  }
}

/** A value that compresses (text runs) but is not trivially repetitive. */
function mixedValue(size: number): Buffer {
  const out = Buffer.alloc(size);
  const words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon "];
  let o = 0;
  let i = 0;
  while (o < size) {
    if (i % 50 === 0) o += randomBytes(Math.min(64, size - o)).copy(out, o);
    else o += out.write(words[(i * 7) % 5]!, o);
    i++;
  }
  return out;
}

for (const compression of [false, true]) {
  describe(`large values, compression ${compression ? "on" : "off"}`, () => {
    test("a 64 MiB value round-trips with the same sha256, and STRLEN and GETRANGE read the chunk index", async () => {
      await using server = await startTestServer({
        largeValueThresholdKb: 1024,
        storageCompression: { enabled: compression, algorithm: "zstd" },
      });
      const r = new Redis(server.port, { lazyConnect: true });
      await r.connect();
      try {
        // 64 MiB raw; compressed runs the codec per chunk on the event loop, so 16 MiB keeps CI fast.
        const size = compression ? 16 * MiB : 64 * MiB;
        const value = compression ? mixedValue(size) : randomBytes(size);
        expect(await r.set("big", value)).toBe("OK");
        expect(largeFiles(server.config.dataDir)).toHaveLength(1);
        const back = await r.getBuffer("big");
        expect(back!.length).toBe(value.length);
        expect(sha(back!)).toBe(sha(value));
        expect(await r.strlen("big")).toBe(size);
        expect(await r.type("big")).toBe("string");
        // Ranges inside one chunk, across chunks, at the end, and Redis's negative indexes.
        const cs = 256 * 1024;
        for (const [s, e] of [
          [0, 9],
          [cs - 5, cs + 5],
          [3 * cs + 17, 7 * cs + 3],
          [-10, -1],
          [size - 3, size + 100],
        ] as const) {
          const got = await r.getrangeBuffer("big", s, e);
          const from = s < 0 ? value.length + s : s;
          const to = Math.min(e < 0 ? value.length + e : e, value.length - 1);
          expect(sha(got)).toBe(sha(value.subarray(from, to + 1)));
        }
      } finally {
        r.disconnect();
      }
    }, 30_000);
  });
}

describe("large values", () => {
  test("DEL and overwrite reclaim the file; small values stay in SQLite", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    try {
      const dataDir = server.config.dataDir;
      await r.set("a", randomBytes(200 * 1024));
      await r.set("b", randomBytes(200 * 1024));
      await r.set("small", "x".repeat(1000));
      expect(largeFiles(dataDir)).toHaveLength(2);
      expect(await r.del("a")).toBe(1);
      await r.set("b", "now small");
      await server.handle.context.store.large.collect(server.handle.context.store);
      expect(largeFiles(dataDir)).toHaveLength(0);
      expect(await r.get("b")).toBe("now small");
      expect(await r.get("a")).toBeNull();
      // FLUSHALL and an expiry also release files.
      await r.set("c", randomBytes(100 * 1024), "PX", 50);
      await r.set("d", randomBytes(100 * 1024));
      await r.flushall();
      await server.handle.context.store.large.collect(server.handle.context.store);
      expect(largeFiles(dataDir)).toHaveLength(0);
    } finally {
      r.disconnect();
    }
  });

  for (const compression of [false, true]) {
    test(`APPEND and SETRANGE on a large value rebuild its file around the change (compression ${compression ? "on" : "off"})`, async () => {
      await using server = await startTestServer({
        largeValueThresholdKb: 64,
        storageCompression: { enabled: compression, algorithm: "zstd" },
      });
      const store = server.handle.context.store;
      const dataDir = server.config.dataDir;
      const r = new Redis(server.port);
      const chunk = 256 * 1024;
      try {
        // The model: what Redis would hold after each command.
        let model = mixedValue(4 * chunk + 1000);
        await r.set("v", model, "PX", 600_000);
        const check = async () => {
          expect(await r.strlen("v")).toBe(model.length);
          expect(sha((await r.getBuffer("v"))!)).toBe(sha(model));
          await store.large.collect(store);
          expect(largeFiles(dataDir)).toHaveLength(1);
          expect(await r.pttl("v")).toBeGreaterThan(500_000);
        };
        // APPEND into the partial last chunk and past it.
        let tail = randomBytes(chunk + 5000);
        expect(await r.append("v", tail)).toBe(model.length + tail.length);
        model = Buffer.concat([model, tail]);
        await check();
        // SETRANGE across a chunk boundary, inside the value.
        let patch = randomBytes(3000);
        expect(await r.setrange("v", 2 * chunk - 1000, patch)).toBe(model.length);
        patch.copy(model, 2 * chunk - 1000);
        await check();
        // SETRANGE at the start, and past the end (the gap reads as NUL bytes).
        patch = randomBytes(10);
        await r.setrange("v", 0, patch);
        patch.copy(model, 0);
        const far = model.length + chunk + 123;
        patch = randomBytes(700);
        expect(await r.setrange("v", far, patch)).toBe(far + patch.length);
        model = Buffer.concat([model, Buffer.alloc(far - model.length), patch]);
        await check();
        // An empty APPEND changes nothing and writes no file.
        const before = largeFiles(dataDir);
        expect(await r.append("v", "")).toBe(model.length);
        expect(largeFiles(dataDir)).toEqual(before);
        tail = randomBytes(3);
        await r.append("v", tail);
        model = Buffer.concat([model, tail]);
        await check();
        // GETRANGE reads the rebuilt chunks: the gap's last NUL bytes, then the patch.
        const range = await r.getrangeBuffer("v", far - 2, far + 2);
        expect(Buffer.compare(range, model.subarray(far - 2, far + 3))).toBe(0);
      } finally {
        r.disconnect();
      }
    });
  }

  test("a hash field over the threshold lives in a file, from HSET to HDEL, DEL, expiry, COPY and RENAME", async () => {
    const dir = tempDir();
    const v1 = randomBytes(200 * 1024);
    const v2 = randomBytes(90 * 1024);
    {
      await using server = await startTestServer(
        { largeValueThresholdKb: 64 },
        { dir, keepDir: true },
      );
      const store = server.handle.context.store;
      const dataDir = server.config.dataDir;
      const collect = () => store.large.collect(store);
      const r = new Redis(server.port);
      try {
        // A small hash turned large by a big value: the big field goes to a file, the small
        // ones stay in SQLite.
        await r.hset("h", "a", "1", "b", "2");
        await r.hset("h", "big", v1);
        expect(largeFiles(dataDir)).toHaveLength(1);
        expect(sha((await r.hgetBuffer("h", "big"))!)).toBe(sha(v1));
        expect(await r.hstrlen("h", "big")).toBe(v1.length);
        expect(Object.keys(await r.hgetall("h"))).toEqual(["a", "b", "big"]);
        // Overwritten: the old file goes once the write commits.
        await r.hset("h", "big", v2);
        await collect();
        expect(largeFiles(dataDir)).toHaveLength(1);
        expect(sha((await r.hgetBuffer("h", "big"))!)).toBe(sha(v2));
        // COPY gives the copy a name of its own for the same file (a hard link, no byte
        // read or written); RENAME keeps or moves it.
        expect(await r.copy("h", "h2")).toBe(1);
        const linked = largeFiles(dataDir).map((n) => statSync(join(dataDir, "large", n)));
        expect(linked).toHaveLength(2);
        expect(linked[0]!.ino).toBe(linked[1]!.ino);
        expect(linked[0]!.nlink).toBe(2);
        await r.rename("h2", "h3");
        await collect();
        expect(largeFiles(dataDir)).toHaveLength(2);
        expect(sha((await r.hgetBuffer("h3", "big"))!)).toBe(sha(v2));
        // HDEL, DEL and a field's expiry each release the file.
        await r.hdel("h3", "big");
        await collect();
        expect(largeFiles(dataDir)).toHaveLength(1);
        await r.hset("gone", "f", v1);
        await r.del("gone");
        await r.hset("ttl", "f", v1, "keep", "x");
        await r.call("HPEXPIRE", "ttl", "50", "FIELDS", "1", "f");
        await Bun.sleep(100);
        expect(await r.hget("ttl", "f")).toBeNull();
        await until(() => {
          void collect();
          return largeFiles(dataDir).length === 1;
        });
        expect(sha((await r.hgetBuffer("h", "big"))!)).toBe(sha(v2));
        // Past 2 MiB HGET streams the field's file as GET streams a value, in MULTI too.
        const huge = randomBytes(3 * MiB + 11);
        await r.hset("h", "huge", huge);
        expect(await r.hstrlen("h", "huge")).toBe(huge.length);
        const piped = await r.pipeline().hgetBuffer("h", "huge").hget("h", "a").exec();
        expect(sha(piped![0]![1] as Buffer)).toBe(sha(huge));
        expect(piped![1]![1]).toBe("1");
        const inTx = await r.multi().hgetBuffer("h", "huge").exec();
        expect(sha(inTx![0]![1] as Buffer)).toBe(sha(huge));
        await r.hdel("h", "huge");
        await collect();
        expect(largeFiles(dataDir)).toHaveLength(1);
        // FLUSHDB in another database releases the field files it held, and only those.
        await r.select(3);
        await r.hset("other", "f", v1);
        await r.flushdb();
        await collect();
        expect(largeFiles(dataDir)).toHaveLength(1);
        await r.select(0);
      } finally {
        r.disconnect();
      }
    }
    // After a restart (and its orphan scan) the field's file is still there.
    await using again = await startTestServer({ largeValueThresholdKb: 64 }, { dir });
    const r = new Redis(again.port);
    try {
      expect(largeFiles(again.config.dataDir)).toHaveLength(1);
      expect(sha((await r.hgetBuffer("h", "big"))!)).toBe(sha(v2));
      expect(await r.hget("h", "a")).toBe("1");
    } finally {
      r.disconnect();
    }
  });

  test("HSET, HMSET and HSETEX take streamed values as files: new hash, small hash converted, WRONGTYPE", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const store = server.handle.context.store;
    const dataDir = server.config.dataDir;
    const r = new Redis(server.port);
    try {
      const v1 = randomBytes(200 * 1024);
      const v2 = randomBytes(300 * 1024 + 3);
      expect(await r.hset("fresh", "blob", v1)).toBe(1);
      expect(largeFiles(dataDir)).toHaveLength(1);
      expect(sha((await r.hgetBuffer("fresh", "blob"))!)).toBe(sha(v1));
      // A small hash with a streamed value among small ones becomes a large hash, in order.
      await r.hset("small", "a", "1", "b", "2");
      expect(await r.hset("small", "c", "3", "blob", v2, "a", "one")).toBe(2);
      expect(await r.call("OBJECT", "ENCODING", "small")).toBe("hashtable");
      expect(Object.keys(await r.hgetall("small"))).toEqual(["a", "b", "c", "blob"]);
      expect(await r.hget("small", "a")).toBe("one");
      expect(sha((await r.hgetBuffer("small", "blob"))!)).toBe(sha(v2));
      expect(await r.hmset("small", "blob", v1, "d", "4")).toBe("OK");
      await store.large.collect(store);
      expect(largeFiles(dataDir)).toHaveLength(2);
      expect(sha((await r.hgetBuffer("small", "blob"))!)).toBe(sha(v1));
      // Refused: the streamed value leaves no file behind.
      await r.set("str", "x");
      await expect(r.hset("str", "f", v2)).rejects.toThrow("WRONGTYPE");
      await until(() => largeFiles(dataDir).length === 2);
      expect(readdirSync(join(dataDir, "large", "tmp"))).toEqual([]);
      // The same field twice in one HSET: the last value wins and the first file goes.
      expect(await r.hset("twice", "f", v1, "f", v2)).toBe(1);
      await store.large.collect(store);
      expect(largeFiles(dataDir)).toHaveLength(3);
      expect(sha((await r.hgetBuffer("twice", "f"))!)).toBe(sha(v2));
      // HSETEX streams too; a value it does not store (FNX not met, an expiry already past)
      // leaves no file.
      expect(await r.call("HSETEX", "hx", "EX", "100", "FIELDS", "1", "f", v1)).toBe(1);
      expect(largeFiles(dataDir)).toHaveLength(4);
      expect(sha((await r.hgetBuffer("hx", "f"))!)).toBe(sha(v1));
      expect(await r.call("HTTL", "hx", "FIELDS", "1", "f")).toEqual([expect.any(Number)]);
      expect(await r.call("HSETEX", "hx", "FNX", "FIELDS", "1", "f", v2)).toBe(0);
      expect(await r.call("HSETEX", "hx", "PXAT", "1", "FIELDS", "1", "g", v2)).toBe(1);
      expect(await r.hexists("hx", "g")).toBe(0);
      // Files no field took are unlinked without waiting for the reply.
      await until(() => largeFiles(dataDir).length === 4);
      expect(readdirSync(join(dataDir, "large", "tmp"))).toEqual([]);
      expect(sha((await r.hgetBuffer("hx", "f"))!)).toBe(sha(v1));
    } finally {
      r.disconnect();
    }
  });

  test("SWAPDB carries a field's file with its database, and its triggers follow", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const store = server.handle.context.store;
    const dataDir = server.config.dataDir;
    const r = new Redis(server.port);
    try {
      const v = randomBytes(100 * 1024);
      await r.select(1);
      await r.set("one", "1");
      await r.select(0);
      await r.hset("h", "f", v);
      expect(await r.swapdb(0, 1)).toBe("OK");
      expect(await r.exists("h")).toBe(0);
      await r.select(1);
      expect(sha((await r.hgetBuffer("h", "f"))!)).toBe(sha(v));
      await r.hset("h", "g", v);
      expect(largeFiles(dataDir)).toHaveLength(2);
      await r.hdel("h", "f");
      await r.del("h");
      await store.large.collect(store);
      expect(largeFiles(dataDir)).toHaveLength(0);
    } finally {
      r.disconnect();
    }
  });

  test("RENAME, COPY and MOVE give a large value's file a new name without copying a byte", async () => {
    const dir = tempDir();
    const value = randomBytes(3 * MiB + 17);
    const digest = sha(value);
    const inodes = (dataDir: string) =>
      largeFiles(dataDir).map((n) => statSync(join(dataDir, "large", n)));
    {
      await using server = await startTestServer(
        { largeValueThresholdKb: 64 },
        { dir, keepDir: true },
      );
      const store = server.handle.context.store;
      const dataDir = server.config.dataDir;
      const shardOf = (k: string) => store.shardOf(Buffer.from(k));
      // Keys chosen by shard: a → b changes shard, b → c stays in b's shard.
      const names = (p: string) => Array.from({ length: 64 }, (_, n) => `${p}${n}`);
      const b = names("b").find((k) => shardOf(k) !== shardOf("a"))!;
      const c = names("c").find((k) => shardOf(k) === shardOf(b))!;
      const collect = () => store.large.collect(store);
      const r = new Redis(server.port);
      try {
        await r.set("a", value, "PX", 600_000);
        const [first] = inodes(dataDir);
        expect(await r.rename("a", b)).toBe("OK");
        await collect();
        let now = inodes(dataDir);
        // The old name is gone; the only file left is the same inode under a new name.
        expect(now.map((f) => f.ino)).toEqual([first!.ino]);
        expect(now[0]!.nlink).toBe(1);
        expect(await r.pttl(b)).toBeGreaterThan(500_000);
        const before = largeFiles(dataDir);
        expect(await r.rename(b, c)).toBe("OK");
        await collect();
        // Within one shard the row is renamed: same file name.
        expect(largeFiles(dataDir)).toEqual(before);
        expect(await r.copy(c, "d")).toBe(1);
        now = inodes(dataDir);
        expect(now).toHaveLength(2);
        expect(new Set(now.map((f) => f.ino))).toEqual(new Set([first!.ino]));
        expect(now.every((f) => f.nlink === 2)).toBe(true);
        expect(await r.del(c)).toBe(1);
        await collect();
        expect(sha((await r.getBuffer("d"))!)).toBe(digest);
        expect(await r.move("d", 1)).toBe(1);
        await collect();
        now = inodes(dataDir);
        expect(now.map((f) => [f.ino, f.nlink])).toEqual([[first!.ino, 1]]);
        await r.select(1);
        expect(await r.strlen("d")).toBe(value.length);
        expect(await r.copy("d", "e")).toBe(1);
      } finally {
        r.disconnect();
      }
    }
    // After a restart (and its orphan scan) both names still read back whole.
    await using again = await startTestServer({ largeValueThresholdKb: 64 }, { dir });
    const r = new Redis(again.port, { db: 1 });
    try {
      expect(largeFiles(again.config.dataDir)).toHaveLength(2);
      expect(sha((await r.getBuffer("d"))!)).toBe(digest);
      expect(sha((await r.getBuffer("e"))!)).toBe(digest);
    } finally {
      r.disconnect();
    }
  });

  test("SET options work with a streamed value: NX, XX, GET, EX, KEEPTTL", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    try {
      const v1 = randomBytes(100 * 1024);
      const v2 = randomBytes(120 * 1024);
      expect(await r.set("k", v1, "NX")).toBe("OK");
      expect(await r.set("k", v2, "NX")).toBeNull();
      expect(await r.set("missing", v2, "XX")).toBeNull();
      const old = await r.call("SET", "k", v2, "GET", "EX", "100");
      expect(sha(Buffer.from(old as string, "latin1"))).toBeDefined();
      expect(sha((await r.getBuffer("k"))!)).toBe(sha(v2));
      expect(await r.ttl("k")).toBeGreaterThan(90);
      await r.set("k", v1, "KEEPTTL");
      expect(await r.ttl("k")).toBeGreaterThan(90);
      expect(sha((await r.getBuffer("k"))!)).toBe(sha(v1));
      await server.handle.context.store.large.collect(server.handle.context.store);
      // NX that did not set and the replaced values left no files behind.
      expect(largeFiles(server.config.dataDir)).toHaveLength(1);
      expect(await r.exists("missing")).toBe(0);
    } finally {
      r.disconnect();
    }
  });

  test("replies keep request order when a streamed GET is pipelined with small commands", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    try {
      const big = randomBytes(3 * MiB);
      await r.set("big", big);
      await r.set("small", "s");
      const results = await r
        .pipeline()
        .get("small")
        .getBuffer("big")
        .set("after", "1")
        .get("after")
        .getBuffer("big")
        .exec();
      expect(results!.map((x) => x[0])).toEqual([null, null, null, null, null]);
      expect(results![0]![1]).toBe("s");
      expect(sha(results![1]![1] as Buffer)).toBe(sha(big));
      expect(results![3]![1]).toBe("1");
      expect(sha(results![4]![1] as Buffer)).toBe(sha(big));
      // A write right after a large SET on the same key wins, as the order says.
      const p = r.pipeline().set("k", big).set("k", "last").get("k");
      const out = await p.exec();
      expect(out![2]![1]).toBe("last");
      // Commands that cannot stream see the whole value: APPEND, SETRANGE, GETDEL.
      expect(await r.append("big", "!")).toBe(big.length + 1);
      expect(await r.strlen("big")).toBe(big.length + 1);
      const inMulti = await r.multi().set("m", big).strlen("m").exec();
      expect(inMulti![1]![1]).toBe(big.length);
      // Values those commands build stay in files, never in SQLite: APPEND, COPY, MULTI SET.
      expect(sha((await r.getBuffer("big"))!)).toBe(sha(Buffer.concat([big, Buffer.from("!")])));
      expect(await r.copy("big", "big2")).toBe(1);
      expect(await r.strlen("big2")).toBe(big.length + 1);
      await server.handle.context.store.large.collect(server.handle.context.store);
      // big, big2, k's file was replaced by "last", m: three files.
      expect(largeFiles(server.config.dataDir)).toHaveLength(3);
    } finally {
      r.disconnect();
    }
  });

  test("a client that disconnects mid-upload leaves no value and no file", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const dataDir = server.config.dataDir;
    const sock = connect(server.port, "127.0.0.1");
    await new Promise<void>((res) => sock.once("connect", () => res()));
    const size = 8 * MiB;
    sock.write(`*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$${size}\r\n`);
    sock.write(randomBytes(3 * MiB));
    await until(() => tmpFiles(dataDir).length === 1);
    sock.destroy();
    await until(() => tmpFiles(dataDir).length === 0);
    const r = new Redis(server.port);
    try {
      expect(await r.exists("half")).toBe(0);
      expect(largeFiles(dataDir)).toHaveLength(0);
    } finally {
      r.disconnect();
    }
  });

  test("a bulk length above proto-max-bulk-len is refused before its body is read", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const sock = connect(server.port, "127.0.0.1");
    const reply = await new Promise<string>((res) => {
      let data = "";
      sock.on("data", (d) => {
        data += d.toString();
      });
      sock.on("close", () => res(data));
      sock.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${600 * MiB}\r\n`);
    });
    expect(reply).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(tmpFiles(server.config.dataDir)).toHaveLength(0);
  });
});

describe("large values and async_write", () => {
  test("with async_write a streamed SET is acknowledged after its commit and reads back", async () => {
    await using server = await startTestServer({ asyncWrite: true, largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    try {
      const v = randomBytes(700 * 1024);
      const out = await r.pipeline().set("k", v).getBuffer("k").strlen("k").exec();
      expect(sha(out![1]![1] as Buffer)).toBe(sha(v));
      expect(out![2]![1]).toBe(v.length);
    } finally {
      r.disconnect();
    }
  });

  for (const asyncWrite of [false, true]) {
    test(`APPEND, RENAME and COPY of a large value inside MULTI/EXEC (async_write ${asyncWrite})`, async () => {
      await using server = await startTestServer({ asyncWrite, largeValueThresholdKb: 64 });
      const store = server.handle.context.store;
      const r = new Redis(server.port);
      try {
        const v = randomBytes(900 * 1024);
        const tail = randomBytes(70 * 1024);
        await r.set("m", v);
        const out = await r
          .multi()
          .append("m", tail)
          .rename("m", "m2")
          .copy("m2", "m3")
          .strlen("m3")
          .getBuffer("m2")
          .exec();
        expect(out!.map(([e]) => e)).toEqual([null, null, null, null, null]);
        expect(out![0]![1]).toBe(v.length + tail.length);
        expect(out![3]![1]).toBe(v.length + tail.length);
        const whole = sha(Buffer.concat([v, tail]));
        expect(sha(out![4]![1] as Buffer)).toBe(whole);
        expect(sha((await r.getBuffer("m3"))!)).toBe(whole);
        expect(await r.exists("m")).toBe(0);
        await store.large.collect(store);
        // m2 and m3: one file each, nothing left behind by the rewrite or the moves.
        expect(largeFiles(server.config.dataDir)).toHaveLength(2);
      } finally {
        r.disconnect();
      }
    });
  }
});
