/**
 * Pub/sub against a real Redis 7, byte for byte: subscribe confirmations, RESP2 subscriber
 * mode and its error, PING's message-shaped reply, RESP3 push frames (a publisher that
 * subscribes sees its message before PUBLISH's reply), PUBSUB introspection, shard channels.
 * Then ioredis and node-redis (RESP2 and RESP3) subscribers receive the same messages, and a
 * subscriber that stops reading is cut off at the pubsub output-buffer limit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createClient } from "redis";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { resp, startTestServer, type TestServer } from "../helpers/server.ts";

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

/** A step: which connection, the command, and how many frames it answers with. */
type Step = [conn: "sub" | "pub", args: string[], frames?: number];

/** Runs the steps on two fresh connections; returns each step's frames and what `sub` got. */
async function script(target: Target, steps: Step[], resp3 = false): Promise<string[]> {
  const sub = await RawClient.connect(target);
  const pub = await RawClient.connect(target);
  try {
    if (resp3) await sub.command("HELLO", "3");
    const out: string[] = [];
    for (const [who, args, frames = 1] of steps) {
      if (args[0] === "RECEIVE") {
        out.push(`recv ${(await sub.receive()).toString("latin1")}`);
        continue;
      }
      const conn = who === "sub" ? sub : pub;
      out.push(
        `${who} ${args.join(" ")} => ${(await conn.send(resp(...args), frames)).toString("latin1")}`,
      );
    }
    return out;
  } finally {
    sub.close();
    pub.close();
  }
}

const RECEIVE: Step = ["sub", ["RECEIVE"]];

const resp2Steps: Step[] = [
  ["sub", ["SUBSCRIBE", "a", "b"], 2],
  ["sub", ["SUBSCRIBE", "a"]],
  ["sub", ["PSUBSCRIBE", "x*", "y?"], 2],
  ["sub", ["GET", "k"]],
  ["sub", ["CLIENT", "ID"]],
  ["sub", ["PUBLISH", "a", "m"]],
  ["sub", ["GET"]],
  ["sub", ["NOSUCH"]],
  ["sub", ["PING"]],
  ["sub", ["PING", "hi"]],
  ["pub", ["PUBLISH", "a", "m1"]],
  RECEIVE,
  ["pub", ["PUBLISH", "xz", "m2"]],
  RECEIVE,
  ["pub", ["PUBLISH", "nobody", "m3"]],
  ["pub", ["PUBSUB", "CHANNELS", "a*"]],
  ["pub", ["PUBSUB", "NUMSUB", "a", "b", "zz"]],
  ["pub", ["PUBSUB", "NUMSUB"]],
  ["pub", ["PUBSUB", "NUMPAT"]],
  ["sub", ["UNSUBSCRIBE", "a"]],
  ["sub", ["UNSUBSCRIBE", "nosuch"]],
  ["sub", ["PUNSUBSCRIBE", "y?"]],
  ["sub", ["PUNSUBSCRIBE"]],
  ["sub", ["UNSUBSCRIBE"]],
  ["sub", ["UNSUBSCRIBE"]],
  ["sub", ["PUNSUBSCRIBE"]],
  ["sub", ["SSUBSCRIBE", "s1", "s2"], 2],
  ["sub", ["GET", "k"]],
  ["pub", ["SPUBLISH", "s1", "hey"]],
  RECEIVE,
  ["pub", ["PUBLISH", "s1", "not-a-shard-message"]],
  ["pub", ["PUBSUB", "SHARDCHANNELS", "s1"]],
  ["pub", ["PUBSUB", "SHARDNUMSUB", "s1", "zz"]],
  ["sub", ["SUNSUBSCRIBE", "s1"]],
  ["sub", ["SUNSUBSCRIBE"]],
  ["sub", ["SUNSUBSCRIBE"]],
  ["sub", ["GET", "k"]],
  ["sub", ["SUBSCRIBE", "z"]],
  ["sub", ["RESET"]],
  ["sub", ["GET", "k"]],
  ["pub", ["PUBSUB", "NUMSUB", "z"]],
];

const resp3Steps: Step[] = [
  ["sub", ["SUBSCRIBE", "a"]],
  ["sub", ["PSUBSCRIBE", "a*"]],
  ["sub", ["GET", "k"]],
  ["sub", ["PING"]],
  ["sub", ["PUBLISH", "a", "self"], 3],
  ["pub", ["PUBLISH", "ab", "other"]],
  RECEIVE,
  ["sub", ["SSUBSCRIBE", "s"]],
  ["sub", ["SPUBLISH", "s", "self"], 2],
  ["sub", ["UNSUBSCRIBE", "a", "zz"], 2],
  ["sub", ["RESET"]],
];

