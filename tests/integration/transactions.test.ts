import { expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { rawExchange, resp, startTestServer } from "../helpers/server.ts";

async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, lazyConnect: true });
  await c.connect();
  return c;
}

test("MULTI / EXEC runs the queued commands in order and returns their replies", async () => {
  await using server = await startTestServer();
  const { data } = await rawExchange(
    server.port,
    Buffer.concat([
      resp("MULTI"),
      resp("SET", "a", "1"),
      resp("INCR", "a"),
      resp("GET", "a"),
      resp("MSET", "b", "2", "c", "3"),
      resp("MGET", "a", "b", "c"),
      resp("EXEC"),
    ]),
  );
  expect(data.toString()).toBe(
    "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n" +
      "*5\r\n+OK\r\n:2\r\n$1\r\n2\r\n+OK\r\n*3\r\n$1\r\n2\r\n$1\r\n2\r\n$1\r\n3\r\n",
  );
});

test("EXEC fails if there are errors while queueing commands", async () => {
  await using server = await startTestServer();
  const { data } = await rawExchange(
    server.port,
    Buffer.concat([
      resp("MULTI"),
      resp("SET", "x", "1"),
      resp("NOSUCHCMD"),
      resp("GET"),
      resp("EXEC"),
      resp("GET", "x"),
    ]),
  );
  expect(data.toString()).toBe(
    "+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n" +
      "-ERR wrong number of arguments for 'get' command\r\n" +
      "-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n",
  );
});

test("If EXEC fails due to a runtime error the other commands still run", async () => {
  await using server = await startTestServer();
  const c = await client(server.port);
  await c.set("text", "abc");
  const res = await c.multi().incr("text").set("after", "yes").exec();
  expect(res![0]![0]).toBeInstanceOf(Error);
  expect(String(res![0]![0])).toContain("value is not an integer");
  expect(res![1]).toEqual([null, "OK"]);
  expect(await c.get("after")).toBe("yes");
  c.disconnect();
});

test("MULTI nested, EXEC and DISCARD without MULTI, WATCH inside MULTI reply Redis's errors", async () => {
  await using server = await startTestServer();
  const { data } = await rawExchange(
    server.port,
    Buffer.concat([
      resp("EXEC"),
      resp("DISCARD"),
      resp("MULTI"),
      resp("MULTI"),
      resp("WATCH", "k"),
      resp("DISCARD"),
      resp("PING"),
    ]),
  );
  expect(data.toString()).toBe(
    "-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n" +
      "-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n+PONG\r\n",
  );
});

test("EXEC fails if a WATCHed key is modified by another client", async () => {
  await using server = await startTestServer();
  const a = await client(server.port);
  const b = await client(server.port);
  await a.set("balance", "10");
  await a.watch("balance");
  await b.set("balance", "99");
  expect(await a.multi().set("balance", "11").exec()).toBeNull();
  expect(await a.get("balance")).toBe("99");
  // After EXEC the key is no longer watched.
  expect(await a.multi().set("balance", "12").exec()).toEqual([[null, "OK"]]);
  a.disconnect();
  b.disconnect();
});

test("After UNWATCH or DISCARD a modified key no longer aborts EXEC", async () => {
  await using server = await startTestServer();
  const a = await client(server.port);
  await a.watch("k");
  await a.set("k", "changed");
  await a.unwatch();
  expect(await a.multi().get("k").exec()).toEqual([[null, "changed"]]);
  a.disconnect();
  // DISCARD unwatches too (raw, since client libraries hide a bare MULTI/DISCARD).
  const { data } = await rawExchange(
    server.port,
    Buffer.concat([
      resp("WATCH", "k"),
      resp("SET", "k", "again"),
      resp("MULTI"),
      resp("DISCARD"),
      resp("MULTI"),
      resp("GET", "k"),
      resp("EXEC"),
    ]),
  );
  expect(data.toString()).toBe(
    "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n$5\r\nagain\r\n",
  );
});

