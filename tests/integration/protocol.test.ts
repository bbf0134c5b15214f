/**
 * The wire protocol over raw sockets: inline commands, pipelining, hostile frames (each gets
 * `-ERR Protocol error: ...` and only that connection closes), QUIT, backpressure from a
 * client that does not read, and reply ordering in a long pipeline. Where Redis 7 words a
 * protocol error the same way, the reply bytes are compared with a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { limits } from "../../src/limits.ts";
import { exchange, RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { resp, startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let redis: RedisRef;
/** A second client that stays connected while others misbehave. */
let bystander: RawClient;

beforeAll(async () => {
  [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
  bystander = await RawClient.connect({ port: server.port });
});

afterAll(async () => {
  bystander?.close();
  await server?.[Symbol.asyncDispose]();
  await redis?.[Symbol.asyncDispose]();
});

/** The bystander can still talk to the server, with a round trip that is not stuck. */
async function expectBystanderWorks(): Promise<void> {
  const started = performance.now();
  expect((await bystander.command("PING")).toString()).toBe("+PONG\r\n");
  expect((await bystander.command("SET", "bystander", "still here")).toString()).toBe("+OK\r\n");
  expect((await bystander.command("GET", "bystander")).toString()).toBe("$10\r\nstill here\r\n");
  expect(performance.now() - started).toBeLessThan(1000);
  expect(bystander.closed).toBe(false);
}

/** Deterministic pseudo-random bytes (mulberry32), so a failure can be replayed. */
function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

describe("inline commands", () => {
  test("inline commands with double and single quotes are split like redis-cli input", async () => {
    const { data, closedByPeer } = await exchange(
      { port: server.port },
      'SET "a b" \'c d\'\r\nGET "a b"\r\nSET q "tab\\there\\x41"\r\nGET q\r\nECHO \'it\\\'s\'\r\n',
    );
    expect(data.toString("latin1")).toBe(
      "+OK\r\n$3\r\nc d\r\n+OK\r\n$9\r\ntab\there\x41\r\n$4\r\nit's\r\n",
    );
    expect(closedByPeer).toBe(false);
  });

  test("an inline command ended by a bare LF and one with extra spaces both run", async () => {
    const { data } = await exchange({ port: server.port }, "PING\n   ECHO    hi   \r\n");
    expect(data.toString()).toBe("+PONG\r\n$2\r\nhi\r\n");
  });

  test("empty inline lines are ignored", async () => {
    const { data, closedByPeer } = await exchange({ port: server.port }, "\r\n\r\n\nPING\r\n");
    expect(data.toString()).toBe("+PONG\r\n");
    expect(closedByPeer).toBe(false);
  });
});

describe("pipelining", () => {
  test("pipelined commands in one exchange get their replies in order", async () => {
    const { data } = await exchange(
      { port: server.port },
      Buffer.concat([
        resp("SET", "pipe", "1"),
        resp("GET", "pipe"),
        Buffer.from("PING\r\n"),
        resp("DEL", "pipe"),
        resp("GET", "pipe"),
        resp("ECHO", "end"),
      ]),
    );
    expect(data.toString()).toBe("+OK\r\n$1\r\n1\r\n+PONG\r\n:1\r\n$-1\r\n$3\r\nend\r\n");
  });

  test("replies to a 10,000-command raw pipeline arrive complete and in order", async () => {
    const requests: Buffer[] = [];
    let expected = "";
    for (let i = 0; i < 5000; i++) {
      requests.push(resp("SET", `rp:${i % 97}`, `v${i}`), resp("GET", `rp:${i % 97}`));
      const v = `v${i}`;
      expected += `+OK\r\n$${v.length}\r\n${v}\r\n`;
    }
    const { data, closedByPeer } = await exchange({ port: server.port }, Buffer.concat(requests), {
      untilBytes: expected.length,
    });
    expect(closedByPeer).toBe(false);
    expect(data.length).toBe(expected.length);
    expect(data.toString() === expected).toBe(true);
  });

  test("a request split across many small writes is parsed once complete", async () => {
    const bytes = Buffer.concat([resp("SET", "split", "value"), resp("GET", "split")]);
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 5) parts.push(bytes.subarray(i, i + 5));
    const { data } = await exchange({ port: server.port }, parts);
    expect(data.toString()).toBe("+OK\r\n$5\r\nvalue\r\n");
  });
});

