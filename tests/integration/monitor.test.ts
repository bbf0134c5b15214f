/**
 * MONITOR against a real Redis 7: the same commands are sent to both servers while a raw
 * connection monitors each, and the two streams must match byte for byte once the timestamp
 * and the client address (TCP here, a unix socket for Redis) are masked. Covers escaping,
 * what is hidden (admin commands, rejected commands), redaction, MULTI/EXEC order, and the
 * monitoring client's own restrictions. Then ioredis and node-redis read the stream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Target = { port: number } | { unix: string };

let ours: TestServer;
let ref: RedisRef;
const targets = (): [string, Target][] => [
  ["ours", { port: ours.port }],
  ["redis", { unix: ref.socket }],
];

beforeAll(async () => {
  ours = await startTestServer();
  ref = await startRedisRef();
});

afterAll(async () => {
  await ours[Symbol.asyncDispose]();
  await ref[Symbol.asyncDispose]();
});

/** `+1795660720.605077 [0 127.0.0.1:50320] ...` with the time and the address masked. */
function masked(line: Buffer): string {
  const text = line.toString("latin1");
  expect(text).toMatch(/^\+\d{10}\.\d{6} \[0 [^\]]+\]( "[^"\\]*(\\.[^"\\]*)*")+\r\n$/);
  return text.replace(/^\+\d+\.\d+ \[0 [^\]]+\]/, "+T [0 ADDR]");
}

/** Reads monitor lines until the one for `ECHO <marker>` (included). */
async function linesUntil(mon: RawClient, marker: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const line = masked(await mon.receive());
    out.push(line);
    if (line.endsWith(`"ECHO" "${marker}"\r\n`)) return out;
  }
}

/** Runs `steps` on a second connection while a first one monitors; returns both sides. */
async function observe(
  target: Target,
  steps: (string | Uint8Array)[][],
): Promise<{ lines: string[]; replies: string[] }> {
  const mon = await RawClient.connect(target);
  const driver = await RawClient.connect(target);
  try {
    expect((await driver.command("FLUSHALL")).toString()).toBe("+OK\r\n");
    expect((await mon.command("MONITOR")).toString()).toBe("+OK\r\n");
    const replies: string[] = [];
    for (const step of steps) replies.push((await driver.command(...step)).toString("latin1"));
    await driver.command("ECHO", "end");
    return { lines: await linesUntil(mon, "end"), replies };
  } finally {
    mon.close();
    driver.close();
  }
}

