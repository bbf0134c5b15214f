/**
 * BLOBASAUR.VACUUM end to end against the in-process server: grammar and exact error texts,
 * the reply structure (RESP2 flat maps, RESP3 maps), DRYRUN leaving pages alone, real space
 * reclaimed from deleted blobs, the writer-barrier ordering, the vacuum metrics, and the
 * startup upgrade of a legacy shard file.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { parseFrame, type RespValue } from "../../src/cli/resp-client.ts";
import type { ClientState } from "../../src/commands/spec.ts";
import { keyParam } from "../../src/storage/engine/keys.ts";
import { RawClient } from "../helpers/redis-ref.ts";
import { rawExchange, resp, startTestServer, tempDir } from "../helpers/server.ts";

const SYNTAX =
  "-ERR BLOBASAUR.VACUUM syntax: BLOBASAUR.VACUUM SHARD <id|ALL> MODE <incremental|full> BUDGET_MB <n> [DRYRUN]\r\n";
const V = (...rest: string[]) => ["BLOBASAUR.VACUUM", ...rest];

/**
 * Sends one command and decodes its reply (maps arrive as flat arrays). Reads exactly one
 * complete reply however long the vacuum takes (it runs in a Worker).
 */
async function call(port: number, args: string[]): Promise<RespValue> {
  const client = await RawClient.connect({ port });
  try {
    return parseFrame(await client.command(...args))!.value;
  } finally {
    client.close();
  }
}

/** A flat [k, v, …] array as an object (nested maps too). */
function obj(value: RespValue): Record<string, RespValue> {
  const a = value as RespValue[];
  const out: Record<string, RespValue> = {};
  for (let i = 0; i < a.length; i += 2) out[String(a[i])] = a[i + 1]!;
  return out;
}
const keysOf = (value: RespValue) => (value as RespValue[]).filter((_, i) => i % 2 === 0);
const SHARD_FIELDS = [
  "shard",
  "status",
  "error",
  "duration_ms",
  "before",
  "after",
  "incremental_pages_requested",
  "estimated_reclaimed_pages",
  "execution_errors",
];

describe("BLOBASAUR.VACUUM grammar", () => {
  test("every error text of the reference, and Redis's arity error below 7 elements", async () => {
    await using server = await startTestServer();
    const cases: [string[], string][] = [
      [
        V("SHARD", "ALL", "MODE", "full", "BUDGET_MB"),
        "-ERR wrong number of arguments for 'blobasaur.vacuum' command\r\n",
      ],
      [V("SHARD", "ALL", "MODE", "full", "BUDGET_MB", "1", "DRYRUN", "extra"), SYNTAX],
      [
        V("SHARDS", "ALL", "MODE", "full", "BUDGET_MB", "1"),
        "-ERR BLOBASAUR.VACUUM requires SHARD keyword\r\n",
      ],
      [
        V("SHARD", "-1", "MODE", "full", "BUDGET_MB", "1"),
        "-ERR Invalid shard id '-1': expected non-negative integer or ALL\r\n",
      ],
      [
        V("SHARD", "x\r\ny", "MODE", "full", "BUDGET_MB", "1"),
        "-ERR Invalid shard id 'x  y': expected non-negative integer or ALL\r\n",
      ],
      [
        V("SHARD", "0", "MOD", "full", "BUDGET_MB", "1"),
        "-ERR BLOBASAUR.VACUUM requires MODE keyword\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "fast", "BUDGET_MB", "1"),
        "-ERR Invalid MODE 'fast': expected incremental or full\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET", "1"),
        "-ERR BLOBASAUR.VACUUM requires BUDGET_MB keyword\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1.5"),
        "-ERR Invalid BUDGET_MB '1.5': expected positive integer\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET_MB", "-3"),
        "-ERR Invalid BUDGET_MB '-3': expected positive integer\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET_MB", "0"),
        "-ERR BUDGET_MB must be greater than 0\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET_MB", "0", "DRYRUN"),
        "-ERR BUDGET_MB must be greater than 0\r\n",
      ],
      [
        V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1", "NOW"),
        "-ERR Unexpected trailing token 'NOW': expected DRYRUN\r\n",
      ],
    ];
    const { data } = await rawExchange(
      server.port,
      Buffer.concat(cases.map(([args]) => resp(...args))),
    );
    expect(data.toString()).toBe(cases.map(([, reply]) => reply).join(""));
  });

  test("keywords and values are case-insensitive, and it is refused inside MULTI", async () => {
    await using server = await startTestServer();
    const reply = obj(
      await call(server.port, [
        "blobasaur.vacuum",
        "shard",
        "all",
        "mode",
        "Full",
        "budget_mb",
        "5",
        "dryrun",
      ]),
    );
    expect(reply.mode).toBe("full");
    expect(reply.dry_run).toBe(1);
    const { data } = await rawExchange(
      server.port,
      Buffer.concat([
        resp("MULTI"),
        resp(...V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1")),
        resp("EXEC"),
      ]),
    );
    expect(data.toString()).toBe(
      "+OK\r\n-ERR Command not allowed inside a transaction\r\n-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
  });
});

