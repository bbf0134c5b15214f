/**
 * Differential test: seeded random sequences of string and hash commands, sent in pipelined
 * bursts to this server and to a real Redis 7.0, must get byte-identical replies (HGETALL and
 * HKEYS compared as sorted elements, whose order Redis leaves undefined). It runs against the
 * default mode and against async_write with a batch window, where every read in a burst meets
 * writes still pending in the overlays and the value cache is staged across commits.
 * Plain keys (k*) and namespaces (h*) use disjoint names: here a namespace is not a key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Cmd = { args: string[]; unordered?: boolean };

function generator(seed: number) {
  let s = seed;
  const rand = (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return Math.floor(((s >>> 0) / 2 ** 32) * n);
  };
  const key = () => `k${rand(6)}`;
  const ns = () => `h${rand(3)}`;
  const field = () => `f${rand(5)}`;
  // Values: short text, numbers (so INCR/HINCRBY sometimes work), the empty string.
  const value = () => {
    const r = rand(4);
    if (r === 0) return String(rand(200) - 100);
    if (r === 1) return "";
    return `v${rand(1000)}`.repeat(1 + rand(3));
  };
  const commands: (() => Cmd)[] = [
    () => ({ args: ["SET", key(), value()] }),
    () => ({ args: ["SET", key(), value(), "NX"] }),
    () => ({ args: ["SET", key(), value(), "XX", "GET"] }),
    () => ({ args: ["GET", key()] }),
    () => ({ args: ["GET", key()] }),
    () => ({ args: ["MGET", key(), key(), key()] }),
    () => ({ args: ["DEL", key(), key()] }),
    () => ({ args: ["EXISTS", key(), key()] }),
    () => ({ args: ["INCR", key()] }),
    () => ({ args: ["INCRBY", key(), String(rand(10) - 5)] }),
    () => ({ args: ["APPEND", key(), value()] }),
    () => ({ args: ["STRLEN", key()] }),
    () => ({ args: ["GETDEL", key()] }),
    () => ({ args: ["SETNX", key(), value()] }),
    () => ({ args: ["MSET", key(), value(), key(), value()] }),
    () => ({ args: ["HSET", ns(), field(), value()] }),
    () => ({ args: ["HSET", ns(), field(), value(), field(), value()] }),
    () => ({ args: ["HGET", ns(), field()] }),
    () => ({ args: ["HGET", ns(), field()] }),
    () => ({ args: ["HMGET", ns(), field(), field()] }),
    () => ({ args: ["HDEL", ns(), field(), field()] }),
    () => ({ args: ["HEXISTS", ns(), field()] }),
    () => ({ args: ["HLEN", ns()] }),
    () => ({ args: ["HSTRLEN", ns(), field()] }),
    () => ({ args: ["HINCRBY", ns(), field(), String(rand(10) - 5)] }),
    () => ({ args: ["HSETNX", ns(), field(), value()] }),
    () => ({ args: ["HGETALL", ns()], unordered: true }),
    () => ({ args: ["HKEYS", ns()], unordered: true }),
  ];
  return () => commands[rand(commands.length)]!();
}

/** A reply as text; for unordered multi-bulk replies, its elements sorted. */
function render(reply: Buffer, unordered: boolean): string {
  const text = reply.toString("latin1");
  if (!unordered || !text.startsWith("*")) return text;
  const lines = text.split("\r\n");
  const elements: string[] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) elements.push(lines[i + 1]!);
  return `${lines[0]} ${elements.sort().join(",")}`;
}

let redis: RedisRef;
beforeAll(async () => {
  redis = await startRedisRef();
});
afterAll(async () => {
  await redis?.[Symbol.asyncDispose]();
});

const modes: [string, Parameters<typeof startTestServer>[0]][] = [
  ["default mode", {}],
  ["async_write with a batch window", { asyncWrite: true, batchTimeoutMs: 5 }],
];

for (const [mode, overrides] of modes) {
  describe(mode, () => {
    let server: TestServer;
    let ours: RawClient;
    let theirs: RawClient;
    beforeAll(async () => {
      server = await startTestServer({ ...overrides, numShards: 3 });
      ours = await RawClient.connect({ port: server.port });
      theirs = await RawClient.connect({ unix: redis.socket });
    });
    afterAll(async () => {
      ours?.close();
      theirs?.close();
      await server?.[Symbol.asyncDispose]();
    });

    for (const seed of [1, 2, 3, 4, 5, 6]) {
      test(`random pipelined string and hash commands (seed ${seed}) reply like Redis`, async () => {
        await ours.command("FLUSHALL");
        await theirs.command("FLUSHALL");
        const next = generator(seed * 7919);
        const got: string[] = [];
        const want: string[] = [];
        for (let burst = 0; burst < 40; burst++) {
          const cmds = Array.from({ length: 1 + (burst % 12) }, next);
          const [a, b] = await Promise.all([
            Promise.all(cmds.map((c) => ours.command(...c.args))),
            Promise.all(cmds.map((c) => theirs.command(...c.args))),
          ]);
          cmds.forEach((c, i) => {
            got.push(`${c.args.join(" ")} -> ${render(a[i]!, c.unordered ?? false)}`);
            want.push(`${c.args.join(" ")} -> ${render(b[i]!, c.unordered ?? false)}`);
          });
        }
        expect(got).toEqual(want);
      });
    }
  });
}
