/**
 * --latency: GET latency while writes run at full speed (issue 4's "keep the event loop free"
 * check). For each server: fill 100,000 keys of 100 B, measure a light GET reader alone
 * (idle), then the same reader while 50 redis-benchmark clients SET as fast as they can
 * (busy). The busy/idle p99 ratio is the figure; Redis runs the same steps for reference.
 * The writer is a redis-benchmark bounded by -n and `timeout`, stopped once the reader is done.
 */
import { prefill } from "./measure.ts";
import { HOST, track } from "./proc.ts";
import { redisBenchmark, type Sample } from "./redis-benchmark.ts";
import type { Target } from "./servers.ts";

const KEYS = 100_000;

export interface LatencyResult {
  what: string;
  idle: Record<string, Sample[]>;
  busy: Record<string, Sample[]>;
}

/** The reader: 1 connection, one request in flight, random keys that all exist. */
function readerArgs(requests: number): string[] {
  return ["-t", "get", "-c", "1", "-n", String(requests), "-r", String(KEYS), "-d", "100"];
}

async function busyRead(t: Target, requests: number): Promise<Sample> {
  // Far more SETs than the reader needs time for; the writer is stopped when the reader ends.
  const writer = track([
    "timeout",
    "-k",
    "5",
    "120",
    "redis-benchmark",
    "-h",
    HOST,
    "-p",
    String(t.port),
    "-q",
    "-t",
    "set",
    "-c",
    "50",
    "-n",
    "100000000",
    "-r",
    String(KEYS),
    "-d",
    "100",
  ]);
  try {
    // Let the writers connect and reach full speed first.
    await Bun.sleep(1000);
    return await redisBenchmark(t.port, readerArgs(requests), 120);
  } finally {
    writer.kill("SIGTERM");
    await writer.exited;
  }
}

export async function latencyMode(
  targets: Target[],
  o: { reps: number; requests: number },
): Promise<LatencyResult> {
  const result: LatencyResult = {
    what: `GET p99 of a reader (c1 P1, ${o.requests} requests over ${KEYS} keys of 100 B) alone, then while 50 clients SET 100 B values at full speed`,
    idle: {},
    busy: {},
  };
  for (const t of targets) {
    await prefill(t, { prefix: "key:", keys: KEYS, size: "fixed:100", type: "string" });
    result.idle[t.name] = [];
    result.busy[t.name] = [];
  }
  for (let rep = 0; rep < o.reps; rep++) {
    const order = rep % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      result.idle[t.name]!.push(await redisBenchmark(t.port, readerArgs(o.requests), 120));
      result.busy[t.name]!.push(await busyRead(t, o.requests));
    }
  }
  return result;
}