describe("BLOBASAUR.VACUUM replies", () => {
  test("SHARD ALL: one result per shard in order, with the reference's fields", async () => {
    await using server = await startTestServer();
    const reply = await call(
      server.port,
      V("SHARD", "ALL", "MODE", "incremental", "BUDGET_MB", "128"),
    );
    expect(keysOf(reply)).toEqual(["mode", "budget_mb", "dry_run", "results"]);
    const top = obj(reply);
    expect([top.mode, top.budget_mb, top.dry_run]).toEqual(["incremental", 128, 0]);
    const results = (top.results as RespValue[]).map(obj);
    expect(results.map((r) => r.shard)).toEqual([0, 1, 2, 3]);
    for (const [i, r] of (top.results as RespValue[]).entries()) {
      expect(keysOf(r)).toEqual(SHARD_FIELDS);
      const s = results[i]!;
      expect([s.status, s.error, s.execution_errors]).toEqual(["ok", null, []]);
      expect(typeof s.duration_ms).toBe("number");
      expect(keysOf(s.before!)).toEqual(["page_size", "page_count", "freelist_count"]);
      expect(obj(s.before!).page_size).toBe(4096);
      expect(s.incremental_pages_requested).toBe(0);
      expect(s.estimated_reclaimed_pages).toBe(0);
    }
  });

  test("one shard; full mode has no requested pages; an unknown shard is invalid_shard", async () => {
    await using server = await startTestServer();
    const one = obj(await call(server.port, V("SHARD", "2", "MODE", "full", "BUDGET_MB", "1")));
    const results = (one.results as RespValue[]).map(obj);
    expect(results).toHaveLength(1);
    expect([
      results[0]!.shard,
      results[0]!.status,
      results[0]!.incremental_pages_requested,
    ]).toEqual([2, "ok", null]);
    const bad = obj(
      await call(server.port, V("SHARD", "18446744073709551615", "MODE", "full", "BUDGET_MB", "1")),
    );
    expect(bad.results).toEqual([
      [
        "shard",
        9223372036854775807n,
        "status",
        "invalid_shard",
        "error",
        "shard 18446744073709551615 does not exist on this node",
        "duration_ms",
        null,
        "before",
        null,
        "after",
        null,
        "incremental_pages_requested",
        null,
        "estimated_reclaimed_pages",
        null,
        "execution_errors",
        [],
      ],
    ]);
  });

  test("under RESP3 the reply and its nested stats are real maps", async () => {
    await using server = await startTestServer();
    const { data } = await rawExchange(
      server.port,
      Buffer.concat([
        resp("HELLO", "3"),
        resp(...V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1", "DRYRUN")),
      ]),
    );
    const hello = parseFrame(data)!;
    const text = data.subarray(hello.next).toString();
    expect(text.startsWith("%4\r\n$4\r\nmode\r\n$4\r\nfull\r\n")).toBe(true);
    expect(text).toContain("$6\r\nbefore\r\n%3\r\n$9\r\npage_size\r\n:4096\r\n");
  });
});

describe("BLOBASAUR.VACUUM on real data", () => {
  test("DRYRUN changes nothing; incremental frees the budget; full gives the file back", async () => {
    await using server = await startTestServer({ numShards: 1 });
    const r = new Redis({ port: server.port, lazyConnect: true });
    await r.connect();
    const blob = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 80; i++)
      await r.set(`big:${i}`, Buffer.concat([Buffer.from(String(i)), blob]));
    const file = join(server.config.dataDir, "shard_0.db");
    await call(server.port, V("SHARD", "0", "MODE", "incremental", "BUDGET_MB", "1", "DRYRUN")); // not a checkpoint
    await r.del(...Array.from({ length: 80 }, (_, i) => `big:${i}`));
    r.disconnect();

    const dry = obj(
      (
        obj(
          await call(
            server.port,
            V("SHARD", "0", "MODE", "incremental", "BUDGET_MB", "4", "DRYRUN"),
          ),
        ).results as RespValue[]
      )[0]!,
    );
    expect(dry.before).toEqual(dry.after);
    const freeBefore = obj(dry.before!).freelist_count as number;
    expect(freeBefore).toBeGreaterThan(4000); // ~20 MiB of 4 KiB pages
    expect([dry.incremental_pages_requested, dry.estimated_reclaimed_pages]).toEqual([1024, 1024]);

    const inc = obj(
      (
        obj(await call(server.port, V("SHARD", "0", "MODE", "incremental", "BUDGET_MB", "4")))
          .results as RespValue[]
      )[0]!,
    );
    expect(inc.status).toBe("ok");
    expect(inc.estimated_reclaimed_pages).toBe(1024);
    expect(obj(inc.after!).freelist_count).toBe((obj(inc.before!).freelist_count as number) - 1024);

    const sizeBeforeFull = statSync(file).size;
    expect(sizeBeforeFull).toBeGreaterThan(12 * 1024 * 1024);
    const full = obj(
      (
        obj(await call(server.port, V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1")))
          .results as RespValue[]
      )[0]!,
    );
    expect(full.status).toBe("ok");
    expect(obj(full.after!).freelist_count).toBe(0);
    expect(statSync(file).size).toBeLessThan(1024 * 1024);
  });

  test("the vacuum is a barrier: writes queued after it wait, reads are not queued behind it", async () => {
    await using server = await startTestServer({ numShards: 2 });
    const ctx = server.handle.context;
    const store = ctx.store;
    const key = Buffer.from("barrier-key");
    const param = keyParam(key);
    const shard = store.shardOf(key);
    const db = store.shards[shard]!.db;
    const freelist = () =>
      (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
    // Some free pages on that shard (below the background vacuum's threshold).
    const filler = Buffer.alloc(64 * 1024, 1);
    await store.writeShard(shard, (now) => {
      for (let i = 0; i < 20; i++) store.db0.keyTables[shard]!.put(`filler${i}`, filler, now, null);
    });
    await store.writeShard(shard, () => db.run("DELETE FROM blobs WHERE key LIKE 'filler%'"));
    await store.db0.write(key, (t, now) => t.put(param, Buffer.from("old"), now, null));
    expect(freelist()).toBeGreaterThan(100);

    const handler = ctx.table.get("blobasaur.vacuum")!.handler!;
    const args = V("SHARD", String(shard), "MODE", "full", "BUDGET_MB", "1").map((a) =>
      Buffer.from(a),
    );
    const vacuum = Promise.resolve(handler({ server: ctx, client: {} as ClientState }, args));
    let freeWhenSetRan = -1;
    const write = store.db0.write(key, (t, now) => {
      freeWhenSetRan = freelist();
      t.put(param, Buffer.from("new"), now, null);
    });
    // Served at once, while the vacuum and the write behind it are still queued.
    expect(Buffer.from(store.db0.get(key)!.value).toString()).toBe("old");
    expect(freeWhenSetRan).toBe(-1);
    await Promise.all([vacuum, write]);
    // The SET ran only after the full VACUUM had emptied the freelist.
    expect(freeWhenSetRan).toBe(0);
    expect(Buffer.from(store.db0.get(key)!.value).toString()).toBe("new");

    // Over the wire: a SET pipelined after the vacuum runs after it, and a GET sees the SET.
    const { data } = await rawExchange(
      server.port,
      Buffer.concat([
        resp(...V("SHARD", "ALL", "MODE", "full", "BUDGET_MB", "1")),
        resp("SET", "barrier-key", "wire"),
        resp("GET", "barrier-key"),
      ]),
    );
    const first = parseFrame(data)!;
    expect(obj(first.value).mode).toBe("full");
    expect(data.subarray(first.next).toString()).toBe("+OK\r\n$4\r\nwire\r\n");
  });

  test("runs are counted in the vacuum metrics", async () => {
    await using server = await startTestServer({
      metrics: { enabled: true, addr: { host: "127.0.0.1", port: 0 } },
    } as never);
    await call(server.port, V("SHARD", "ALL", "MODE", "incremental", "BUDGET_MB", "8", "DRYRUN"));
    await call(server.port, V("SHARD", "7", "MODE", "full", "BUDGET_MB", "8"));
    const text = await (await fetch(`${server.handle.context.metrics!.endpoint}/metrics`)).text();
    expect(text).toContain('blobasaur_vacuum_runs_total{mode="incremental",result="ok"} 4');
    expect(text).toContain('blobasaur_vacuum_runs_total{mode="full",result="invalid_shard"} 1');
    expect(text).toContain(
      'blobasaur_vacuum_duration_seconds_count{mode="incremental",result="ok"} 4',
    );
    expect(text).toContain(
      'blobasaur_vacuum_reclaimed_pages_estimate_total{mode="incremental",shard="0"} 0',
    );
    expect(text).toContain(
      'blobasaur_vacuum_reclaimed_bytes_estimate_total{mode="incremental",shard="3"} 0',
    );
    expect(text).toContain("blobasaur_sqlite_auto_vacuum_misconfigured_total 0");
  });
});

describe("startup upgrade of a legacy shard file", () => {
  // Needs upgradeLegacyAutoVacuum wired into Store's constructor (before the shards open).
  test("a shard_0.db made with auto_vacuum = NONE is INCREMENTAL once the server is up", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    mkdirSync(data, { recursive: true });
    const db = new Database(join(data, "shard_0.db"), { create: true });
    db.run("PRAGMA auto_vacuum = NONE");
    db.run("CREATE TABLE t (x)");
    db.run("INSERT INTO t VALUES (1)");
    db.close();
    await using server = await startTestServer({ numShards: 1 }, { dir });
    const shardDb = server.handle.context.store.shards[0]!.db;
    expect(shardDb.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 2 });
    expect(shardDb.query("SELECT x FROM t").get()).toEqual({ x: 1 });
  });
});

test("reads on other connections are answered while a full VACUUM runs in its Worker", async () => {
  await using server = await startTestServer({ numShards: 1 });
  const writer = new Redis({ port: server.port, lazyConnect: true });
  const reader = new Redis({ port: server.port, lazyConnect: true });
  await Promise.all([writer.connect(), reader.connect()]);
  // ~40 MB written, half deleted: the rebuild copies ~20 MB, which takes real time.
  const value = Buffer.alloc(64 * 1024, 7);
  for (let batch = 0; batch < 10; batch++) {
    const p = writer.pipeline();
    for (let i = 0; i < 64; i++) p.set(`big:${batch}:${i}`, value);
    await p.exec();
  }
  await writer.set("small", "still here");
  for (let batch = 0; batch < 5; batch++) {
    await writer.del(...Array.from({ length: 64 }, (_, i) => `big:${batch}:${i}`));
  }
  let done = false;
  const vacuum = call(server.port, V("SHARD", "0", "MODE", "full", "BUDGET_MB", "1")).finally(
    () => {
      done = true;
    },
  );
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    expect(await reader.get("small")).toBe("still here");
    latencies.push(performance.now() - started);
  }
  const result = obj((obj(await vacuum).results as RespValue[])[0]!);
  expect(result.status).toBe("ok");
  const vacuumMs = result.duration_ms as number;
  // Inline on the server's thread, one GET would have waited for the whole VACUUM.
  expect(vacuumMs).toBeGreaterThan(20);
  expect(Math.max(...latencies)).toBeLessThan(vacuumMs / 2);
  expect(await reader.strlen("big:9:0")).toBe(value.length);
  writer.disconnect();
  reader.disconnect();
});

