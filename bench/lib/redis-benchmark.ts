/**
 * Runs redis-benchmark (always under `timeout`) against 127.0.0.1 and parses its --csv output:
 * "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
 */
import { HOST, runTool } from "./proc.ts";

export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + sys) per request in µs, when the server pid was known. */
  cpuUsPerReq?: number;
  /** Load-client only: value bytes moved per second, and checks that failed. */
  mbps?: number;
  errors?: number;
}

/** Parses the last CSV row of `redis-benchmark --csv`; throws when it is not a result row. */
export function parseCsv(stdout: string): Sample {
  const lines = stdout.trim().split("\n");
  const row = lines[lines.length - 1]!.split(",").map((c) => c.replace(/"/g, ""));
  const rps = Number(row[1]);
  if (row.length < 7 || !Number.isFinite(rps) || rps <= 0) {
    throw new Error(`unexpected redis-benchmark output: ${stdout.slice(-300)}`);
  }
  return { rps, p50: Number(row[4]), p99: Number(row[6]) };
}

/**
 * One redis-benchmark run; `args` are its flags after host/port (e.g. -c 50 -n 1000 -t set).
 * Killed by `timeout` after `timeoutSec`, which makes the run fail loudly rather than hang.
 */
export async function redisBenchmark(
  port: number,
  args: string[],
  timeoutSec = 300,
): Promise<Sample> {
  const cmd = [
    "timeout",
    "-k",
    "5",
    String(timeoutSec),
    "redis-benchmark",
    "-h",
    HOST,
    "-p",
    String(port),
    "--csv",
    ...args,
  ];
  const r = await runTool(cmd);
  const out = r.stdout;
  if (r.code !== 0) {
    const why = r.code === 124 ? `timed out after ${timeoutSec} s` : `exit ${r.code}`;
    throw new Error(
      `redis-benchmark ${args.join(" ")} on ${port}: ${why}: ${r.stderr}${out.slice(-300)}`,
    );
  }
  return parseCsv(out);
}
