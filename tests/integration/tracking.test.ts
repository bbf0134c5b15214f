/**
 * CLIENT TRACKING against a real Redis 7, byte for byte over raw RESP3 connections: default
 * mode, NOLOOP, BCAST with prefixes, OPTIN/OPTOUT with CLIENT CACHING, FLUSHALL, the
 * TRACKINGINFO / GETREDIR replies and every option error. Then node-redis's client-side
 * cache (RESP3) serves a repeated GET from memory and drops it when another client writes.
 * (redis-py with RESP2 REDIRECT runs in pubsub-python.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BasicClientSideCache, createClient } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Target = { port: number } | { unix: string };

let ours: TestServer;
let ref: RedisRef;
const targets = (): Target[] => [{ port: ours.port }, { unix: ref.socket }];

beforeAll(async () => {
  ours = await startTestServer();
  ref = await startRedisRef();
});

afterAll(async () => {
  await ours[Symbol.asyncDispose]();
  await ref[Symbol.asyncDispose]();
});

/**
 * `t` is a RESP3 tracking connection, `w` a plain writer. A step is [conn, ...args]; "PUSH"
 * reads one unasked frame on t; "QUIET" checks nothing more arrived on t (via a PING).
 */
async function script(target: Target, steps: string[][]): Promise<string[]> {
  const t = await RawClient.connect(target);
  const w = await RawClient.connect(target);
  try {
    await w.command("FLUSHALL");
    await t.command("HELLO", "3");
    const out: string[] = [];
    for (const [who, ...args] of steps) {
      if (who === "PUSH") out.push(`push ${(await t.receive()).toString("latin1")}`);
      else if (who === "QUIET") out.push(`quiet ${(await t.command("PING")).toString("latin1")}`);
      else {
        const conn = who === "t" ? t : w;
        out.push(
          `${who} ${args.join(" ")} => ${(await conn.command(...args!)).toString("latin1")}`,
        );
      }
    }
    return out;
  } finally {
    t.close();
    w.close();
  }
}

const same = async (steps: string[][]) => {
  const [a, b] = await Promise.all(targets().map((t) => script(t, steps)));
  expect(a).toEqual(b!);
  return a!;
};