test("FLUSHALL touches every watched key", async () => {
  await using server = await startTestServer();
  const a = await client(server.port);
  const b = await client(server.port);
  await a.set("k", "1");
  await a.watch("k");
  await b.flushall();
  expect(await a.multi().get("k").exec()).toBeNull();
  a.disconnect();
  b.disconnect();
});

test("no other client's command runs between the commands of one EXEC", async () => {
  await using server = await startTestServer();
  const writer = await client(server.port);
  const reader = await client(server.port);
  let inconsistent = 0;
  let stop = false;
  const watcher = (async () => {
    while (!stop) {
      const [x, y] = await reader.mget("x", "y");
      if (x !== y) inconsistent++;
    }
  })();
  for (let i = 0; i < 300; i++) {
    await writer.multi().set("x", String(i)).set("y", String(i)).exec();
  }
  stop = true;
  await watcher;
  expect(inconsistent).toBe(0);
  writer.disconnect();
  reader.disconnect();
});

test("a rate limiter with INCR and EXPIRE in MULTI works unchanged with ioredis", async () => {
  await using server = await startTestServer();
  const c = await client(server.port);
  const allow = async (user: string, limit: number) => {
    const res = await c.multi().incr(`rate:${user}`).expire(`rate:${user}`, 60, "NX").exec();
    return (res![0]![1] as number) <= limit;
  };
  const results: boolean[] = [];
  for (let i = 0; i < 7; i++) results.push(await allow("alice", 5));
  expect(results).toEqual([true, true, true, true, true, false, false]);
  expect(await c.ttl("rate:alice")).toBe(60);
  c.disconnect();
});

test("node-redis transactions (multi().exec()) work, including WATCH aborts", async () => {
  await using server = await startTestServer();
  const c = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
  await c.connect();
  const replies: unknown[] = await c.multi().set("a", "1").get("a").exec();
  expect(replies).toEqual(["OK", "1"]);
  c.destroy();
});

test("the writes of one EXEC share one transaction per shard", async () => {
  await using server = await startTestServer({ numShards: 1 });
  let commits = 0;
  const scheduler = server.handle.store.scheduler as unknown as {
    events: { onCommit?: () => void };
  };
  scheduler.events.onCommit = () => commits++;
  const c = await client(server.port);
  const m = c.multi();
  for (let i = 0; i < 50; i++) m.set(`k${i}`, "v");
  await m.exec();
  expect(commits).toBe(1);
  expect(await c.dbsize()).toBe(50);
  c.disconnect();
});

test("FLUSHALL removes hashes, small and large, as well as strings", async () => {
  await using server = await startTestServer();
  const c = await client(server.port);
  await c.set("plain", "1");
  await c.hset("users", "alice", "1", "bob", "2");
  const big: string[] = [];
  for (let i = 0; i < 200; i++) big.push(`f${i}`, "v");
  await c.hset("big", ...big);
  expect(await c.object("ENCODING", "big")).toBe("hashtable");
  expect(await c.flushall()).toBe("OK");
  expect(await c.get("plain")).toBeNull();
  expect(await c.hgetall("users")).toEqual({});
  expect(await c.exists("plain", "users", "big")).toBe(0);
  expect(await c.dbsize()).toBe(0);
  expect(await c.hlen("big")).toBe(0);
  await c.hset("users", "carol", "3");
  expect(await c.hgetall("users")).toEqual({ carol: "3" });
  c.disconnect();
});

test("hash commands inside MULTI see the transaction's earlier writes", async () => {
  await using server = await startTestServer();
  const c = await client(server.port);
  const res = await c
    .multi()
    .hset("h", "a", "1", "b", "2")
    .hincrby("h", "a", 5)
    .hget("h", "a")
    .set("plain", "x")
    .hlen("h")
    .get("plain")
    .exec();
  expect(res).toEqual([
    [null, 2],
    [null, 6],
    [null, "6"],
    [null, "OK"],
    [null, 2],
    [null, "x"],
  ]);
  c.disconnect();
});
