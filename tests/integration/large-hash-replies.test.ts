/**
 * Hash fields kept in files, read by every command that returns field values: HMGET,
 * HGETALL, HVALS, HSCAN, HRANDFIELD, HGETDEL and HGETEX answer with the right bytes over both
 * libraries and both protocols, and a field past the whole-reply limit streams (its file stays
 * open while a slow reader holds the reply) instead of being read into memory. HSETNX takes a
 * streamed value as HSET does.
 */
import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import Redis from "ioredis";
import { limits } from "../../src/limits.ts";
import { libs } from "../helpers/clients.ts";
import { resp, startTestServer } from "../helpers/server.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function largeFiles(dataDir: string): string[] {
  const dir = join(dataDir, "large");
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{32}$/.test(n)) : [];
}

/** Descriptors of this process (the server runs in it) open on files under `dir`. */
function openUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) n++;
    } catch {
      // Closed while listing.
    }
  }
  return n;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(20);
  }
}

/** Field → sha256 of its value, from a flat [field, value, …] or nested [[field, value], …] reply. */
function shasOf(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs = reply as unknown[];
  const nested = Array.isArray(pairs[0]);
  if (!nested && !(reply instanceof Map) && !Array.isArray(reply)) {
    for (const [f, v] of Object.entries(reply as Record<string, Buffer>)) out[f] = sha(v);
    return out;
  }
  if (reply instanceof Map) {
    for (const [f, v] of reply) out[String(f)] = sha(v as Buffer);
    return out;
  }
  if (nested) for (const [f, v] of pairs as [Buffer, Buffer][]) out[String(f)] = sha(v);
  else
    for (let i = 0; i < pairs.length; i += 2) out[String(pairs[i])] = sha(pairs[i + 1] as Buffer);
  return out;
}

describe("hash fields in files, read back by every command", () => {
  const big1 = randomBytes(limits.largeReplyWholeBytesMax + 3 * KiB);
  const big2 = randomBytes(300 * KiB);
  const want = { small: sha(Buffer.from("tiny")), big1: sha(big1), big2: sha(big2) };

  for (const lib of libs) {
    test(`HMGET, HGETALL, HVALS, HSCAN, HRANDFIELD, HGETEX and HGETDEL (${lib.name})`, async () => {
      await using server = await startTestServer({ largeValueThresholdKb: 64 });
      const c = await lib.connect(server.port);
      try {
        await c.call("HSET", "h", "small", "tiny", "big1", big1, "big2", big2);
        expect(largeFiles(server.config.dataDir)).toHaveLength(2);
        const hmget = (await c.callBuffer(
          "HMGET",
          "h",
          "big1",
          "nope",
          "big2",
          "small",
        )) as (Buffer | null)[];
        expect(hmget.map((v) => (v === null ? null : sha(v)))).toEqual([
          want.big1,
          null,
          want.big2,
          want.small,
        ]);
        expect(shasOf(await c.callBuffer("HGETALL", "h"))).toEqual(want);
        const vals = (await c.callBuffer("HVALS", "h")) as Buffer[];
        expect(vals.map(sha)).toEqual([want.small, want.big1, want.big2]);
        const scan = (await c.callBuffer("HSCAN", "h", "0", "COUNT", "10")) as [Buffer, unknown];
        expect(shasOf(scan[1])).toEqual(want);
        expect(shasOf(await c.callBuffer("HRANDFIELD", "h", "3", "WITHVALUES"))).toEqual(want);
        // HGETEX with an expiry already past deletes the field and still returns its bytes.
        const gotex = (await c.callBuffer("HGETEX", "h", "PXAT", "1", "FIELDS", "1", "big2")) as [
          Buffer,
        ];
        expect(sha(gotex[0])).toBe(want.big2);
        const gotdel = (await c.callBuffer("HGETDEL", "h", "FIELDS", "1", "big1")) as [Buffer];
        expect(sha(gotdel[0])).toBe(want.big1);
        expect(await c.call("HLEN", "h")).toBe(1);
        await server.handle.context.store.large.collect(server.handle.context.store);
        expect(largeFiles(server.config.dataDir)).toHaveLength(0);
      } finally {
        await c.close();
      }
    });
  }

  test("a field past the whole-reply limit streams: its file stays open while a reader stalls", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    const large = join(server.config.dataDir, "large");
    try {
      // Two 8 MiB fields: more than the socket buffers hold, so the reply cannot all be sent.
      const f1 = randomBytes(8 * MiB);
      const f2 = randomBytes(8 * MiB);
      await r.hset("h", "f1", f1, "f2", f2);
      expect(openUnder(large)).toBe(0);
      const slow = connect(server.port, "127.0.0.1");
      await new Promise<void>((res) => slow.once("connect", () => res()));
      slow.pause();
      slow.write(resp("HGETALL", "h"));
      // Read whole, the values would be in memory and no file would stay open.
      await until(() => openUnder(large) >= 1);
      const chunks: Buffer[] = [];
      let got = 0;
      const total = 2 * 8 * MiB;
      await new Promise<void>((res) => {
        slow.on("data", (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got >= total) res();
        });
        slow.resume();
      });
      await until(() => Buffer.concat(chunks).length >= total + 40);
      slow.destroy();
      const body = Buffer.concat(chunks);
      const at1 = body.indexOf(`$${8 * MiB}\r\n`) + `$${8 * MiB}\r\n`.length;
      expect(sha(body.subarray(at1, at1 + 8 * MiB))).toBe(sha(f1));
      const at2 = body.indexOf(`$${8 * MiB}\r\n`, at1 + 8 * MiB) + `$${8 * MiB}\r\n`.length;
      expect(sha(body.subarray(at2, at2 + 8 * MiB))).toBe(sha(f2));
      await until(() => openUnder(large) === 0);
    } finally {
      r.disconnect();
    }
  });

  test("HSETNX takes a streamed value as a file; one it does not store leaves none", async () => {
    await using server = await startTestServer({ largeValueThresholdKb: 64 });
    const r = new Redis(server.port);
    const dataDir = server.config.dataDir;
    try {
      const v1 = randomBytes(200 * KiB);
      const v2 = randomBytes(300 * KiB);
      expect(await r.hsetnx("n", "f", v1)).toBe(1);
      expect(largeFiles(dataDir)).toHaveLength(1);
      expect(await r.hsetnx("n", "f", v2)).toBe(0);
      await until(() => largeFiles(dataDir).length === 1);
      expect(readdirSync(join(dataDir, "large", "tmp"))).toEqual([]);
      expect(sha((await r.hgetBuffer("n", "f"))!)).toBe(sha(v1));
      await r.set("s", "x");
      await expect(r.hsetnx("s", "f", v2)).rejects.toThrow("WRONGTYPE");
      await until(() => largeFiles(dataDir).length === 1);
    } finally {
      r.disconnect();
    }
  });
});
