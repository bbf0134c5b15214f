/**
 * One measured run of a workload against one server: redis-benchmark or bench/load.ts (both
 * under `timeout`), with the server's CPU time read from /proc before and after, so every
 * sample also carries server CPU µs per request.
 */
import { join } from "node:path";
import { cpuMicros, runTool } from "./proc.ts";
import { redisBenchmark, type Sample } from "./redis-benchmark.ts";
import type { Target } from "./servers.ts";
import type { Prefill, Workload } from "./workloads.ts";

const loadScript = join(import.meta.dir, "..", "load.ts");

export interface LoadReport {
  ops?: number;
  rps?: number;
  p50?: number;
  p99?: number;
  mbps?: number;
  errors: number;
  verifyFailures: number;
  failureSamples: string[];
  fatal?: string;
  fill?: { keys: number; seconds: number; mbps: number };
}

/** Runs bench/load.ts against `port` with `args`; `timeoutSec` bounds the whole process. */
export async function runLoadClient(
  port: number,
  args: string[],
  timeoutSec: number,
): Promise<LoadReport> {
  const cmd = [
    "timeout",
    "-k",
    "5",
    String(timeoutSec),
    process.execPath,
    loadScript,
    "--port",
    String(port),
    "--json",
    ...args,
  ];
  const r = await runTool(cmd);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let report: LoadReport;
  try {
    report = JSON.parse(last) as LoadReport;
  } catch {
    const why = r.code === 124 ? `timed out after ${timeoutSec} s` : `exit ${r.code}`;
    throw new Error(`load.ts ${args.join(" ")} on ${port}: ${why}: ${r.stderr.slice(-500)}`);
  }
  if (report.fatal) throw new Error(`load.ts on ${port}: ${report.fatal}`);
  if (report.errors > 0 || report.verifyFailures > 0) {
    console.error(
      `  !! load.ts on ${port}: ${report.errors} error replies, ${report.verifyFailures} failed checks: ${report.failureSamples.join("; ")}`,
    );
  }
  return report;
}

/** Writes every key of `p` once (pipelined) so reads find values. */
export function prefill(target: Target, p: Prefill): Promise<LoadReport> {
  const args = [
    "--fill-only",
    "--keyspace",
    String(p.keys),
    "--size",
    p.size,
    "--prefix",
    p.prefix,
  ];
  args.push("--type", p.type, "--no-verify", "--fill-connections", "4", "--fill-pipeline", "32");
  if (p.hashKey) args.push("--hash-key", p.hashKey);
  return runLoadClient(target.port, args, 1800);
}

/** One run of `w` against `target`; throws when the tool fails or times out. */
export async function measure(target: Target, w: Workload, loadSeconds: number): Promise<Sample> {
  const cpu0 = cpuMicros(target.pid);
  let sample: Sample;
  let requests = w.requests;
  if (w.tool === "rb") {
    sample = await redisBenchmark(target.port, w.args, 300);
  } else {
    const r = await runLoadClient(
      target.port,
      [...w.args, "--duration", String(loadSeconds)],
      loadSeconds + 90,
    );
    requests = r.ops ?? 0;
    sample = { rps: r.rps ?? 0, p50: r.p50 ?? Number.NaN, p99: r.p99 ?? Number.NaN };
    sample.mbps = r.mbps ?? 0;
    sample.errors = r.errors + r.verifyFailures;
  }
  const cpu = cpuMicros(target.pid) - cpu0;
  if (requests > 0 && Number.isFinite(cpu)) sample.cpuUsPerReq = cpu / requests;
  return sample;
}
