/**
 * End-to-end benchmark: starts our server (temporary data dir) and redis-server side by side,
 * drives both with identical redis-benchmark (or bench/load.ts) runs, interleaved over several
 * repetitions (ours first on even reps, Redis first on odd ones), and prints req/s
 * median [min–max], p50/p99, server CPU µs per request and the ratio ours/Redis. Writes a JSON
 * result with date, commit and machine to bench/results/. Loopback only; every run is bounded
 * (`timeout`, request counts) and every server started here is killed on exit, error or SIGINT.
 *
 *   bun bench/run.ts [--workloads a,b|default|all|none] [--reps N] [--quick] [--requests N]
 *     [--durable] [--keyspace N] [--memory] [--memory-bytes 1GiB] [--memory-value 16KiB]
 *     [--startup] [--startup-runs N] [--latency] [--hashes [10k,100k,1M]] [--shards N] [--all]
 *     [--list] [--out FILE]
 *
 * With --keyspace, --memory, --startup, --latency or --hashes and no --workloads, only those
 * modes run.
 * See bench/README.md for what each workload means.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { hashesMode } from "./lib/hashes.ts";
import { type LatencyResult, latencyMode } from "./lib/latency.ts";
import { measure, prefill } from "./lib/measure.ts";
import {
  coldKeyspace,
  type MemoryRow,
  memoryMode,
  type PairSamples,
  type StartupResult,
  startupMode,
} from "./lib/modes.ts";
import { installCleanupHandlers, removeOnSignal, requireRedisTools } from "./lib/proc.ts";
import type { Sample } from "./lib/redis-benchmark.ts";
import { OursServer, RedisServer } from "./lib/servers.ts";
import { median, mib, num, parseSize, spread, spreadText, table } from "./lib/stats.ts";
import { COLD_GET, sizesFor, type Workload, workloads } from "./lib/workloads.ts";

const { values: flags } = parseArgs({
  options: {
    workloads: { type: "string" },
    only: { type: "string" }, // old name of --workloads
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    requests: { type: "string" },
    durable: { type: "boolean", default: false },
    keyspace: { type: "string" },
    memory: { type: "boolean", default: false },
    "memory-bytes": { type: "string" },
    "memory-value": { type: "string", default: "16KiB" },
    startup: { type: "boolean", default: false },
    "startup-runs": { type: "string" },
    latency: { type: "boolean", default: false },
    hashes: { type: "string" },
    shards: { type: "string", default: "4" },
    "load-seconds": { type: "string", default: "60" },
    all: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
    out: { type: "string", default: "" },
    "ours-config": { type: "string", multiple: true, default: [] },
  },
});

const quick = flags.quick;
const sizes = sizesFor(quick, flags.requests ? parseSize(flags.requests) : null);
const catalog = workloads(sizes);
if (flags.list) {
  for (const w of catalog)
    console.log(`${w.name.padEnd(18)} ${w.optional ? "(optional) " : ""}${w.what}`);
  console.log(`${COLD_GET.padEnd(18)} (with --keyspace N) GETs over N keys with a cold page cache`);
  process.exit(0);
}

const reps = Number(flags.reps ?? (quick ? 2 : 3));
const shards = Number(flags.shards);
const named = (flags.workloads ?? flags.only)?.split(",").map((s) => s.trim()) ?? null;
const special =
  flags.keyspace !== undefined ||
  flags.memory ||
  flags.startup ||
  flags.latency ||
  flags.hashes !== undefined;
const defaults = catalog.filter((w) => !w.optional).map((w) => w.name);
let names: string[];
if (flags.all) names = [...catalog.map((w) => w.name), COLD_GET];
else if (named)
  names = named.flatMap((n) => (n === "default" ? defaults : n === "none" ? [] : [n]));
else names = special ? [] : defaults;
if (flags.keyspace !== undefined && !names.includes(COLD_GET)) names.push(COLD_GET);
const unknown = names.filter((n) => n !== COLD_GET && !catalog.some((w) => w.name === n));
if (unknown.length > 0) {
  console.error(`unknown workload(s): ${unknown.join(", ")}; see --list`);
  process.exit(2);
}
const selected: Workload[] = catalog.filter((w) => names.includes(w.name));
const keyspace = flags.keyspace ? parseSize(flags.keyspace) : quick ? 50_000 : 1_000_000;
const runMemory = flags.memory || flags.all;
const runStartup = flags.startup || flags.all;
const runLatency = flags.latency || flags.all;
const hashCounts =
  flags.hashes === undefined
    ? null
    : (flags.hashes === "" ? (quick ? "10k,50k" : "10k,100k,1M") : flags.hashes)
        .split(",")
        .map(parseSize);
const memoryBytes = parseSize(flags["memory-bytes"] ?? (quick ? "64MiB" : "1GiB"));

requireRedisTools();
installCleanupHandlers();

interface Aggregate {
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number | null;
  errors?: number;
}
interface Pair {
  what: string;
  ours: Aggregate;
  redis: Aggregate;
  ratio: number;
  samples: { ours: Sample[]; redis: Sample[] };
}

function aggregate(xs: Sample[]): Aggregate {
  const rps = spread(xs.map((s) => s.rps));
  const cpu = xs.map((s) => s.cpuUsPerReq).filter((x): x is number => x !== undefined);
  const errors = xs.reduce((n, s) => n + (s.errors ?? 0), 0);
  return {
    rps: rps.median,
    rpsMin: rps.min,
    rpsMax: rps.max,
    p50: median(xs.map((s) => s.p50)),
    p99: median(xs.map((s) => s.p99)),
    cpuUsPerReq: cpu.length > 0 ? median(cpu) : null,
    ...(xs.some((s) => s.errors !== undefined) ? { errors } : {}),
  };
}

const results: Record<string, Pair> = {};
const tableRows: string[][] = [];
function record(name: string, p: PairSamples): void {
  const o = aggregate(p.ours);
  const r = aggregate(p.redis);
  const pair: Pair = { what: p.what, ours: o, redis: r, ratio: o.rps / r.rps, samples: p };
  results[name] = pair;
  const ms = (a: Aggregate) => `${a.p50.toFixed(2)}/${a.p99.toFixed(2)}`;
  const cpu = (a: Aggregate) => (a.cpuUsPerReq === null ? "-" : a.cpuUsPerReq.toFixed(1));
  const row = [
    name,
    spreadText({ median: o.rps, min: o.rpsMin, max: o.rpsMax }),
    spreadText({ median: r.rps, min: r.rpsMin, max: r.rpsMax }),
    pair.ratio.toFixed(2),
    ms(o),
    ms(r),
    `${cpu(o)} / ${cpu(r)}`,
    o.errors === undefined ? "" : String(o.errors + (r.errors ?? 0)),
  ];
  tableRows.push(row);
  console.log(`  ${row.join(" | ")}`);
}

const work = mkdtempSync(join(tmpdir(), "blobasaur-bench-"));
removeOnSignal(work);
const oursExtra = flags["ours-config"]!.join("\n");
const ours = new OursServer(work, flags.durable, shards, oursExtra);
const redis = new RedisServer(work, flags.durable);
const notes: string[] = [];
let memory: { rows: MemoryRow[]; what: string } | null = null;
let startup: StartupResult | null = null;
let latency: LatencyResult | null = null;
const loadSeconds = Number(flags["load-seconds"]);

try {
  const standard =
    selected.length > 0 || names.includes(COLD_GET) || runLatency || hashCounts !== null;
  if (standard) await Promise.all([ours.start(), redis.start()]);
  console.log(`ours: ${ours.describe()}; redis: ${redis.describe()}; ${reps} reps`);
  for (const w of selected) {
    console.log(`${w.name}: ${w.what}`);
    if (w.prefill) for (const t of [ours, redis]) await prefill(t, w.prefill);
    const samples: PairSamples = { what: w.what, ours: [], redis: [] };
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? [ours, redis] : [redis, ours];
      for (const t of order) samples[t.name].push(await measure(t, w, loadSeconds));
    }
    record(w.name, samples);
  }
  if (names.includes(COLD_GET)) {
    console.log(`${COLD_GET}: loading ${num(keyspace)} keys, then cold GETs`);
    const cold = await coldKeyspace(ours, redis, {
      keys: keyspace,
      requests: quick ? 20_000 : 100_000,
      reps,
    });
    for (const [name, p] of Object.entries(cold.pairs)) record(name, p);
    notes.push(...cold.notes);
  }
  if (hashCounts) {
    console.log(`hashes: one-field hashes at ${hashCounts.join(", ")} stored, then one large hash`);
    const h = await hashesMode(ours, redis, {
      counts: hashCounts,
      requests: quick ? 20_000 : 100_000,
      reps,
    });
    for (const [name, p] of Object.entries(h.pairs)) record(name, p);
    notes.push(...h.notes);
  }
  if (runLatency) {
    console.log("latency: GET p99 alone and while 50 clients SET");
    latency = await latencyMode([ours, redis], { reps, requests: quick ? 20_000 : 50_000 });
  }
  await Promise.all([ours.stop(), redis.stop()]);
  if (runMemory) {
    console.log(`memory: ${mib(memoryBytes)} of values into fresh servers`);
    const value = parseSize(flags["memory-value"]!);
    memory = await memoryMode(work, flags.durable, {
      totalBytes: memoryBytes,
      valueBytes: value,
      shards,
      extra: oursExtra,
    });
  }
  if (runStartup) {
    console.log("startup: time to first PONG with 16 shards");
    startup = await startupMode(work, flags.durable, {
      shards: 16,
      runs: Number(flags["startup-runs"] ?? (quick ? 3 : 10)),
      extra: oursExtra,
    });
  }
} finally {
  await Promise.all([ours.stop(), redis.stop()]);
  rmSync(work, { recursive: true, force: true });
}

const out: string[] = [];
if (tableRows.length > 0) {
  const header = ["workload", "ours req/s", "redis req/s", "ours/redis", "ours p50/p99 ms"];
  header.push("redis p50/p99 ms", "server CPU µs/req ours / redis", "load.ts errors");
  out.push(table(header, tableRows));
}
if (memory) {
  out.push(`Memory: ${memory.what}`);
  const rows = memory.rows.map((r) => [
    r.server,
    mib(r.idle),
    mib(r.afterWrite),
    mib(r.afterRead),
    mib(r.settled),
    mib(r.peak),
    r.disk === null ? "-" : mib(r.disk),
    `${r.writeSeconds.toFixed(1)} s`,
  ]);
  out.push(
    table(
      [
        "server",
        "RSS idle",
        "RSS after write",
        "RSS after read",
        "RSS 5 s later",
        "peak RSS",
        "on disk",
        "write time",
      ],
      rows,
    ),
  );
}
if (startup) {
  out.push(`Startup: ${startup.what}`);
  const rows = Object.entries(startup.times).map(([label, xs]) => [
    label,
    `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`,
    mib(median(startup!.rssAtPong[label] ?? [])),
  ]);
  out.push(table(["server", "first PONG ms median [min–max]", "RSS at PONG"], rows));
}
if (latency) {
  out.push(`Latency: ${latency.what}`);
  const p99 = (xs: Sample[] | undefined) => median((xs ?? []).map((x) => x.p99));
  const rows = ["ours", "redis"].map((name) => {
    const idle = p99(latency!.idle[name]);
    const busy = p99(latency!.busy[name]);
    return [name, idle.toFixed(2), busy.toFixed(2), `${(busy / idle).toFixed(2)}×`];
  });
  out.push(table(["server", "GET p99 ms alone", "GET p99 ms under SET load", "busy/idle"], rows));
}
if (notes.length > 0) out.push(notes.map((n) => `- ${n}`).join("\n"));
console.log(`\n${out.join("\n\n")}`);

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim();
const dirty =
  Bun.spawnSync(["git", "status", "--porcelain", "--", "src"]).stdout.toString().trim() !== "";
const result = {
  date: new Date().toISOString(),
  commit: dirty ? `${commit}+dirty` : commit,
  machine: {
    host: hostname(),
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "",
    bun: Bun.version,
  },
  redis: redis.describe(),
  ours: ours.describe(),
  reps,
  quick,
  argv: process.argv.slice(2),
  results,
  ...(notes.length > 0 ? { notes } : {}),
  ...(memory ? { memory } : {}),
  ...(startup ? { startup } : {}),
  ...(latency ? { latency } : {}),
};
const outDir = join(import.meta.dir, "results");
mkdirSync(outDir, { recursive: true });
const stamp = result.date.slice(0, 19).replace(/[:T]/g, "-");
const base = `${stamp}-${commit}${flags.durable ? "-durable" : ""}${quick ? "-quick" : ""}`;
let file = flags.out || join(outDir, `${base}.json`);
for (let i = 2; !flags.out && existsSync(file); i++) file = join(outDir, `${base}-${i}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
// Keep `biome check bench` clean: let Biome lay out the JSON (short arrays on one line).
const biome = join(import.meta.dir, "..", "node_modules", ".bin", "biome");
if (existsSync(biome))
  Bun.spawnSync([biome, "format", "--write", file], { stdout: "ignore", stderr: "ignore" });
console.log(`\nwrote ${file}`);
process.exit(0);