/**
 * SCAN and HSCAN cursors are rowids (commands/keys/scan.ts). SQLite documents that VACUUM may
 * renumber the rowids of tables without an INTEGER PRIMARY KEY; the SQLite in Bun keeps them
 * (it copies the b-trees as they are). This pins that: if an upgrade ever renumbered them, a
 * scan across a full VACUUM would miss keys, and this test would fail.
 */
test("SCAN and HSCAN cursors survive a full VACUUM that frees most of the file", async () => {
  await using server = await startTestServer({ numShards: 2 });
  const r = new Redis({ port: server.port, lazyConnect: true });
  await r.connect();
  try {
    const pad = Buffer.alloc(2048, 1);
    const keys = Array.from({ length: 600 }, (_, i) => `k:${i}`);
    for (const k of keys) await r.set(k, pad);
    for (let i = 0; i < 600; i++) await r.hset("ns", `f:${i}`, pad);
    // Delete two keys of three, so the rebuilt file differs from the old one everywhere.
    const gone = keys.filter((_, i) => i % 3 !== 0);
    await r.del(...gone);
    await r.hdel(
      "ns",
      ...Array.from({ length: 600 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `f:${i}`),
    );
    // The hash is a key too, so SCAN returns it with the strings.
    const kept = new Set([...keys.filter((_, i) => i % 3 === 0), "ns"]);
    const keptFields = new Set(Array.from({ length: 200 }, (_, i) => `f:${i * 3}`));

    const seen = new Set<string>();
    const seenFields = new Set<string>();
    let [cursor, batch] = await r.scan("0", "COUNT", "20");
    for (const k of batch) seen.add(k);
    let [hcursor, hbatch] = await r.hscan("ns", "0", "COUNT", "20");
    for (let i = 0; i < hbatch.length; i += 2) seenFields.add(hbatch[i]!);
    expect(cursor).not.toBe("0");
    expect(hcursor).not.toBe("0");

    const result = obj(
      await call(server.port, V("SHARD", "ALL", "MODE", "full", "BUDGET_MB", "1")),
    );
    for (const shard of result.results as RespValue[]) expect(obj(shard).status).toBe("ok");

    while (cursor !== "0") {
      [cursor, batch] = await r.scan(cursor, "COUNT", "20");
      for (const k of batch) seen.add(k);
    }
    while (hcursor !== "0") {
      [hcursor, hbatch] = await r.hscan("ns", hcursor, "COUNT", "20");
      for (let i = 0; i < hbatch.length; i += 2) seenFields.add(hbatch[i]!);
    }
    expect([...kept].filter((k) => !seen.has(k))).toEqual([]);
    expect([...keptFields].filter((f) => !seenFields.has(f))).toEqual([]);
    expect([...seen].filter((k) => !kept.has(k))).toEqual([]);
  } finally {
    r.disconnect();
  }
});
