/**
 * Scripting benchmark: our server and redis-server side by side, driven by identical
 * redis-benchmark runs of EVALSHA (50 clients, no pipelining), interleaved over repetitions,
 * printing req/s, p50/p99 and the ratio ours/Redis. Workloads:
 *   release-miss   the lock-release script on a lock nobody holds (GET, compare, return 0)
 *   acquire-release a script that SETs then DELs its key (two writes committed together)
 *   loop-1k         a script that loops 1,000 times before returning (VM speed)
 * plus a plain GET on the same keys as the baseline the scripts are judged against.
 * The target: release-miss at >= 0.5x redis-server.
 *
 *   bun bench/scripting.ts [--requests N] [--reps N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installCleanupHandlers, removeOnSignal, requireRedisTools, runTool } from "./lib/proc.ts";
import { redisBenchmark, type Sample } from "./lib/redis-benchmark.ts";
import { OursServer, RedisServer, type Target } from "./lib/servers.ts";
import { median, table } from "./lib/stats.ts";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "50000" },
    reps: { type: "string", default: "3" },
  },
});
const requests = Number(flags.requests);
const reps = Number(flags.reps);

const SCRIPTS = {
  "release-miss": `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`,
  "acquire-release": `redis.call("set", KEYS[1], ARGV[1]) return redis.call("del", KEYS[1])`,
  "loop-1k": `local s = 0 for i = 1, 1000 do s = s + i end return s`,
} as const;

async function load(t: Target, script: string): Promise<string> {
  const r = await runTool([
    "timeout",
    "10",
    "redis-cli",
    "-p",
    String(t.port),
    "SCRIPT",
    "LOAD",
    script,
  ]);
  if (r.code !== 0) throw new Error(`SCRIPT LOAD on ${t.name}: ${r.stderr}`);
  return r.stdout.trim();
}

requireRedisTools();
installCleanupHandlers();
const work = mkdtempSync(join(tmpdir(), "blobasaur-bench-scripting-"));
removeOnSignal(work);
const ours = new OursServer(work, false);
const redis = new RedisServer(work, false);
try {
  await Promise.all([ours.start(), redis.start()]);
  const header = [
    "workload",
    "ours req/s",
    "redis req/s",
    "ratio",
    "ours p50/p99 ms",
    "redis p50/p99 ms",
  ];
  const rows: string[][] = [];
  for (const [name, script] of [["get (baseline)", null], ...Object.entries(SCRIPTS)] as const) {
    const samples: Record<string, Sample[]> = { ours: [], redis: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? [ours, redis] : [redis, ours];
      for (const t of order) {
        const command =
          script === null
            ? ["GET", "lock:__rand_int__"]
            : ["EVALSHA", await load(t, script), "1", "lock:__rand_int__", "token"];
        const args = ["-c", "50", "-n", String(requests), "-r", "100000", ...command];
        samples[t.name]!.push(await redisBenchmark(t.port, args));
      }
    }
    const rps = (s: Sample[]) => median(s.map((x) => x.rps));
    const lat = (s: Sample[]) =>
      `${median(s.map((x) => x.p50)).toFixed(2)}/${median(s.map((x) => x.p99)).toFixed(2)}`;
    const o = rps(samples.ours!);
    const r = rps(samples.redis!);
    rows.push([
      name,
      o.toFixed(0),
      r.toFixed(0),
      (o / r).toFixed(2),
      lat(samples.ours!),
      lat(samples.redis!),
    ]);
  }
  console.log(table(header, rows));
} finally {
  await Promise.all([ours.stop(), redis.stop()]);
  rmSync(work, { recursive: true, force: true });
}