describe("pub/sub, compared with Redis byte for byte", () => {
  test("RESP2: confirmations, subscriber mode, messages, PUBSUB, shard channels", async () => {
    const [a, b] = await Promise.all(targets().map((t) => script(t, resp2Steps)));
    expect(a).toEqual(b!);
    expect(a).toContain(
      "sub GET k => -ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
  });

  test("RESP3: push frames, any command allowed, own messages before PUBLISH's reply", async () => {
    const [a, b] = await Promise.all(targets().map((t) => script(t, resp3Steps, true)));
    expect(a).toEqual(b!);
  });

  test("CLIENT LIST shows a subscriber's counts and the P flag, and TYPE pubsub selects it", async () => {
    const fields = (line: string) =>
      line
        .split(" ")
        .filter((f) => /^(flags|sub|psub|ssub)=/.test(f))
        .join(" ")
        // The reference redis-server is reached over a unix socket, which adds flag U.
        .replace(/^flags=(\w*)U/, "flags=$1");
    for (const t of targets()) {
      const sub = await RawClient.connect(t);
      const probe = await RawClient.connect(t);
      try {
        await sub.send(resp("SUBSCRIBE", "a", "b"), 2);
        await sub.send(resp("PSUBSCRIBE", "p*"), 1);
        await sub.send(resp("SSUBSCRIBE", "s"), 1);
        const pubsub = (await probe.command("CLIENT", "LIST", "TYPE", "pubsub")).toString();
        const normal = (await probe.command("CLIENT", "LIST", "TYPE", "normal")).toString();
        expect(
          pubsub
            .split("\n")
            .filter((l) => l.includes("id="))
            .map(fields),
        ).toEqual(["flags=P sub=2 psub=1 ssub=1"]);
        expect(normal).not.toContain("flags=P");
      } finally {
        probe.close();
        sub.close();
      }
    }
  });

  test("binary channel names and payloads pass through unchanged", async () => {
    const steps: Step[] = [
      ["sub", ["SUBSCRIBE", "ch\u00ff\u0000x"]],
      ["sub", ["PSUBSCRIBE", "ch\u00ff*"]],
      ["pub", ["PUBLISH", "ch\u00ff\u0000x", "\u0000\u00fe"]],
      RECEIVE,
      RECEIVE,
    ];
    const [a, b] = await Promise.all(targets().map((t) => script(t, steps)));
    expect(a).toEqual(b!);
  });
});

describe("client libraries subscribe", () => {
  test("ioredis, node-redis RESP2 and node-redis RESP3 receive the same messages", async () => {
    const got: Record<string, string[]> = { ioredis: [], nr2: [], nr3: [] };
    const io = new Redis({ port: ours.port });
    await io.subscribe("news");
    await io.psubscribe("new*");
    io.on("message", (ch, m) => got.ioredis!.push(`message ${ch} ${m}`));
    io.on("pmessage", (p, ch, m) => got.ioredis!.push(`pmessage ${p} ${ch} ${m}`));
    const nr = await Promise.all(
      ([2, 3] as const).map(async (RESP) => {
        const c = createClient({ url: `redis://127.0.0.1:${ours.port}`, RESP });
        await c.connect();
        const list = got[`nr${RESP}`]!;
        await c.subscribe("news", (m, ch) => list.push(`message ${ch} ${m}`));
        await c.pSubscribe("new*", (m, ch) => list.push(`pmessage new* ${ch} ${m}`));
        return c;
      }),
    );
    const publisher = new Redis({ port: ours.port });
    try {
      expect(await publisher.publish("news", "hi")).toBe(6);
      expect(await publisher.publish("newer", "there")).toBe(3);
      expect(await publisher.pubsub("NUMSUB", "news")).toEqual(["news", 3]);
      const deadline = Date.now() + 3000;
      while (Object.values(got).some((l) => l.length < 3) && Date.now() < deadline)
        await Bun.sleep(10);
      const sorted = (l: string[]) => [...l].sort();
      const expected = sorted([
        "message news hi",
        "pmessage new* news hi",
        "pmessage new* newer there",
      ]);
      expect(sorted(got.ioredis!)).toEqual(expected);
      expect(sorted(got.nr2!)).toEqual(expected);
      expect(sorted(got.nr3!)).toEqual(expected);
    } finally {
      io.disconnect();
      publisher.disconnect();
      for (const c of nr) await c.close();
    }
  });

  test("a RESP3 node-redis client keeps running commands while subscribed", async () => {
    const c = createClient({ url: `redis://127.0.0.1:${ours.port}`, RESP: 3 });
    await c.connect();
    try {
      await c.subscribe("ch", () => {});
      expect(await c.set("k-resp3-sub", "v")).toBe("OK");
      expect(await c.get("k-resp3-sub")).toBe("v");
    } finally {
      await c.close();
    }
  });
});

describe("a subscriber that stops reading", () => {
  test("is disconnected past the pubsub hard limit (32 MiB) and leaves its channels", async () => {
    let closed = false;
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: ours.port,
      socket: {
        data() {},
        close() {
          closed = true;
        },
      },
    });
    socket.write(resp("SUBSCRIBE", "flood"));
    const pub = new Redis({ port: ours.port });
    try {
      while ((await pub.pubsub("NUMSUB", "flood"))[1] !== 1) await Bun.sleep(5);
      socket.pause();
      const payload = Buffer.alloc(1024 * 1024, 120);
      for (let i = 0; i < 64 && (await pub.pubsub("NUMSUB", "flood"))[1] === 1; i++)
        await pub.publish("flood", payload);
      expect((await pub.pubsub("NUMSUB", "flood"))[1]).toBe(0);
      const deadline = Date.now() + 3000;
      while (!closed && Date.now() < deadline) {
        socket.resume();
        await Bun.sleep(10);
      }
      expect(closed).toBe(true);
    } finally {
      socket.end();
      pub.disconnect();
    }
  }, 20_000);
});
