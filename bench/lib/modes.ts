/**
 * The special modes of bench/run.ts: GETs over a large keyspace with a cold page cache
 * (--keyspace), RSS holding a given volume of values (--memory), and time to first PONG with
 * 16 shards (--startup). Each returns raw samples; run.ts aggregates and prints them.
 */
import { join } from "node:path";
import { measure, prefill, runLoadClient } from "./measure.ts";
import { dropPageCache, memoryOf } from "./proc.ts";
import type { Sample } from "./redis-benchmark.ts";
import { OursServer, RedisServer, type Target } from "./servers.ts";
import { mib } from "./stats.ts";
import { COLD_GET, type Workload } from "./workloads.ts";

export interface PairSamples {
  what: string;
  ours: Sample[];
  redis: Sample[];
}

export function diskBytes(dir: string): number {
  const r = Bun.spawnSync(["du", "-sb", dir], { stdout: "pipe", stderr: "ignore" });
  return Number(r.stdout.toString().split("\t")[0]);
}

/**
 * Loads `keys` 100 B values (key:<12 digits>, as redis-benchmark names them) into both servers,
 * then per repetition: stop ours, drop the page cache, start ours again (its value cache is
 * empty), and run random GETs over the whole keyspace — once cold, then once more warm.
 * Redis keeps its data in memory and is not restarted; it runs the same GETs for reference.
 */
export async function coldKeyspace(
  ours: OursServer,
  redis: RedisServer,
  o: { keys: number; requests: number; reps: number },
): Promise<{ pairs: Record<string, PairSamples>; notes: string[] }> {
  const notes: string[] = [];
  for (const t of [ours, redis]) {
    const r = await prefill(t, { prefix: "key:", keys: o.keys, size: "fixed:100", type: "string" });
    notes.push(
      `${t.name}: loaded ${o.keys.toLocaleString("en-US")} keys in ${r.fill?.seconds.toFixed(1)} s`,
    );
  }
  const requests = Math.min(o.requests, o.keys);
  const args = ["-c", "50", "-n", String(requests), "-r", String(o.keys), "-d", "100", "-t", "get"];
  const w: Workload = { name: COLD_GET, what: "", tool: "rb", args, requests };
  const cold: PairSamples = {
    what: `random GET over ${o.keys.toLocaleString("en-US")} keys of 100 B, ours restarted after dropping the page cache, ${requests} requests, c50 P1`,
    ours: [],
    redis: [],
  };
  const warm: PairSamples = {
    what: "the same GETs again right after the cold run",
    ours: [],
    redis: [],
  };
  let dropped = true;
  const restartMs: number[] = [];
  for (let rep = 0; rep < o.reps; rep++) {
    await ours.stop();
    dropped = dropPageCache() && dropped;
    const t0 = performance.now();
    await ours.start();
    restartMs.push(performance.now() - t0);
    cold.ours.push(await measure(ours, w, 0));
    cold.redis.push(await measure(redis, w, 0));
    warm.ours.push(await measure(ours, w, 0));
    warm.redis.push(await measure(redis, w, 0));
  }
  notes.push(
    `ours on disk: ${mib(diskBytes(ours.dataDir))}, RSS after the runs: ${mib(memoryOf(ours.pid)?.rss ?? Number.NaN)}`,
  );
  notes.push(
    `ours restart to first PONG with ${o.keys} keys: ${restartMs.map((x) => x.toFixed(0)).join(", ")} ms`,
  );
  notes.push(
    dropped
      ? "page cache dropped before every cold run (sync; echo 3 > /proc/sys/vm/drop_caches)"
      : "WARNING: could not drop the page cache (not root?): the cold rows are NOT cold",
  );
  return { pairs: { [COLD_GET]: cold, [`warm-get-100B-${o.keys}`]: warm }, notes };
}

export interface MemoryRow {
  server: string;
  idle: number;
  afterWrite: number;
  afterRead: number;
  /** 5 s after the reads: after our idle collection (server/idle-gc.ts) has had its chance. */
  settled: number;
  peak: number;
  disk: number | null;
  writeSeconds: number;
}

