/**
 * Cluster mode in-process: three nodes on loopback joined as redis-cli would, then Redis's
 * introspection formats, redirects in Redis's words, and cluster clients (ioredis Cluster,
 * node-redis createCluster) round-tripping thousands of strings and hashes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { createCluster as createNodeRedisCluster } from "redis";
import { keySlot } from "../../src/cluster/slots.ts";
import { errorOf } from "../helpers/clients.ts";
import type { TestServer } from "../helpers/server.ts";
import { busPort, client, createCluster, startClusterNode } from "./cluster-harness.ts";

const b = (s: string) => new TextEncoder().encode(s);
let nodes: TestServer[] = [];
let direct: Redis[] = [];

beforeAll(async () => {
  nodes = await Promise.all([0, 1, 2].map((i) => startClusterNode(i)));
  await createCluster(nodes);
  direct = await Promise.all(nodes.map((n) => client(n.port)));
});

afterAll(async () => {
  for (const c of direct) c.disconnect();
  for (const n of nodes) await n[Symbol.asyncDispose]();
});

/** The node index owning a key's slot (node i owns the i-th third). */
const ownerOf = (key: string) => Math.min(2, Math.floor(keySlot(b(key)) / 5461));

describe("introspection", () => {
  test("CLUSTER INFO reports an ok cluster of three nodes, CRLF-separated", async () => {
    const info = (await direct[0]!.call("CLUSTER", "INFO")) as string;
    expect(info).toContain("cluster_state:ok\r\n");
    expect(info).toContain("cluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n");
    expect(info).toContain("cluster_known_nodes:3\r\ncluster_size:3\r\n");
    expect(info).toContain("cluster_my_epoch:1\r\n");
  });

  test("CLUSTER NODES lists every node with its 40-hex id, address, flags, epoch and slots", async () => {
    const text = (await direct[1]!.call("CLUSTER", "NODES")) as string;
    const lines = text.trim().split("\n");
    expect(lines).toHaveLength(3);
    const myId = (await direct[1]!.call("CLUSTER", "MYID")) as string;
    expect(myId).toMatch(/^[0-9a-f]{40}$/);
    const mine = lines.find((l) => l.startsWith(myId))!;
    expect(mine).toMatch(
      new RegExp(
        `^${myId} 127\\.0\\.0\\.1:${nodes[1]!.port}@${busPort(nodes[1]!)} myself,master - 0 \\d+ 2 connected 5461-10921$`,
      ),
    );
    for (const l of lines) expect(l.split(" ")[7]).toBe("connected");
  });

  test("CLUSTER SLOTS and CLUSTER SHARDS cover the whole cluster", async () => {
    const slots = (await direct[2]!.call("CLUSTER", "SLOTS")) as unknown[][];
    expect(slots.map((s) => [s[0], s[1], (s[2] as unknown[])[1]])).toEqual([
      [0, 5460, nodes[0]!.port],
      [5461, 10921, nodes[1]!.port],
      [10922, 16383, nodes[2]!.port],
    ]);
    const shards = (await direct[0]!.call("CLUSTER", "SHARDS")) as unknown[][];
    expect(shards).toHaveLength(3);
    expect(shards[0]![0]).toBe("slots");
    expect(shards[0]![2]).toBe("nodes");
  });

  test("CLUSTER KEYSLOT, COUNTKEYSINSLOT and GETKEYSINSLOT", async () => {
    expect(await direct[0]!.call("CLUSTER", "KEYSLOT", "foo")).toBe(12182);
    expect(await direct[0]!.call("CLUSTER", "KEYSLOT", "{user1}.a")).toBe(keySlot(b("user1")));
    const slot = keySlot(b("{t}a"));
    const owner = direct[ownerOf("{t}a")]!;
    await owner.set("{t}a", "1");
    await owner.hset("{t}b", "f", "v");
    expect(await owner.call("CLUSTER", "COUNTKEYSINSLOT", String(slot))).toBe(2);
    expect(
      ((await owner.call("CLUSTER", "GETKEYSINSLOT", String(slot), "10")) as string[]).sort(),
    ).toEqual(["{t}a", "{t}b"]);
    expect(await owner.call("CLUSTER", "GETKEYSINSLOT", String(slot), "1")).toHaveLength(1);
    expect(await errorOf(owner.call("CLUSTER", "COUNTKEYSINSLOT", "16384"))).toBe(
      "ERR Invalid slot",
    );
    expect(await errorOf(owner.call("CLUSTER", "GETKEYSINSLOT", "1", "-1"))).toBe(
      "ERR Invalid slot or number of keys",
    );
  });

  test("INFO cluster says cluster_enabled:1; CONFIG GET shows the cluster parameters", async () => {
    expect(await direct[0]!.info("cluster")).toContain("cluster_enabled:1");
    expect(await direct[0]!.config("GET", "cluster-*")).toEqual(
      expect.arrayContaining([
        "cluster-node-timeout",
        "5000",
        "cluster-require-full-coverage",
        "yes",
      ]),
    );
  });

  test("slot and epoch errors use Redis's words", async () => {
    const c = direct[0]!;
    expect(await errorOf(c.call("CLUSTER", "ADDSLOTS", "0"))).toBe("ERR Slot 0 is already busy");
    expect(await errorOf(c.call("CLUSTER", "ADDSLOTS", "16384"))).toBe(
      "ERR Invalid or out of range slot",
    );
    expect(await errorOf(c.call("CLUSTER", "ADDSLOTSRANGE", "5", "3"))).toBe(
      "ERR start slot number 5 is greater than end slot number 3",
    );
    expect(await errorOf(c.call("CLUSTER", "SETSLOT", "16000", "MIGRATING", "abc"))).toBe(
      "ERR I'm not the owner of hash slot 16000",
    );
    expect(await errorOf(c.call("CLUSTER", "SETSLOT", "1", "IMPORTING", "abc"))).toBe(
      "ERR I'm already the owner of hash slot 1",
    );
    expect(await errorOf(c.call("CLUSTER", "SETSLOT", "1", "BOGUS"))).toBe(
      "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
    );
    expect(await errorOf(c.call("CLUSTER", "SET-CONFIG-EPOCH", "5"))).toBe(
      "ERR The user can assign a config epoch only when the node does not know any other node.",
    );
    expect(await errorOf(c.call("CLUSTER", "FORGET", "abc"))).toBe("ERR Unknown node abc");
    const me = (await c.call("CLUSTER", "MYID")) as string;
    expect(await errorOf(c.call("CLUSTER", "FORGET", me))).toBe(
      "ERR I tried hard but I can't forget myself...",
    );
    expect(await errorOf(c.call("CLUSTER", "MEET", "1.2.3.4", "notaport"))).toBe(
      "ERR Invalid TCP base port specified: notaport",
    );
    expect(await errorOf(c.call("CLUSTER", "MEET", "nosuchhost", "7000"))).toBe(
      "ERR Invalid node address specified: nosuchhost:7000",
    );
    expect(await c.call("CLUSTER", "COUNT-FAILURE-REPORTS", me)).toBe(0);
    expect(await c.call("READONLY")).toBe("OK");
    expect(await c.call("READWRITE")).toBe("OK");
  });
});