describe("errors in commands keep the connection open", () => {
  test("wrong arity and unknown commands reply with errors and later commands still run", async () => {
    const { data, closedByPeer } = await exchange(
      { port: server.port },
      Buffer.concat([
        resp("GET"),
        resp("NOSUCH", "x"),
        resp("SET", "k", "v", "BADOPT"),
        resp("CLIENT", "NOSUB"),
        Buffer.from("get\r\n"),
        resp("PING"),
      ]),
    );
    expect(data.toString()).toBe(
      "-ERR wrong number of arguments for 'get' command\r\n" +
        "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n" +
        "-ERR syntax error\r\n" +
        "-ERR unknown subcommand 'NOSUB'. Try CLIENT HELP.\r\n" +
        "-ERR wrong number of arguments for 'get' command\r\n" +
        "+PONG\r\n",
    );
    expect(closedByPeer).toBe(false);
  });

  test("CR and LF inside an unknown command's arguments never break the reply stream", async () => {
    const { data, closedByPeer } = await exchange(
      { port: server.port },
      Buffer.concat([resp("FOO\r\n+OK", "a\r\n:1"), resp("PING")]),
    );
    expect(data.toString()).toBe(
      "-ERR unknown command 'FOO  +OK', with args beginning with: 'a  :1' \r\n+PONG\r\n",
    );
    expect(closedByPeer).toBe(false);
  });
});

describe("QUIT", () => {
  test("QUIT replies +OK and then closes the connection", async () => {
    const { data, closedByPeer } = await exchange({ port: server.port }, "QUIT\r\n");
    expect(data.toString()).toBe("+OK\r\n");
    expect(closedByPeer).toBe(true);
  });

  test("commands pipelined after QUIT are not run", async () => {
    const { data, closedByPeer } = await exchange(
      { port: server.port },
      Buffer.concat([resp("PING"), resp("QUIT"), resp("SET", "after-quit", "1")]),
    );
    expect(data.toString()).toBe("+PONG\r\n+OK\r\n");
    expect(closedByPeer).toBe(true);
    expect((await bystander.command("EXISTS", "after-quit")).toString()).toBe(":0\r\n");
  });
});