async function settle(pid: number): Promise<number> {
  await Bun.sleep(1000);
  return memoryOf(pid)?.rss ?? Number.NaN;
}

/**
 * Fresh servers; writes `totalBytes` of `valueBytes`-sized values (mem:<12 digits>) into each in
 * turn, then reads as many random keys back; VmRSS idle, after writing and after reading.
 */
export async function memoryMode(
  work: string,
  durable: boolean,
  o: { totalBytes: number; valueBytes: number; shards: number; extra: string },
): Promise<{ rows: MemoryRow[]; what: string }> {
  const keys = Math.max(1, Math.floor(o.totalBytes / o.valueBytes));
  const dir = join(work, "memory");
  const rows: MemoryRow[] = [];
  const servers: Target[] = [
    new OursServer(dir, durable, o.shards, o.extra),
    new RedisServer(dir, durable),
  ];
  try {
    for (const s of servers) await s.start();
    for (const s of servers) {
      const idle = await settle(s.pid);
      const size = `fixed:${o.valueBytes}`;
      const fill = await prefill(s, { prefix: "mem:", keys, size, type: "string" });
      const afterWrite = await settle(s.pid);
      const readArgs = ["--reads", "1", "--requests", String(keys), "--keyspace", String(keys)];
      readArgs.push("--size", size, "--prefix", "mem:", "--connections", "8", "--pipeline", "4");
      await runLoadClient(s.port, [...readArgs, "--duration", "600"], 700);
      const afterRead = await settle(s.pid);
      await Bun.sleep(4000);
      const settled = memoryOf(s.pid)?.rss ?? Number.NaN;
      rows.push({
        server: s.name,
        idle,
        afterWrite,
        afterRead,
        settled,
        peak: memoryOf(s.pid)?.hwm ?? Number.NaN,
        disk: s.name === "ours" ? diskBytes(s.dataDir) : null,
        writeSeconds: fill.fill?.seconds ?? Number.NaN,
      });
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  return {
    rows,
    what: `${keys.toLocaleString("en-US")} values of ${o.valueBytes} B (${mib(keys * o.valueBytes)}), then ${keys.toLocaleString("en-US")} random GETs; RSS = VmRSS 1 s after each step, and 5 s after the reads; peak = VmHWM`,
  };
}

export interface StartupResult {
  what: string;
  times: Record<string, number[]>;
  rssAtPong: Record<string, number[]>;
}

/**
 * Time from spawn to the first PONG (connect + PING polled every 1 ms): ours with `shards`
 * shards on a new data dir, ours again on the existing shard files, and redis-server; interleaved.
 */
export async function startupMode(
  work: string,
  durable: boolean,
  o: { shards: number; runs: number; extra: string },
): Promise<StartupResult> {
  const dir = join(work, "startup");
  const times: Record<string, number[]> = {};
  const rssAtPong: Record<string, number[]> = {};
  const existing = new OursServer(dir, durable, o.shards, o.extra);
  await existing.start();
  await existing.stop();
  const labels = {
    fresh: `ours, ${o.shards} shards, new data dir`,
    existing: `ours, ${o.shards} shards, existing files`,
    redis: "redis-server",
  };
  for (let i = 0; i < o.runs; i++) {
    const cases: [string, Target][] = [
      [labels.fresh, new OursServer(dir, durable, o.shards, o.extra)],
      [labels.existing, existing],
      [labels.redis, new RedisServer(dir, durable)],
    ];
    for (const [label, server] of cases) {
      const t0 = performance.now();
      await server.start();
      const ms = performance.now() - t0;
      times[label] = [...(times[label] ?? []), ms];
      const rss = memoryOf(server.pid)?.rss ?? Number.NaN;
      rssAtPong[label] = [...(rssAtPong[label] ?? []), rss];
      await server.stop();
    }
  }
  return {
    what: "spawn → first +PONG, polling connect + PING every 1 ms; RSS read right after the PONG",
    times,
    rssAtPong,
  };
}