describe("MONITOR parity with Redis", () => {
  test("the stream shows commands that ran, escaped, redacted and in order", async () => {
    const weird = Buffer.from([0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x00, 0x7f, 0xff, 0x20]);
    const steps: (string | Uint8Array)[][] = [
      ["SET", "plain", "value"],
      ["set", Buffer.from('key with "quotes"'), weird],
      ["GET", Buffer.from("caf\u00e9")],
      ["NOSUCHCOMMAND", "a"],
      ["GET"],
      ["INCR", "plain"],
      ["CONFIG", "GET", "maxmemory"],
      ["CLIENT", "LIST"],
      ["CLIENT", "SETNAME", "watched"],
      ["SLOWLOG", "GET"],
      ["SLOWLOG", "HELP"],
      ["AUTH", "secret"],
      ["AUTH", "user", "secret"],
      ["MULTI"],
      ["SET", "a", "1"],
      ["GET", "a"],
      ["EXEC"],
      ["HSET", "h", "f", "v"],
      ["DEL", "plain", "a"],
      ["FLUSHDB"],
      ["ECHO", ""],
    ];
    const seen: Record<string, string[]> = {};
    for (const [name, target] of targets()) seen[name] = (await observe(target, steps)).lines;
    expect(seen.ours).toEqual(seen.redis!);
    // The hidden and rejected commands really were left out, not lost by both.
    const stream = seen.ours!.join("");
    expect(stream).toContain(
      '"set" "key with \\"quotes\\"" "\\"\\\\\\n\\r\\t\\a\\b\\x00\\x7f\\xff "',
    );
    expect(stream).toContain('"AUTH" "(redacted)" "(redacted)"');
    expect(stream).not.toContain("maxmemory");
    expect(stream).not.toContain("NOSUCHCOMMAND");
    expect(stream).not.toContain('"CLIENT" "LIST"');
  });

  test("HELLO's credentials are redacted", async () => {
    const seen: Record<string, string[]> = {};
    for (const [name, target] of targets()) {
      seen[name] = (
        await observe(target, [["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "n"]])
      ).lines;
    }
    expect(seen.ours).toEqual(seen.redis!);
    expect(seen.ours![0]).toBe(
      '+T [0 ADDR] "HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "n"\r\n',
    );
  });

  test("a monitoring client cannot touch the keyspace, sees its own commands, and RESET ends it", async () => {
    const transcript: Record<string, string[]> = {};
    for (const [name, target] of targets()) {
      const mon = await RawClient.connect(target);
      const out: string[] = [];
      out.push((await mon.command("MONITOR")).toString());
      out.push((await mon.command("GET", "x")).toString());
      out.push((await mon.command("SET", "x", "1")).toString());
      // PING's reply comes first, then its own line.
      out.push((await mon.command("PING")).toString());
      out.push(masked(await mon.receive()));
      // A second MONITOR is ignored without a reply, so ECHO's reply is the next one.
      out.push(
        (await mon.send("*1\r\n$7\r\nMONITOR\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")).toString(),
      );
      out.push(masked(await mon.receive()));
      out.push((await mon.command("MULTI")).toString());
      out.push(masked(await mon.receive()));
      out.push((await mon.command("SET", "x", "1")).toString());
      out.push((await mon.command("EXEC")).toString());
      out.push(masked(await mon.receive()));
      out.push((await mon.command("RESET")).toString());
      out.push((await mon.command("GET", "x")).toString());
      mon.close();
      transcript[name] = out;
    }
    expect(transcript.ours).toEqual(transcript.redis!);
    expect(transcript.ours![1]).toBe("-ERR Replica can't interact with the keyspace\r\n");
    expect(transcript.ours!.at(-1)).toBe("$-1\r\n");
  });

  test("MONITOR inside MULTI fails at EXEC", async () => {
    const transcript: Record<string, string[]> = {};
    for (const [name, target] of targets()) {
      const c = await RawClient.connect(target);
      const out: string[] = [];
      for (const step of [["MULTI"], ["MONITOR"], ["EXEC"], ["PING"]])
        out.push((await c.command(...step)).toString());
      c.close();
      transcript[name] = out;
    }
    expect(transcript.ours).toEqual(transcript.redis!);
    expect(transcript.ours![2]).toBe(
      "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
    );
  });
});

describe("MONITOR with client libraries", () => {
  test("CLIENT LIST flags a monitoring client O", async () => {
    const mon = await RawClient.connect({ port: ours.port });
    const other = await RawClient.connect({ port: ours.port });
    await mon.command("CLIENT", "SETNAME", "mon");
    await mon.command("MONITOR");
    const list = (await other.command("CLIENT", "LIST")).toString();
    expect(list).toMatch(/name=mon [^\n]*flags=O /);
    expect(list).toMatch(/name= [^\n]*flags=N /);
    mon.close();
    other.close();
  });

  test("ioredis parses every line into time, args and source", async () => {
    const redis = new Redis({ port: ours.port, host: "127.0.0.1", lazyConnect: true });
    const writer = new Redis({ port: ours.port, host: "127.0.0.1", lazyConnect: true });
    try {
      await redis.connect();
      const monitor = await redis.monitor();
      const events: { time: string; args: string[]; source: string }[] = [];
      const done = new Promise<void>((resolve) => {
        monitor.on("monitor", (time: string, args: string[], source: string) => {
          events.push({ time, args, source });
          if (args[0] === "get") resolve();
        });
      });
      await writer.connect();
      // A space inside an argument must not split it (ioredis leaves escapes as written).
      await writer.set("lib-key", "a b");
      await writer.get("lib-key");
      await done;
      const set = events.find((e) => e.args[0] === "set")!;
      expect(set.args).toEqual(["set", "lib-key", "a b"]);
      expect(set.source).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(Math.abs(Number(set.time) - Date.now() / 1000)).toBeLessThan(10);
      monitor.disconnect();
    } finally {
      writer.disconnect();
      redis.disconnect();
    }
  });

  test("node-redis receives the lines through client.monitor()", async () => {
    const socket = { port: ours.port, host: "127.0.0.1", reconnectStrategy: false } as const;
    const mon = createClient({ socket });
    const writer = createClient({ socket });
    mon.on("error", () => {});
    writer.on("error", () => {});
    try {
      await mon.connect();
      const lines: string[] = [];
      const done = new Promise<void>((resolve) => {
        void mon.monitor((line: string) => {
          lines.push(line);
          if (line.includes('"node_key"')) resolve();
        });
      });
      await Bun.sleep(20);
      await writer.connect();
      await writer.hSet("node_hash", "node_key", "v");
      await done;
      expect(lines.find((l) => l.includes("node_key"))).toMatch(
        /^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "HSET" "node_hash" "node_key" "v"$/,
      );
    } finally {
      mon.destroy();
      writer.destroy();
    }
  });
});