describe("redirects", () => {
  test("a key on another node gets MOVED with the owner's address", async () => {
    const wrong = direct[(ownerOf("foo") + 1) % 3]!;
    expect(await errorOf(wrong.get("foo"))).toBe(
      `MOVED 12182 127.0.0.1:${nodes[ownerOf("foo")]!.port}`,
    );
    expect(await errorOf(wrong.hset("foo", "f", "v"))).toBe(
      `MOVED 12182 127.0.0.1:${nodes[ownerOf("foo")]!.port}`,
    );
  });

  test("EVAL routes by its declared keys", async () => {
    const owner = ownerOf("foo");
    const script = "return redis.call('set', KEYS[1], ARGV[1])";
    expect(await errorOf(direct[(owner + 1) % 3]!.eval(script, 1, "foo", "x"))).toBe(
      `MOVED 12182 127.0.0.1:${nodes[owner]!.port}`,
    );
    expect(await direct[owner]!.eval(script, 1, "foo", "x")).toBe("OK");
  });

  test("keys of different slots get CROSSSLOT; keyless commands act on the node", async () => {
    expect(await errorOf(direct[0]!.mset("{a}1", "x", "{b}1", "y"))).toBe(
      "CROSSSLOT Keys in request don't hash to the same slot",
    );
    expect(await direct[0]!.ping()).toBe("PONG");
    expect(typeof (await direct[0]!.dbsize())).toBe("number");
  });

  test("MULTI/EXEC follows the same-slot rule", async () => {
    const c = direct[ownerOf("{tx}")]!;
    const ok = await c.multi().set("{tx}1", "a").set("{tx}2", "b").exec();
    expect(ok).toEqual([
      [null, "OK"],
      [null, "OK"],
    ]);
    const raw = await client(nodes[ownerOf("{tx}")]!.port);
    await raw.call("MULTI");
    await raw.call("SET", "{tx}1", "x");
    const other = ["{a}", "{b}", "{c}", "{d}"].find((t) => ownerOf(t) !== ownerOf("{tx}"))!;
    expect((await errorOf(raw.call("SET", `${other}k`, "y"))).startsWith("MOVED ")).toBe(true);
    expect(await errorOf(raw.call("EXEC"))).toBe(
      "EXECABORT Transaction discarded because of previous errors.",
    );
    raw.disconnect();
  });
});

