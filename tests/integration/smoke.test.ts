import { expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { rawExchange, resp, startTestServer } from "../helpers/server.ts";

test("ioredis can set, get and delete a key", async () => {
  await using server = await startTestServer();
  const client = new Redis({ port: server.port, lazyConnect: true });
  await client.connect();
  expect(await client.set("greeting", "hello")).toBe("OK");
  expect(await client.get("greeting")).toBe("hello");
  expect(await client.del("greeting", "missing")).toBe(1);
  expect(await client.get("greeting")).toBeNull();
  client.disconnect();
});

test("node-redis can set and get a binary value", async () => {
  await using server = await startTestServer();
  const client = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
  await client.connect();
  const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await client.set("bin", value);
  const back = await client.sendCommand(["GET", "bin"], { typeMapping: { 36: Buffer } } as never);
  expect(Buffer.compare(back as unknown as Buffer, value)).toBe(0);
  await client.quit();
});

test("an inline PING gets +PONG", async () => {
  await using server = await startTestServer();
  const { data } = await rawExchange(server.port, "PING\r\n");
  expect(data.toString()).toBe("+PONG\r\n");
});

test("a pipeline of SET and GET replies in order", async () => {
  await using server = await startTestServer();
  const { data } = await rawExchange(server.port, [
    Buffer.concat([
      resp("SET", "a", "1"),
      resp("GET", "a"),
      resp("SET", "a", "2"),
      resp("GET", "a"),
    ]),
  ]);
  expect(data.toString()).toBe("+OK\r\n$1\r\n1\r\n+OK\r\n$1\r\n2\r\n");
});

test("the raw helper reports an open connection as open and sends large payloads whole", async () => {
  await using server = await startTestServer();
  const ping = await rawExchange(server.port, "PING\r\n");
  expect(ping.closed).toBe(false);
  const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
  const { data } = await rawExchange(
    server.port,
    Buffer.concat([resp("SET", "big", big), resp("STRLEN", "big")]),
    {
      quietMs: 500,
    },
  );
  expect(data.toString()).toBe(`+OK\r\n:${big.length}\r\n`);
  const quit = await rawExchange(server.port, "QUIT\r\n");
  expect(quit.data.toString()).toBe("+OK\r\n");
  expect(quit.closed).toBe(true);
});