describe("hostile frames", () => {
  const nesting = Buffer.from("*1\r\n".repeat(10_000));
  const cases: [string, Buffer | string, string][] = [
    ["a huge declared bulk length $999999999999", "*1\r\n$999999999999\r\n", "invalid bulk length"],
    ["a bulk length over 512 MiB", `*1\r\n$${limits.bulkBytesMax + 1}\r\n`, "invalid bulk length"],
    [
      "a multibulk count over the limit",
      `*${limits.argsCountMax + 1}\r\n`,
      "invalid multibulk length",
    ],
    [
      "a negative multibulk count beyond int64",
      "*-99999999999999999999\r\n",
      "invalid multibulk length",
    ],
    ["a non-numeric multibulk count", "*abc\r\n", "invalid multibulk length"],
    ["a non-numeric bulk length", "*1\r\n$abc\r\n", "invalid bulk length"],
    ["a negative bulk length", "*1\r\n$-1\r\n", "invalid bulk length"],
    ["nested multibulk headers *1 *1 *1 ...", nesting, "expected '$', got '*'"],
    [
      "a missing CRLF after a bulk payload",
      "*1\r\n$4\r\nPINGxx\r\n",
      "expected CRLF after bulk data",
    ],
    ["an inline line with unbalanced quotes", 'SET "a b\r\n', "unbalanced quotes in request"],
    [
      "an inline request over 64 KiB without a newline",
      "x".repeat(limits.inlineBytesMax + 10),
      "too big inline request",
    ],
    ["a header line that never ends", `*1\r\n$${"1".repeat(100)}`, "too big bulk count string"],
  ];

  for (const [what, payload, message] of cases) {
    test(`${what} gets -ERR Protocol error and closes only that connection`, async () => {
      const { data, closedByPeer } = await exchange({ port: server.port }, payload, {
        timeoutMs: 5000,
      });
      expect(data.toString()).toBe(`-ERR Protocol error: ${message}\r\n`);
      expect(closedByPeer).toBe(true);
      await expectBystanderWorks();
    });
  }

  test("a negative multibulk count *-5 is skipped like Redis: the connection stays and the next command runs", async () => {
    const { data } = await exchange({ port: server.port }, `*-5\r\n${resp("PING").toString()}`, {
      timeoutMs: 5000,
      untilBytes: 7,
    });
    expect(data.toString()).toBe("+PONG\r\n");
  });

  test("replies owed before a protocol error are sent first", async () => {
    const { data, closedByPeer } = await exchange(
      { port: server.port },
      Buffer.concat([resp("SET", "owed", "1"), resp("GET", "owed"), Buffer.from("*1\r\n*1\r\n")]),
    );
    expect(data.toString()).toBe(
      "+OK\r\n$1\r\n1\r\n-ERR Protocol error: expected '$', got '*'\r\n",
    );
    expect(closedByPeer).toBe(true);
  });

  const noiseCases: [string, () => Buffer][] = [
    ["1 MiB of seeded random bytes (seed 20240601)", () => seededBytes(20240601, 1 << 20)],
    ["1 MiB of seeded random bytes (seed 7)", () => seededBytes(7, 1 << 20)],
    [
      "1 MiB of seeded random bytes after a valid multibulk start",
      () =>
        Buffer.concat([
          Buffer.from("*3\r\n$3\r\nSET\r\n$5\r\nnoise\r\n$100\r\n"),
          seededBytes(99, 1 << 20),
        ]),
    ],
    [
      "1 MiB of seeded random bytes that start with '*'",
      () => Buffer.concat([Buffer.from("*"), seededBytes(1234, 1 << 20)]),
    ],
  ];
  for (const [what, make] of noiseCases) {
    test(`${what} end in a protocol error without harming others`, async () => {
      const { data, closedByPeer } = await exchange({ port: server.port }, make(), {
        timeoutMs: 5000,
      });
      expect(closedByPeer).toBe(true);
      expect(data.toString("latin1")).toMatch(/-ERR Protocol error: [^\r\n]+\r\n$/);
      await expectBystanderWorks();
    });
  }

  const sameAsRedis: [string, string | Buffer][] = [
    ["a huge declared bulk length", "*1\r\n$999999999999\r\n"],
    ["a bulk length over proto-max-bulk-len", "*1\r\n$536870913\r\n"],
    ["nested multibulk headers", "*1\r\n*1\r\n*1\r\n"],
    ["a non-numeric multibulk count", "*abc\r\n"],
    ["unbalanced quotes", "SET 'a b\r\n"],
    ["a quote not followed by a space", 'SET "a"b c\r\n'],
    ["an inline request over 64 KiB", "x".repeat(limits.inlineBytesMax + 10)],
    ["replies owed before the bad frame", "SET owed 1\r\nGET owed\r\n*1\r\n*1\r\n"],
  ];
  for (const [what, payload] of sameAsRedis) {
    test(`${what} gets the same protocol error reply as Redis`, async () => {
      const [ours, theirs] = await Promise.all([
        exchange({ port: server.port }, payload, { timeoutMs: 5000 }),
        exchange({ unix: redis.socket }, payload, { timeoutMs: 5000 }),
      ]);
      expect(ours.data.toString("latin1")).toBe(theirs.data.toString("latin1"));
      expect(ours.closedByPeer).toBe(theirs.closedByPeer);
    });
  }
});

describe("backpressure", () => {
  test("a client that sends many large GETs without reading does not stall other clients", async () => {
    const valueBytes = 1024 * 1024;
    const gets = 48;
    const value = Buffer.alloc(valueBytes, 0x61);
    expect((await bystander.command("SET", "bp:big", value)).toString()).toBe("+OK\r\n");

    const reply = Buffer.concat([Buffer.from(`$${valueBytes}\r\n`), value, Buffer.from("\r\n")]);
    const expectedBytes = reply.length * gets;
    let received = 0;
    let mismatch = false;
    const sock = netConnect({ host: "127.0.0.1", port: server.port });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once("connect", () => resolve());
        sock.once("error", reject);
      });
      sock.pause();
      const getReq = resp("GET", "bp:big");
      for (let i = 0; i < gets; i++) sock.write(getReq);
      const done = new Promise<void>((resolve) => {
        sock.on("data", (d: Buffer) => {
          for (let i = 0; i < d.length; i++) {
            if (d[i] !== reply[(received + i) % reply.length]) mismatch = true;
          }
          received += d.length;
          if (received >= expectedBytes) resolve();
        });
      });
      // While the slow client's replies pile up unread, others are served promptly.
      await Bun.sleep(100);
      expect(received).toBe(0);
      for (let i = 0; i < 5; i++) await expectBystanderWorks();
      // Once it reads again, it gets every reply, intact and in order.
      sock.resume();
      await Promise.race([
        done,
        Bun.sleep(10_000).then(() => {
          throw new Error(`only ${received} of ${expectedBytes} reply bytes arrived`);
        }),
      ]);
      expect(received).toBe(expectedBytes);
      expect(mismatch).toBe(false);
    } finally {
      sock.destroy();
    }
  });
});