describe("client tracking, compared with Redis", () => {
  test("default mode: a read is remembered, the next write invalidates it once", async () => {
    const out = await same([
      ["t", "CLIENT", "TRACKING", "ON"],
      ["t", "GET", "k"],
      ["t", "HGET", "h", "f"],
      ["w", "SET", "k", "1"],
      ["PUSH"],
      ["w", "SET", "k", "2"],
      ["QUIET"],
      ["w", "HSET", "h", "f", "v"],
      ["PUSH"],
      ["t", "MGET", "a", "b"],
      ["w", "DEL", "a", "b"],
      ["w", "MSET", "a", "1", "b", "2"],
      ["PUSH"],
      ["PUSH"],
      ["t", "GET", "k"],
      ["t", "SET", "k", "3"],
      ["PUSH"],
      ["t", "GET", "k"],
      ["w", "FLUSHALL"],
      ["PUSH"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "GET", "k"],
      ["w", "SET", "k", "4"],
      ["QUIET"],
    ]);
    expect(out.join("")).toContain(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
  });

  test("NOLOOP skips the client's own writes", async () => {
    await same([
      ["t", "CLIENT", "TRACKING", "ON", "NOLOOP"],
      ["t", "GET", "k"],
      ["t", "SET", "k", "1"],
      ["QUIET"],
      ["t", "GET", "k"],
      ["w", "SET", "k", "2"],
      ["PUSH"],
    ]);
  });

  test("BCAST announces writes under the registered prefixes", async () => {
    await same([
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "job:"],
      ["w", "SET", "user:1", "x"],
      ["PUSH"],
      ["w", "SET", "other", "x"],
      ["w", "HSET", "job:7", "state", "done"],
      ["PUSH"],
      ["QUIET"],
      ["t", "CLIENT", "TRACKINGINFO"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST"],
      ["w", "SET", "anything", "x"],
      ["PUSH"],
    ]);
  });

  test("BCAST gathers a turn's keys into one message per prefix, sorted, as Redis's beforeSleep", async () => {
    const out = await same([
      ["t", "CLIENT", "TRACKING", "ON", "BCAST"],
      ["w", "MSET", "c", "3", "a", "1", "b", "2"],
      ["PUSH"],
      ["QUIET"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "b:", "PREFIX", "a:"],
      ["w", "MULTI"],
      ["w", "INCR", "b:2"],
      ["w", "INCR", "a:1"],
      ["w", "INCR", "c:1"],
      ["w", "INCR", "b:1"],
      ["w", "EXEC"],
      ["PUSH"],
      ["PUSH"],
      ["QUIET"],
    ]);
    expect(out.join("")).toContain("invalidate\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
  });

  test("BCAST with NOLOOP leaves out only the keys the client itself wrote", async () => {
    await same([
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"],
      ["t", "SET", "mine", "1"],
      ["QUIET"],
      ["t", "MULTI"],
      ["t", "SET", "mine", "2"],
      ["t", "SET", "yours", "2"],
      ["t", "EXEC"],
      ["QUIET"],
      ["w", "SET", "theirs", "1"],
      ["PUSH"],
    ]);
  });

  test("OPTIN tracks only after CACHING YES, OPTOUT all but after CACHING NO", async () => {
    await same([
      ["t", "CLIENT", "TRACKING", "ON", "OPTIN"],
      ["t", "GET", "a"],
      ["t", "CLIENT", "CACHING", "YES"],
      ["t", "CLIENT", "TRACKINGINFO"],
      ["t", "GET", "b"],
      ["t", "GET", "c"],
      ["w", "MSET", "a", "1", "b", "1", "c", "1"],
      ["PUSH"],
      ["QUIET"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "OPTOUT"],
      ["t", "CLIENT", "CACHING", "NO"],
      ["t", "GET", "a"],
      ["t", "GET", "b"],
      ["w", "MSET", "a", "2", "b", "2"],
      ["PUSH"],
      ["QUIET"],
    ]);
  });

  test("TRACKINGINFO, GETREDIR and every option error read as Redis's", async () => {
    await same([
      ["t", "CLIENT", "TRACKINGINFO"],
      ["t", "CLIENT", "GETREDIR"],
      ["t", "CLIENT", "TRACKING", "ON", "PREFIX", "a"],
      ["t", "CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"],
      ["t", "CLIENT", "TRACKING", "ON", "REDIRECT", "999999"],
      ["t", "CLIENT", "TRACKING", "ON", "REDIRECT", "abc"],
      ["t", "CLIENT", "CACHING", "YES"],
      ["t", "CLIENT", "TRACKING", "ON", "OPTIN", "BCAST"],
      ["t", "CLIENT", "TRACKING", "MAYBE"],
      ["t", "CLIENT", "TRACKING", "ON", "FOO"],
      ["t", "CLIENT", "TRACKING", "ON"],
      ["t", "CLIENT", "CACHING", "YES"],
      ["t", "CLIENT", "CACHING", "MAYBE"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST"],
      ["t", "CLIENT", "GETREDIR"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "NOLOOP"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FO"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "BARB"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "NOLOOP"],
      ["t", "CLIENT", "TRACKINGINFO"],
      ["t", "CLIENT", "TRACKING", "OFF"],
      ["t", "CLIENT", "TRACKING", "ON", "OPTOUT"],
      ["t", "CLIENT", "CACHING", "NO"],
      ["t", "CLIENT", "TRACKINGINFO"],
      ["t", "CLIENT", "CACHING", "YES"],
    ]);
  });
});

/**
 * The tracking connection's CLIENT LIST fields flags=, redir= and multi= through a sequence,
 * read from a second connection (CLIENT INFO inside MULTI would be queued). The redirect
 * target's id differs between servers, so it reads "ID".
 */
async function listFields(target: Target): Promise<string[]> {
  const t = await RawClient.connect(target);
  const w = await RawClient.connect(target);
  const r = await RawClient.connect(target);
  const idOf = async (c: RawClient) =>
    /:(\d+)/.exec((await c.command("CLIENT", "ID")).toString())![1]!;
  try {
    await w.command("FLUSHALL");
    const tid = await idOf(t);
    const rid = await idOf(r);
    const out: string[] = [];
    const note = async (label: string) => {
      const line = (await w.command("CLIENT", "LIST", "ID", tid)).toString("latin1");
      const field = (f: string) => new RegExp(` ${f}=(\\S*)`).exec(line)?.[1];
      out.push(
        // The reference is reached over a unix socket: its U flag is not about tracking.
        `${label}: ${field("flags")!.replace("U", "") || "N"} ${field("redir")?.replace(rid, "ID")} ${field("multi")}`,
      );
      return line;
    };
    await note("plain");
    await t.command("CLIENT", "TRACKING", "ON");
    await note("tracking");
    await t.command("CLIENT", "TRACKING", "OFF");
    await t.command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:");
    await note("bcast");
    await t.command("CLIENT", "TRACKING", "OFF");
    await t.command("CLIENT", "TRACKING", "ON", "REDIRECT", rid);
    await note("redirect");
    r.close();
    await Bun.sleep(50);
    // Redis marks the redirect broken only when an invalidation finds its target gone.
    await note("target closed");
    await t.command("GET", "k");
    await w.command("SET", "k", "1");
    await note("after an invalidation");
    out.push(
      `trackinginfo: ${(await t.command("CLIENT", "TRACKINGINFO")).toString("latin1").includes("broken_redirect")}`,
    );
    await t.command("MULTI");
    await t.command("GET", "k");
    await t.command("GET", "k");
    await note("in MULTI");
    await t.command("DISCARD");
    await t.command("WATCH", "k");
    await note("watching");
    await w.command("SET", "k", "2");
    const watched = await note("watched key written");
    // Redis 7.4 added watch=; the reference server here (7.0) has no such field.
    if (target === targets()[0]) expect(watched).toMatch(/ multi=-1 watch=1 qbuf=/);
    return out;
  } finally {
    t.close();
    w.close();
    r.close();
  }
}

describe("CLIENT LIST flags, compared with Redis", () => {
  test("x, t, R, B and d, redir= and multi= as Redis shows them", async () => {
    const [a, b] = await Promise.all(targets().map(listFields));
    expect(a).toEqual(b!);
    expect(a).toEqual([
      "plain: N -1 -1",
      "tracking: t 0 -1",
      "bcast: tB 0 -1",
      "redirect: t ID -1",
      "target closed: t ID -1",
      "after an invalidation: tR ID -1",
      "trackinginfo: true",
      "in MULTI: xtR ID 2",
      "watching: tR ID -1",
      "watched key written: tRd ID -1",
    ]);
  });
});

describe("node-redis client-side cache (RESP3)", () => {
  test("a repeated GET is served from the cache until another client writes the key", async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
    const cached = createClient({
      url: `redis://127.0.0.1:${ours.port}`,
      RESP: 3,
      clientSideCache: cache,
    });
    const writer = createClient({ url: `redis://127.0.0.1:${ours.port}` });
    await Promise.all([cached.connect(), writer.connect()]);
    try {
      await writer.set("csc:k", "one");
      expect(await cached.get("csc:k")).toBe("one");
      expect(await cached.get("csc:k")).toBe("one");
      expect(cache.stats().hitCount).toBe(1);
      await writer.set("csc:k", "two");
      const deadline = Date.now() + 2000;
      while (cache.size() > 0 && Date.now() < deadline) await Bun.sleep(5);
      expect(cache.size()).toBe(0);
      expect(await cached.get("csc:k")).toBe("two");
      expect(cache.stats().missCount).toBe(2);
    } finally {
      await cached.close();
      await writer.close();
    }
  });
});
