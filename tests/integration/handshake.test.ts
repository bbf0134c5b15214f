/**
 * What clients do when they connect: HELLO (RESP2 and RESP3), AUTH, CLIENT subcommands,
 * COMMAND introspection, INFO, CONFIG GET and TIME. These replies legitimately differ from
 * Redis in places (server version, INFO content, CLIENT LIST fields, COMMAND details), so
 * they are checked for shape and for the fields clients rely on, and compared with a real
 * redis-server only where they should match.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis, { type RedisOptions } from "ioredis";
import { createClient } from "redis";
import { RawClient, type RedisRef, replyEnd, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
let redis: RedisRef;

beforeAll(async () => {
  [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await redis?.[Symbol.asyncDispose]();
});

type Value = string | number | null | Value[] | { map: [Value, Value][] };

/** Decodes one RESP2/RESP3 reply (enough of it for these tests); maps keep their order. */
function decode(buf: Buffer, at = 0): { value: Value; next: number } {
  const eol = buf.indexOf("\r\n", at);
  const type = String.fromCharCode(buf[at]!);
  const head = buf.toString("utf8", at + 1, eol);
  const after = eol + 2;
  switch (type) {
    case "+":
    case "-":
      return { value: head, next: after };
    case ":":
      return { value: Number(head), next: after };
    case "_":
      return { value: null, next: after };
    case "$":
    case "=": {
      const n = Number(head);
      if (n < 0) return { value: null, next: after };
      return { value: buf.toString("utf8", after, after + n), next: after + n + 2 };
    }
    case "*":
    case "~":
    case "%": {
      const n = Number(head);
      if (n < 0) return { value: null, next: after };
      const items: Value[] = [];
      let p = after;
      for (let i = 0; i < (type === "%" ? 2 * n : n); i++) {
        const d = decode(buf, p);
        items.push(d.value);
        p = d.next;
      }
      if (type !== "%") return { value: items, next: p };
      const map: [Value, Value][] = [];
      for (let i = 0; i < items.length; i += 2) map.push([items[i]!, items[i + 1]!]);
      return { value: { map }, next: p };
    }
    default:
      throw new Error(`cannot decode type ${type}`);
  }
}

function decodeAll(buf: Buffer): Value {
  const { value, next } = decode(buf);
  expect(next).toBe(buf.length);
  expect(replyEnd(buf)).toBe(buf.length);
  return value;
}

/** Keys of a RESP2 flat key/value array or a RESP3 map. */
function keysOf(v: Value): Value[] {
  if (Array.isArray(v)) return v.filter((_, i) => i % 2 === 0);
  if (v && typeof v === "object" && "map" in v) return v.map.map(([k]) => k);
  throw new Error("not a map");
}

function field(v: Value, key: string): Value | undefined {
  if (Array.isArray(v)) {
    const i = v.findIndex((x, j) => j % 2 === 0 && x === key);
    return i < 0 ? undefined : v[i + 1];
  }
  if (v && typeof v === "object" && "map" in v) return v.map.find(([k]) => k === key)?.[1];
  return undefined;
}

async function connectIoredis(options: RedisOptions = {}) {
  const r = new Redis({
    port: server.port,
    host: "127.0.0.1",
    lazyConnect: true,
    protocol: 2,
    ...options,
  });
  await r.connect();
  return r;
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the command to fail");
}

