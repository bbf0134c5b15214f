/**
 * CLIENT PAUSE / UNPAUSE: WRITE holds writes (and PUBLISH, and an EXEC whose queue writes)
 * while reads pass; ALL holds everything; replies keep their order; UNPAUSE or the deadline
 * releases the held clients. Argument errors are compared with a real Redis 7.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let ours: TestServer;
let ref: RedisRef;

beforeAll(async () => {
  ours = await startTestServer();
  ref = await startRedisRef();
});

afterAll(async () => {
  await ours[Symbol.asyncDispose]();
  await ref[Symbol.asyncDispose]();
});

/** Resolves with how long `p` took, in ms. */
async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await p;
  return [v, performance.now() - t0];
}

describe("CLIENT PAUSE", () => {
  test("argument errors read as Redis's", async () => {
    const cases = [
      ["CLIENT", "PAUSE", "abc"],
      ["CLIENT", "PAUSE", "-1"],
      ["CLIENT", "PAUSE", "10", "FOO"],
      ["CLIENT", "PAUSE", "10", "WRITE", "x"],
      ["CLIENT", "PAUSE"],
      ["CLIENT", "UNPAUSE", "x"],
      ["CLIENT", "PAUSE", "0", "WRITE"],
      ["CLIENT", "UNPAUSE"],
    ];
    const replies: string[][] = [];
    for (const target of [{ port: ours.port }, { unix: ref.socket }]) {
      const c = await RawClient.connect(target);
      const out: string[] = [];
      for (const args of cases) out.push((await c.command(...args)).toString());
      replies.push(out);
      c.close();
    }
    expect(replies[0]).toEqual(replies[1]!);
  });

  test("PAUSE WRITE holds writes and PUBLISH, lets reads through, keeps reply order", async () => {
    const admin = new Redis({ port: ours.port });
    const c = new Redis({ port: ours.port });
    try {
      await c.set("p:k", "before");
      expect(await admin.client("PAUSE", 250, "WRITE")).toBe("OK");
      const [read, readMs] = await timed(c.get("p:k"));
      expect(read).toBe("before");
      expect(readMs).toBeLessThan(150);
      // A write, then a read on the same connection: the read waits behind the write.
      const write = timed(c.set("p:k", "after"));
      const readAfter = c.get("p:k");
      const publish = timed(admin.publish("ch", "m"));
      const [, writeMs] = await write;
      expect(writeMs).toBeGreaterThanOrEqual(200);
      expect(await readAfter).toBe("after");
      expect((await publish)[1]).toBeGreaterThanOrEqual(200);
    } finally {
      admin.disconnect();
      c.disconnect();
    }
  });

  test("an EXEC with writes waits; a read-only EXEC does not", async () => {
    const admin = new Redis({ port: ours.port });
    const c = new Redis({ port: ours.port });
    try {
      await admin.client("PAUSE", 250, "WRITE");
      const [ro, roMs] = await timed(c.multi().get("p:x").exec());
      expect(ro).toEqual([[null, null]]);
      expect(roMs).toBeLessThan(150);
      const [, rwMs] = await timed(c.multi().set("p:x", "1").exec());
      expect(rwMs).toBeGreaterThanOrEqual(200);
    } finally {
      admin.disconnect();
      c.disconnect();
    }
  });

  test("PAUSE ALL holds reads too; UNPAUSE from a WRITE pause releases at once", async () => {
    const admin = new Redis({ port: ours.port });
    const c = new Redis({ port: ours.port });
    try {
      await admin.client("PAUSE", 200, "ALL");
      const [, readMs] = await timed(c.get("p:k"));
      expect(readMs).toBeGreaterThanOrEqual(150);
      await admin.client("PAUSE", 10_000, "WRITE");
      const write = timed(c.set("p:k", "v"));
      await Bun.sleep(50);
      expect(await admin.client("UNPAUSE")).toBe("OK");
      const [, writeMs] = await write;
      expect(writeMs).toBeLessThan(1000);
    } finally {
      admin.disconnect();
      c.disconnect();
    }
  });
});