describe("cluster clients", () => {
  test("ioredis Cluster round-trips thousands of strings and hashes", async () => {
    const cluster = new Redis.Cluster([{ host: "127.0.0.1", port: nodes[0]!.port }]);
    const n = 3000;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) writes.push(cluster.set(`io:s:${i}`, `v${i}`));
    for (let i = 0; i < 500; i++)
      writes.push(cluster.hset(`io:h:${i}`, "a", `${i}`, "b", "x".repeat(i % 50)));
    await Promise.all(writes);
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => cluster.get(`io:s:${i}`)));
    expect(reads.every((v, i) => v === `v${i}`)).toBe(true);
    const hashes = await Promise.all(
      Array.from({ length: 500 }, (_, i) => cluster.hgetall(`io:h:${i}`)),
    );
    expect(hashes.every((h, i) => h.a === `${i}` && h.b === "x".repeat(i % 50))).toBe(true);
    let total = 0;
    for (const c of direct) total += await c.dbsize();
    expect(total).toBeGreaterThanOrEqual(n + 500);
    await cluster.quit();
  });

  test("node-redis createCluster round-trips thousands of strings and hashes", async () => {
    const cluster = createNodeRedisCluster({
      rootNodes: [{ socket: { host: "127.0.0.1", port: nodes[1]!.port } }],
    });
    cluster.on("error", () => {});
    await cluster.connect();
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => cluster.set(`nr:s:${i}`, `v${i}`)));
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => cluster.hSet(`nr:h:${i}`, { f: `${i}` })),
    );
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => cluster.get(`nr:s:${i}`)));
    expect(reads.every((v, i) => v === `v${i}`)).toBe(true);
    const fields = await Promise.all(
      Array.from({ length: 300 }, (_, i) => cluster.hGet(`nr:h:${i}`, "f")),
    );
    expect(fields.every((v, i) => v === `${i}`)).toBe(true);
    await cluster.close();
  });
});

describe("pub/sub across the cluster", () => {
  // Redis forwards PUBLISH over the bus to every node, so a subscriber anywhere receives it;
  // the publisher's reply counts only its own node's receivers. SPUBLISH stays slot-routed.
  test("a PUBLISH on one node reaches subscribers on every node, binary-safe", async () => {
    const subs = await Promise.all(nodes.map((n) => client(n.port)));
    const got: [number, string, Buffer][] = [];
    try {
      await Promise.all(
        subs.map(async (s, i) => {
          s.on("messageBuffer", (channel: Buffer, message: Buffer) =>
            got.push([i, channel.toString("latin1"), message]),
          );
          await s.subscribe("news");
        }),
      );
      const payload = Buffer.from([0, 1, 2, 255, 13, 10, 36]);
      // Only node 1's subscriber is local to node 1.
      expect(await direct[1]!.publish("news", payload)).toBe(1);
      for (let i = 0; i < 200 && got.length < 3; i++) await Bun.sleep(10);
      expect(got.map(([i]) => i).sort()).toEqual([0, 1, 2]);
      for (const [, channel, message] of got) {
        expect(channel).toBe("news");
        expect(message.equals(payload)).toBe(true);
      }
      // A node with no subscriber of its own replies 0, and the others still deliver.
      await subs[2]!.unsubscribe("news");
      got.length = 0;
      expect(await direct[2]!.publish("news", "second")).toBe(0);
      for (let i = 0; i < 200 && got.length < 2; i++) await Bun.sleep(10);
      expect(got.map(([i]) => i).sort()).toEqual([0, 1]);
    } finally {
      for (const s of subs) s.disconnect();
    }
  });
});

describe("scripts in a cluster", () => {
  // Redis's scriptVerifyClusterState: a script may touch only keys served here, all in one
  // slot unless it says allow-cross-slot-keys; refusals are errors, never redirects.
  const keysOf = (owner: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < 2; i++) {
      const k = `sk:${owner}:${i}`;
      if (ownerOf(k) === owner && (out.length === 0 || keySlot(b(k)) !== keySlot(b(out[0]!))))
        out.push(k);
    }
    return out;
  };

  test("keys of another node, or of a second slot, are refused with Redis's errors", async () => {
    const [local1, local2] = keysOf(0);
    const [remote] = keysOf(1);
    const c = direct[0]!;
    const get = "return redis.call('get', ARGV[1])";
    expect(await errorOf(c.eval(get, 0, remote!))).toStartWith(
      "ERR Script attempted to access a non local key in a cluster node script:",
    );
    await c.set(local1!, "one");
    expect(await c.eval(get, 0, local1!)).toBe("one");
    // Declared local1 fixes the run's slot; local2 is local but in another slot.
    expect(await errorOf(c.eval(get, 1, local1!, local2!))).toStartWith(
      "ERR Script attempted to access keys that do not hash to the same slot script:",
    );
    // With no declared key, the first key touched fixes the slot.
    const two = "redis.call('get', ARGV[1]) return redis.call('get', ARGV[2])";
    expect(await errorOf(c.eval(two, 0, local1!, local2!))).toStartWith(
      "ERR Script attempted to access keys that do not hash to the same slot script:",
    );
    expect(await c.eval(`#!lua flags=allow-cross-slot-keys\n${two}`, 0, local1!, local2!)).toBe(
      null,
    );
    // A write refused this way writes nothing here.
    const set = "return redis.call('set', ARGV[1], 'x')";
    expect(await errorOf(c.eval(set, 0, remote!))).toStartWith(
      "ERR Script attempted to access a non local key",
    );
    expect(await c.call("CLUSTER", "COUNTKEYSINSLOT", String(keySlot(b(remote!))))).toBe(0);
  });
});
