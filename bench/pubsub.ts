/**
 * PUBLISH benchmark: our server and redis-server side by side, driven by identical
 * redis-benchmark runs of `PUBLISH bench:ch <64 B>` (50 clients), interleaved over
 * repetitions, printing req/s, p50/p99 and the ratio ours/Redis. Workloads:
 *   publish-0sub-P1    nobody subscribes: the cost of the command itself
 *   publish-10sub-P1   ten subscribers (raw sockets that read and discard): fan-out
 *   publish-10sub-P16  the same, pipelined 16 deep
 * Subscribers are plain TCP connections in this process that drain what they get, so a slow
 * reader never throttles the run.
 *
 *   bun bench/pubsub.ts [--requests N] [--reps N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Socket } from "bun";
import { installCleanupHandlers, removeOnSignal, requireRedisTools } from "./lib/proc.ts";
import { redisBenchmark, type Sample } from "./lib/redis-benchmark.ts";
import { OursServer, RedisServer, type Target } from "./lib/servers.ts";
import { median, table } from "./lib/stats.ts";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "100000" },
    reps: { type: "string", default: "3" },
  },
});
const requests = Number(flags.requests);
const reps = Number(flags.reps);

const WORKLOADS = [
  { name: "publish-0sub-P1", subscribers: 0, pipeline: 1 },
  { name: "publish-10sub-P1", subscribers: 10, pipeline: 1 },
  { name: "publish-10sub-P16", subscribers: 10, pipeline: 16 },
] as const;

/** `n` subscribers of bench:ch that count and drop what they receive; resolves once all joined. */
async function subscribers(port: number, n: number): Promise<{ bytes(): number; close(): void }> {
  let received = 0;
  const sockets: Socket<undefined>[] = [];
  for (let i = 0; i < n; i++) {
    let confirmed!: () => void;
    const joined = new Promise<void>((r) => {
      confirmed = r;
    });
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, d) {
          received += d.length;
          confirmed();
        },
      },
    });
    s.write("*2\r\n$9\r\nSUBSCRIBE\r\n$8\r\nbench:ch\r\n");
    await joined;
    sockets.push(s);
  }
  return {
    bytes: () => received,
    close: () => {
      for (const s of sockets) s.end();
    },
  };
}

async function run(t: Target, subs: number, pipeline: number): Promise<Sample> {
  const listeners = await subscribers(t.port, subs);
  try {
    const payload = "x".repeat(64);
    const args = ["-c", "50", "-n", String(requests), "-P", String(pipeline)];
    return await redisBenchmark(t.port, [...args, "PUBLISH", "bench:ch", payload]);
  } finally {
    listeners.close();
  }
}

requireRedisTools();
installCleanupHandlers();
const work = mkdtempSync(join(tmpdir(), "blobasaur-bench-pubsub-"));
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
  for (const w of WORKLOADS) {
    const samples: Record<string, Sample[]> = { ours: [], redis: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? [ours, redis] : [redis, ours];
      for (const t of order) samples[t.name]!.push(await run(t, w.subscribers, w.pipeline));
    }
    const rps = (s: Sample[]) => median(s.map((x) => x.rps));
    const lat = (s: Sample[]) =>
      `${median(s.map((x) => x.p50)).toFixed(2)}/${median(s.map((x) => x.p99)).toFixed(2)}`;
    const o = rps(samples.ours!);
    const r = rps(samples.redis!);
    rows.push([
      w.name,
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
