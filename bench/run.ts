/**
 * End-to-end benchmark: starts our server (temporary data dir) and redis-server side by side,
 * drives both with redis-benchmark using identical flags, interleaved (A B A B) over several
 * repetitions, and prints throughput, p50/p99 and the ratio ours/Redis. Writes a JSON result
 * with date, commit and machine to bench/results/. Loopback only; every run is bounded.
 *
 *   bun bench/run.ts [--quick] [--reps N] [--requests N] [--only name,name] [--durable]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string", default: "3" },
    requests: { type: "string", default: "100000" },
    only: { type: "string", default: "" },
    durable: { type: "boolean", default: false },
    out: { type: "string", default: "" },
  },
});

interface Workload {
  name: string;
  args: string[];
}

const n = flags.quick ? "20000" : flags.requests!;
const base = ["-c", "50", "-n", n, "-r", "100000"];
const workloads: Workload[] = [
  { name: "set-100B-P1", args: [...base, "-d", "100", "-t", "set"] },
  { name: "get-100B-P1", args: [...base, "-d", "100", "-t", "get"] },
  { name: "set-100B-P16", args: [...base, "-d", "100", "-P", "16", "-t", "set"] },
  { name: "get-100B-P16", args: [...base, "-d", "100", "-P", "16", "-t", "get"] },
  { name: "set-16KB-P1", args: ["-c", "50", "-n", String(Math.min(Number(n), 20000)), "-r", "10000", "-d", "16384", "-t", "set"] },
  { name: "get-16KB-P1", args: ["-c", "50", "-n", String(Math.min(Number(n), 20000)), "-r", "10000", "-d", "16384", "-t", "get"] },
  { name: "hset-100B-P1", args: [...base, "-d", "100", "-t", "hset"] },
];
const selected = flags.only ? workloads.filter((w) => flags.only!.split(",").includes(w.name)) : workloads;
const reps = Number(flags.reps);

function which(cmd: string): boolean {
  return Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]).exitCode === 0;
}
for (const tool of ["redis-server", "redis-benchmark", "redis-cli"]) {
  if (!which(tool)) {
    console.error(`${tool} is missing: install it with  apt-get install -y redis-server redis-tools`);
    process.exit(1);
  }
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = Bun.spawnSync(["redis-cli", "-p", String(port), "PING"]);
    if (r.stdout.toString().includes("PONG")) return;
    await Bun.sleep(50);
  }
  throw new Error(`server on ${port} did not answer PING`);
}

const work = mkdtempSync(join(tmpdir(), "blobasaur-bench-"));
const oursPort = freePort();
const redisPort = freePort();
const configPath = join(work, "config.toml");
writeFileSync(
  configPath,
  `data_dir = "${join(work, "data")}"\nnum_shards = 4\naddr = "127.0.0.1:${oursPort}"\n` +
    (flags.durable ? `[sqlite]\nsynchronous = "FULL"\n` : ""),
);
const ours = Bun.spawn([process.execPath, join(import.meta.dir, "..", "src/main.ts"), "--config", configPath], {
  stdout: "ignore",
  stderr: "inherit",
  env: { ...process.env, BLOBASAUR_LOG: "warn" },
});
const redisArgs = flags.durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
mkdirSync(join(work, "redis"));
const redis = Bun.spawn(
  ["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--dir", join(work, "redis"), ...redisArgs],
  { stdout: "ignore", stderr: "inherit" },
);

function cleanup(): void {
  ours.kill("SIGTERM");
  redis.kill("SIGTERM");
}
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

function runBenchmark(port: number, w: Workload): Sample {
  const r = Bun.spawnSync(["timeout", "300", "redis-benchmark", "-p", String(port), "--csv", ...w.args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines = r.stdout.toString().trim().split("\n");
  const row = lines[lines.length - 1]!.split(",").map((c) => c.replace(/"/g, ""));
  if (r.exitCode !== 0 || row.length < 7 || Number.isNaN(Number(row[1]))) {
    throw new Error(`redis-benchmark failed on ${w.name}: ${r.stderr.toString()}${r.stdout.toString()}`);
  }
  return { rps: Number(row[1]), p50: Number(row[4]), p99: Number(row[6]) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

try {
  await Promise.all([waitForPing(oursPort), waitForPing(redisPort)]);
  const results: Record<string, { ours: Sample; redis: Sample; ratio: number }> = {};
  const lines: string[] = [];
  lines.push(`| workload | ours req/s | redis req/s | ratio | ours p50/p99 ms | redis p50/p99 ms |`);
  lines.push(`|---|---|---|---|---|---|`);
  for (const w of selected) {
    const a: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < reps; i++) {
      a.push(runBenchmark(oursPort, w));
      b.push(runBenchmark(redisPort, w));
    }
    const o = { rps: median(a.map((s) => s.rps)), p50: median(a.map((s) => s.p50)), p99: median(a.map((s) => s.p99)) };
    const r = { rps: median(b.map((s) => s.rps)), p50: median(b.map((s) => s.p50)), p99: median(b.map((s) => s.p99)) };
    const ratio = o.rps / r.rps;
    results[w.name] = { ours: o, redis: r, ratio };
    const line = `| ${w.name} | ${Math.round(o.rps)} | ${Math.round(r.rps)} | ${ratio.toFixed(2)} | ${o.p50}/${o.p99} | ${r.p50}/${r.p99} |`;
    lines.push(line);
    console.log(line);
  }
  console.log(`\n${lines.join("\n")}`);
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim();
  const result = {
    date: new Date().toISOString(),
    commit,
    machine: { host: hostname(), cpus: cpus().length, model: cpus()[0]?.model ?? "" },
    redis: flags.durable ? "appendonly yes, appendfsync always" : "in-memory (appendonly no, save '')",
    ours: flags.durable ? "4 shards, synchronous=FULL" : "4 shards, synchronous=NORMAL",
    reps,
    results,
  };
  const outDir = join(import.meta.dir, "results");
  mkdirSync(outDir, { recursive: true });
  const out = flags.out || join(outDir, `${result.date.slice(0, 19).replace(/[:T]/g, "-")}-${commit}${flags.durable ? "-durable" : ""}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
} finally {
  cleanup();
  await Promise.all([ours.exited, redis.exited]);
  rmSync(work, { recursive: true, force: true });
}