describe("HELLO", () => {
  test("HELLO 2 replies with the same fields as Redis, as a flat array, and keeps RESP2", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const a = await ours.command("HELLO", "2");
      const b = await theirs.command("HELLO", "2");
      expect(a.subarray(0, 5).toString()).toBe("*14\r\n");
      const hello = decodeAll(a);
      expect(keysOf(hello)).toEqual(keysOf(decodeAll(b)));
      expect(field(hello, "server")).toBe("redis");
      expect(field(hello, "proto")).toBe(2);
      expect(field(hello, "mode")).toBe("standalone");
      expect(field(hello, "role")).toBe("master");
      expect(field(hello, "modules")).toEqual([]);
      expect(String(field(hello, "version"))).toMatch(/^\d+\.\d+\.\d+$/);
      const id = decodeAll(await ours.command("CLIENT", "ID"));
      expect(field(hello, "id")).toBe(id);
      expect((await ours.command("GET", "missing")).toString()).toBe("$-1\r\n");
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("HELLO 3 replies with a RESP3 map holding the same fields as Redis's", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const a = await ours.command("HELLO", "3");
      const b = await theirs.command("HELLO", "3");
      expect(b.subarray(0, 4).toString()).toBe("%7\r\n");
      expect(a.subarray(0, 4).toString()).toBe("%7\r\n");
      const hello = decodeAll(a);
      expect(keysOf(hello)).toEqual(keysOf(decodeAll(b)));
      expect(field(hello, "proto")).toBe(3);
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("after HELLO 3, nil is _, INFO is verbatim text and CONFIG GET is a map", async () => {
    const ours = await RawClient.connect({ port: server.port });
    try {
      await ours.command("HELLO", "3");
      expect((await ours.command("GET", "missing")).toString()).toBe("_\r\n");
      const info = await ours.command("INFO", "server");
      expect(info.subarray(0, 1).toString()).toBe("=");
      expect(info.toString()).toMatch(/^=\d+\r\ntxt:# Server/);
      expect(decodeAll(await ours.command("CONFIG", "GET", "save"))).toEqual({
        map: [["save", ""]],
      });
      expect(decodeAll(await ours.command("MGET", "missing"))).toEqual([null]);
      expect((await ours.command("MGET", "missing")).toString()).toBe("*1\r\n_\r\n");
    } finally {
      ours.close();
    }
  });

  test("HELLO 2 after HELLO 3 replies in RESP2, like Redis, and nil is $-1 again", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      await ours.command("HELLO", "3");
      await theirs.command("HELLO", "3");
      const a = await ours.command("HELLO", "2");
      const b = await theirs.command("HELLO", "2");
      expect(b.subarray(0, 5).toString()).toBe("*14\r\n");
      expect(a.subarray(0, 5).toString()).toBe("*14\r\n");
      expect((await ours.command("GET", "missing")).toString()).toBe("$-1\r\n");
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("a command pipelined right after HELLO 3 is answered in RESP3, like Redis", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const burst = "HELLO 3\r\nGET missing\r\n";
      const a = await ours.send(burst, 2);
      const b = await theirs.send(burst, 2);
      expect(b.subarray(0, 4).toString()).toBe("%7\r\n");
      expect(b.subarray(b.length - 3).toString()).toBe("_\r\n");
      expect(a.subarray(0, 4).toString()).toBe("%7\r\n");
      expect(a.subarray(a.length - 3).toString()).toBe("_\r\n");
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("HELLO with no version reports the current protocol without changing it", async () => {
    const ours = await RawClient.connect({ port: server.port });
    try {
      expect(field(decodeAll(await ours.command("HELLO")), "proto")).toBe(2);
      await ours.command("HELLO", "3");
      expect(field(decodeAll(await ours.command("HELLO")), "proto")).toBe(3);
    } finally {
      ours.close();
    }
  });

  test("HELLO 4 replies NOPROTO like Redis and keeps the connection usable", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      for (const args of [
        ["HELLO", "4"],
        ["HELLO", "0"],
        ["HELLO", "abc"],
      ]) {
        const a = await ours.command(...args);
        expect(a.toString()).toBe((await theirs.command(...args)).toString());
      }
      expect((await ours.command("HELLO", "4")).toString()).toBe(
        "-NOPROTO unsupported protocol version\r\n",
      );
      expect((await ours.command("PING")).toString()).toBe("+PONG\r\n");
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("HELLO 3 SETNAME sets the client name", async () => {
    const ours = await RawClient.connect({ port: server.port });
    try {
      await ours.command("HELLO", "3", "SETNAME", "via-hello");
      expect((await ours.command("CLIENT", "GETNAME")).toString()).toBe("$9\r\nvia-hello\r\n");
      expect(
        (await ours.command("HELLO", "3", "AUTH", "default", "any")).subarray(0, 1).toString(),
      ).toBe("%");
    } finally {
      ours.close();
    }
  });

  test("node-redis with RESP 3 connects with HELLO 3 and reads maps, nils and integers", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" }, RESP: 3 });
    await r.connect();
    try {
      const hello = (await r.sendCommand(["HELLO", "3"])) as Record<string, unknown>;
      const entries = hello instanceof Map ? Object.fromEntries(hello) : hello;
      expect(entries.proto).toBe(3);
      expect(entries.server).toBe("redis");
      expect(await r.get("missing")).toBeNull();
      expect(await r.set("k", "v")).toBe("OK");
      expect(await r.exists("k")).toBe(1);
      const config = (await r.configGet("save")) as Record<string, string>;
      expect(config).toEqual({ save: "" });
      const info = await r.info("keyspace");
      expect(info).toContain("# Keyspace");
      expect(info).toContain("db0:keys=");
      expect(await r.clientInfo()).toMatchObject({ resp: 3 });
    } finally {
      r.destroy();
    }
  });

  test("node-redis with RESP 2 connects without HELLO", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" }, RESP: 2 });
    await r.connect();
    try {
      expect(await r.ping()).toBe("PONG");
      expect(await r.clientInfo()).toMatchObject({ resp: 2 });
    } finally {
      r.destroy();
    }
  });
});

describe("AUTH", () => {
  test("AUTH without a configured password replies with Redis's error text", async () => {
    const ours = await RawClient.connect({ port: server.port });
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const a = await ours.command("AUTH", "secret");
      expect(a.toString()).toBe((await theirs.command("AUTH", "secret")).toString());
      expect(a.toString()).toBe(
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
      );
      expect((await ours.command("PING")).toString()).toBe("+PONG\r\n");
    } finally {
      ours.close();
      theirs.close();
    }
  });

  test("ioredis configured with a password still connects, as it does to Redis", async () => {
    for (const protocol of [2, 3] as const) {
      const r = await connectIoredis({ password: "secret", protocol });
      try {
        expect(await r.ping()).toBe("PONG");
      } finally {
        r.disconnect();
      }
    }
  });
});

describe("CLIENT", () => {
  test("CLIENT SETNAME and GETNAME round-trip, and invalid names are rejected", async () => {
    const r = await connectIoredis();
    try {
      expect(await r.client("GETNAME")).toBeNull();
      expect(await r.client("SETNAME", "worker-1")).toBe("OK");
      expect(await r.client("GETNAME")).toBe("worker-1");
      expect(await errorOf(r.client("SETNAME", "bad name"))).toBe(
        "ERR Client names cannot contain spaces, newlines or special characters.",
      );
      expect(await r.client("GETNAME")).toBe("worker-1");
      expect(await r.client("SETNAME", "")).toBe("OK");
      expect(await r.client("GETNAME")).toBeNull();
    } finally {
      r.disconnect();
    }
  });

  test("CLIENT ID is a distinct integer per connection", async () => {
    const a = await connectIoredis();
    const b = await connectIoredis();
    try {
      const idA = (await a.client("ID")) as number;
      const idB = (await b.client("ID")) as number;
      expect(Number.isInteger(idA)).toBe(true);
      expect(idA).not.toBe(idB);
      expect(await a.client("ID")).toBe(idA);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  test("CLIENT SETINFO sets lib-name and lib-ver shown by CLIENT INFO", async () => {
    const r = await connectIoredis();
    try {
      expect(await r.call("CLIENT", ["SETINFO", "LIB-NAME", "mylib"])).toBe("OK");
      expect(await r.call("CLIENT", ["SETINFO", "lib-ver", "1.2.3"])).toBe("OK");
      expect(await errorOf(r.call("CLIENT", ["SETINFO", "LIB-NAME", "bad name"]))).toBe(
        "ERR lib-name cannot contain spaces, newlines or special characters.",
      );
      expect(await errorOf(r.call("CLIENT", ["SETINFO", "FOO", "bar"]))).toBe(
        "ERR Unrecognized option 'FOO'",
      );
      const info = (await r.client("INFO")) as string;
      expect(info).toContain(" lib-name=mylib ");
      expect(info).toContain(" lib-ver=1.2.3");
      expect(info.endsWith("\n")).toBe(true);
    } finally {
      r.disconnect();
    }
  });

  test("CLIENT INFO describes the calling connection", async () => {
    const r = await connectIoredis();
    try {
      await r.client("SETNAME", "me");
      const id = await r.client("ID");
      const info = (await r.client("INFO")) as string;
      expect(info).toMatch(
        new RegExp(`^id=${id} addr=127\\.0\\.0\\.1:\\d+ laddr=\\S+:${server.port} `),
      );
      expect(info).toContain(" name=me ");
      expect(info).toContain(" db=0 ");
      expect(info).toContain(" resp=2 ");
      expect(info).toContain(" cmd=client|info ");
    } finally {
      r.disconnect();
    }
  });

  test("CLIENT LIST has one line per connected client", async () => {
    const a = await connectIoredis();
    const b = await connectIoredis();
    try {
      await b.client("SETNAME", "listed");
      const idA = await a.client("ID");
      const idB = await b.client("ID");
      const list = (await a.client("LIST")) as string;
      const lines = list.split("\n").filter(Boolean);
      expect(lines.some((l) => l.startsWith(`id=${idA} `))).toBe(true);
      const lineB = lines.find((l) => l.startsWith(`id=${idB} `));
      expect(lineB).toContain(" name=listed ");
      for (const l of lines)
        expect(l).toMatch(/^id=\d+ addr=\S+ laddr=\S+ fd=\d+ name=\S* age=\d+ /);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  test("node-redis reports its library name through CLIENT SETINFO", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
    await r.connect();
    try {
      const info = (await r.sendCommand(["CLIENT", "INFO"])) as string;
      expect(info).toMatch(/ lib-name=node-redis\S* /);
      expect(info).toMatch(/ lib-ver=\d+\.\d+\.\d+/);
    } finally {
      r.destroy();
    }
  });

  test("CLIENT KILL ID closes that connection and replies with the count", async () => {
    const killer = await connectIoredis();
    const victim = await RawClient.connect({ port: server.port });
    try {
      const id = decodeAll(await victim.command("CLIENT", "ID"));
      expect(await killer.client("KILL", "ID", String(id))).toBe(1);
      expect(await killer.client("KILL", "ID", "999999999")).toBe(0);
      for (let i = 0; i < 50 && !victim.closed; i++) await Bun.sleep(5);
      expect(victim.closed).toBe(true);
      expect(await killer.ping()).toBe("PONG");
    } finally {
      killer.disconnect();
      victim.close();
    }
  });

  test("CLIENT KILL ADDR and the old ip:port form close that connection", async () => {
    const killer = await connectIoredis();
    const first = await RawClient.connect({ port: server.port });
    const second = await RawClient.connect({ port: server.port });
    try {
      const addrOf = async (c: RawClient) => {
        const info = String(decodeAll(await c.command("CLIENT", "INFO")));
        return /addr=(\S+)/.exec(info)![1]!;
      };
      expect(await killer.client("KILL", "ADDR", await addrOf(first))).toBe(1);
      expect(await killer.client("KILL", await addrOf(second))).toBe("OK");
      expect(await errorOf(killer.client("KILL", "127.0.0.1:1"))).toBe("ERR No such client");
      for (let i = 0; i < 50 && !(first.closed && second.closed); i++) await Bun.sleep(5);
      expect(first.closed).toBe(true);
      expect(second.closed).toBe(true);
    } finally {
      killer.disconnect();
      first.close();
      second.close();
    }
  });
});

describe("COMMAND", () => {
  test("COMMAND COUNT equals the length of COMMAND", async () => {
    const r = await connectIoredis();
    try {
      const all = (await r.call("COMMAND")) as unknown[];
      expect(await r.call("COMMAND", ["COUNT"])).toBe(all.length);
      expect(all.length).toBeGreaterThan(20);
      const names = all.map((c) => (c as unknown[])[0]);
      expect(names).toContain("get");
      expect(names).toContain("client");
      expect(new Set(names).size).toBe(names.length);
    } finally {
      r.disconnect();
    }
  });

  test("COMMAND INFO get matches Redis's name, arity, flags and key positions", async () => {
    const r = await connectIoredis();
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const [info] = (await r.call("COMMAND", ["INFO", "get"])) as unknown[][];
      const [ref] = decodeAll(await theirs.command("COMMAND", "INFO", "get")) as Value[][];
      expect(info!.slice(0, 6)).toEqual(ref!.slice(0, 6));
      expect(info!.slice(0, 6)).toEqual(["get", 2, ["readonly", "fast"], 1, 1, 1]);
      expect(info).toHaveLength(10);
      expect(await r.call("COMMAND", ["INFO", "nosuchcommand"])).toEqual([null]);
    } finally {
      r.disconnect();
      theirs.close();
    }
  });

  // The flags that decide behaviour here (MULTI queueing, BUSY, NOAUTH, the slow log) are
  // Redis's own, spelled as Redis spells them; client libraries read them too (movablekeys).
  // Every command and subcommand both servers know is compared as a set of flags.
  test("COMMAND flags of every command both servers know match Redis", async () => {
    const r = await connectIoredis();
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      const flagsOf = (rows: unknown[][]): Map<string, string[]> => {
        const out = new Map<string, string[]>();
        for (const row of rows) {
          out.set(String(row[0]), (row[2] as unknown[]).map(String).sort());
          for (const sub of (row[9] as unknown[][] | undefined) ?? [])
            out.set(String(sub[0]), (sub[2] as unknown[]).map(String).sort());
        }
        return out;
      };
      const ours = flagsOf((await r.call("COMMAND")) as unknown[][]);
      const ref = flagsOf(decodeAll(await theirs.command("COMMAND")) as unknown as unknown[][]);
      const differing: string[] = [];
      for (const [name, flags] of ours) {
        const want = ref.get(name);
        if (want && JSON.stringify(want) !== JSON.stringify(flags)) differing.push(name);
      }
      expect(ref.size).toBeGreaterThan(150);
      expect(differing).toEqual([]);
    } finally {
      r.disconnect();
      theirs.close();
    }
  });

  test("COMMAND DOCS set has a summary and arguments", async () => {
    const r = await connectIoredis();
    try {
      const [name, doc] = (await r.call("COMMAND", ["DOCS", "set"])) as [string, unknown[]];
      expect(name).toBe("set");
      const i = doc.indexOf("arguments");
      expect(i).toBeGreaterThanOrEqual(0);
      const args = doc[i + 1] as unknown[][];
      const argNames = args.map((a) => a[a.indexOf("name") + 1]);
      expect(argNames.slice(0, 2)).toEqual(["key", "value"]);
      expect(doc[doc.indexOf("summary") + 1]).toContain("string value");
    } finally {
      r.disconnect();
    }
  });
});

describe("INFO, CONFIG GET and TIME", () => {
  test("INFO contains redis_version, the real tcp_port and a Keyspace section", async () => {
    const r = await connectIoredis();
    try {
      await r.set("info-key", "v");
      const info = await r.info();
      expect(info).toMatch(/^redis_version:\d+\.\d+\.\d+\r?$/m);
      expect(info).toMatch(new RegExp(`^tcp_port:${server.port}\\r?$`, "m"));
      expect(info).toContain("# Keyspace");
      expect(info).toMatch(/^db0:keys=\d+/m);
      const keyspace = await r.info("keyspace");
      expect(keyspace).toContain("# Keyspace");
      expect(keyspace).not.toContain("redis_version");
    } finally {
      r.disconnect();
    }
  });

  test("CONFIG GET save and appendonly report no RDB and no AOF, like Redis started with --save ''", async () => {
    const r = await connectIoredis();
    const theirs = await RawClient.connect({ unix: redis.socket });
    try {
      expect(await r.config("GET", "save")).toEqual(["save", ""]);
      expect(await r.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
      // Redis returns the pairs in hash order, so compare them as a set of pairs.
      const pairs = (flat: unknown) => {
        const a = flat as string[];
        return a.flatMap((k, i) => (i % 2 === 0 ? [`${k}=${a[i + 1]}`] : [])).sort();
      };
      expect(pairs(await r.call("CONFIG", ["GET", "save", "appendonly"]))).toEqual(
        pairs(decodeAll(await theirs.command("CONFIG", "GET", "save", "appendonly"))),
      );
      expect(await r.config("GET", "port")).toEqual(["port", String(server.port)]);
      expect(await errorOf(r.call("CONFIG", ["GET"]))).toBe(
        "ERR wrong number of arguments for 'config|get' command",
      );
    } finally {
      r.disconnect();
      theirs.close();
    }
  });

  test("TIME returns the current unix time in seconds and microseconds", async () => {
    const r = await connectIoredis();
    try {
      const [sec, usec] = (await r.time()) as unknown as [string, string];
      expect(sec).toMatch(/^\d+$/);
      expect(usec).toMatch(/^\d+$/);
      expect(Math.abs(Number(sec) - Date.now() / 1000)).toBeLessThan(2);
      expect(Number(usec)).toBeLessThan(1_000_000);
    } finally {
      r.disconnect();
    }
  });
});
