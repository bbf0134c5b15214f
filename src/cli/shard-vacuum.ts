/**
 * `blobasaur shard vacuum --all-shards [--mode incremental|full] [--budget-mb N] [--nodes a,b]
 * [--dry-run] [--node-concurrency N] [--shard-concurrency N] [--timeout-sec N]`: the
 * multi-node orchestrator. Sends `BLOBASAUR.VACUUM SHARD ALL …` to every node (at most
 * --node-concurrency at a time, one deadline per node), keeps going past node failures,
 * prints a per-shard report sorted by node and a summary line. Exit codes: 0 all ok;
 * 1 any node failed or any shard not ok; 2 bad flags. It talks to servers only over RESP
 * (resp-client.ts) and never opens shard files itself.
 */
import { type CommandDef, defineCommand } from "citty";
import { loadConfig } from "../config/index.ts";
import type { CliContext } from "./context.ts";
import { RespErrorReply, type RespValue, respCall } from "./resp-client.ts";

export interface VacuumCliOptions {
  mode: "incremental" | "full";
  budgetMb: bigint;
  /** Explicit --nodes after normalisation, or null to resolve from the config. */
  nodes: string[] | null;
  dryRun: boolean;
  nodeConcurrency: number;
  shardConcurrency: number;
  timeoutSec: number;
}

/** Where the command prints; tests pass their own. */
export interface VacuumIo {
  out(line: string): void;
  err(line: string): void;
}

const stdio: VacuumIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** A flag problem: printed as `blobasaur: <message>`, exit code 2. */
export class UsageError extends Error {}

const DEFAULT_NODE = "127.0.0.1:6379";
const KNOWN_FLAGS = new Set([
  "all-shards",
  "mode",
  "budget-mb",
  "nodes",
  "dry-run",
  "node-concurrency",
  "shard-concurrency",
  "timeout-sec",
  "help",
]);

/** `0.0.0.0:P` → `127.0.0.1:P`, `[::]:P` → `[::1]:P` (a wildcard bind is not dialable). */
export function normalizeNode(addr: string): string {
  const a = addr.trim();
  if (a.startsWith("0.0.0.0:")) return `127.0.0.1:${a.slice("0.0.0.0:".length)}`;
  if (a.startsWith("[::]:")) return `[::1]:${a.slice("[::]:".length)}`;
  return a;
}

/** --nodes: trimmed, empty entries dropped, normalised, duplicates removed in order. */
export function parseNodes(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(",")) {
    const a = part.trim();
    if (a === "") continue;
    const n = normalizeNode(a);
    if (!out.includes(n)) out.push(n);
  }
  if (out.length === 0) throw new UsageError("--nodes must contain at least one node address");
  return out;
}

function integerFlag(name: string, value: unknown, fallback: bigint, min: bigint): bigint {
  if (value === undefined) return fallback;
  const t = String(value).trim();
  if (!/^[0-9]{1,19}$/.test(t)) {
    throw new UsageError(`invalid --${name} '${String(value)}': expected an integer >= ${min}`);
  }
  const v = BigInt(t);
  if (v < min) {
    throw new UsageError(
      name === "budget-mb"
        ? "--budget-mb must be greater than 0"
        : `--${name} must be at least ${min}`,
    );
  }
  return v;
}

/** Validates the parsed flags (citty's args object) in the reference's order. */
export function parseVacuumFlags(
  args: Record<string, unknown>,
  rawArgs: readonly string[] = [],
): VacuumCliOptions {
  for (const raw of rawArgs) {
    if (!raw.startsWith("--")) continue;
    const name = raw.slice(2).split("=")[0]!;
    if (!KNOWN_FLAGS.has(name)) throw new UsageError(`unknown option '${raw.split("=")[0]}'`);
  }
  if (args["all-shards"] !== true) {
    throw new UsageError(
      "Phase-4 orchestrator currently supports all local shards only; pass --all-shards",
    );
  }
  const modeText = String(args.mode ?? "incremental").toLowerCase();
  if (modeText !== "incremental" && modeText !== "full") {
    throw new UsageError(`invalid --mode '${String(args.mode)}': expected incremental or full`);
  }
  const budgetMb = integerFlag("budget-mb", args["budget-mb"], 128n, 1n);
  const nodes = args.nodes === undefined ? null : parseNodes(String(args.nodes));
  return {
    mode: modeText,
    budgetMb,
    nodes,
    dryRun: args["dry-run"] === true,
    nodeConcurrency: Number(integerFlag("node-concurrency", args["node-concurrency"], 1n, 1n)),
    shardConcurrency: Number(integerFlag("shard-concurrency", args["shard-concurrency"], 1n, 1n)),
    timeoutSec: Number(integerFlag("timeout-sec", args["timeout-sec"], 30n, 1n)),
  };
}

/** Without --nodes: the config's cluster.advertise_addr, else addr; on failure 127.0.0.1:6379. */
export function resolveNodes(options: VacuumCliOptions, ctx: CliContext, io: VacuumIo): string[] {
  if (options.nodes) return options.nodes;
  try {
    const config = loadConfig(ctx.configPath);
    return [normalizeNode(config.cluster.advertiseAddr ?? config.addr.text)];
  } catch (error) {
    io.err(
      `warning: cannot load ${ctx.configPath} (${(error as Error).message}); using ${DEFAULT_NODE}`,
    );
    return [DEFAULT_NODE];
  }
}

export interface ShardLine {
  shard: number;
  status: string;
  durationMs: number | null;
  pagesRequested: number | null;
  reclaimedPages: number | null;
  error: string | null;
  executionErrors: string[];
}

export interface NodeReport {
  mode: string;
  budgetMb: number | bigint;
  dryRun: number;
  shards: ShardLine[];
}

/** A flat [k, v, k, v…] array (RESP2 map, or a RESP3 map as resp-client flattens it). */
function fields(value: RespValue, what: string): Map<string, RespValue> {
  if (!Array.isArray(value) || value.length % 2 !== 0) throw new Error(`${what} is not a map`);
  const out = new Map<string, RespValue>();
  for (let i = 0; i < value.length; i += 2) out.set(String(value[i]), value[i + 1]!);
  return out;
}

/** An integer field; numeric bulk strings are accepted too. */
function int(value: RespValue | undefined): number | bigint | null {
  if (typeof value === "number" || typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?[0-9]+$/.test(value)) {
    const v = BigInt(value);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return null;
}

function required<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined)
    throw new Error(`invalid reply: missing or bad field '${field}'`);
  return value;
}

/** Checks and reads one node's BLOBASAUR.VACUUM reply; throws with the reason. */
export function parseNodeReply(value: RespValue): NodeReport {
  if (value instanceof RespErrorReply) throw new Error(`node returned error: ${value.message}`);
  const top = fields(value, "reply");
  const mode = top.get("mode");
  const dryRun = int(top.get("dry_run"));
  if (dryRun !== 0 && dryRun !== 1)
    throw new Error("invalid reply: missing or bad field 'dry_run'");
  const results = top.get("results");
  if (!Array.isArray(results)) throw new Error("invalid reply: missing or bad field 'results'");
  const shards = results.map((entry) => {
    const f = fields(entry, "shard result");
    const status = f.get("status");
    const errors = f.get("execution_errors");
    const error = f.get("error");
    const num = (k: string) => {
      const v = int(f.get(k));
      return v === null ? null : Number(v);
    };
    return {
      shard: Number(required(int(f.get("shard")), "shard")),
      status: required(typeof status === "string" ? status : null, "status"),
      durationMs: num("duration_ms"),
      pagesRequested: num("incremental_pages_requested"),
      reclaimedPages: num("estimated_reclaimed_pages"),
      error: typeof error === "string" ? error : null,
      executionErrors: Array.isArray(errors) ? errors.map(String) : [],
    };
  });
  return {
    mode: required(typeof mode === "string" ? mode : null, "mode"),
    budgetMb: required(int(top.get("budget_mb")), "budget_mb"),
    dryRun,
    shards,
  };
}

type NodeOutcome = { node: string; report: NodeReport } | { node: string; failure: string };

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

const show = (v: number | string | null) => (v === null ? "-" : String(v));

/** The whole run: returns the exit code (0 or 1). */
export async function runVacuumOrchestrator(
  options: VacuumCliOptions,
  nodes: string[],
  io: VacuumIo,
): Promise<number> {
  io.out("shard vacuum");
  io.out(`  mode: ${options.mode}`);
  io.out(`  budget_mb: ${options.budgetMb}`);
  io.out(`  dry_run: ${options.dryRun}`);
  io.out(`  node_concurrency: ${options.nodeConcurrency}`);
  io.out(`  shard_concurrency: ${options.shardConcurrency}`);
  io.out(`  timeout_sec: ${options.timeoutSec}`);
  io.out(`  nodes: ${nodes.join(", ")}`);
  if (options.shardConcurrency !== 1) {
    io.err(
      `note: --shard-concurrency ${options.shardConcurrency} is not supported yet; each node vacuums its shards one at a time`,
    );
  }
  const command = [
    "BLOBASAUR.VACUUM",
    "SHARD",
    "ALL",
    "MODE",
    options.mode,
    "BUDGET_MB",
    String(options.budgetMb),
  ];
  if (options.dryRun) command.push("DRYRUN");
  const outcomes = await pool(
    nodes,
    options.nodeConcurrency,
    async (node): Promise<NodeOutcome> => {
      try {
        const reply = await respCall(node, command, { timeoutMs: options.timeoutSec * 1000 });
        return { node, report: parseNodeReply(reply) };
      } catch (error) {
        return { node, failure: (error as Error).message || String(error) };
      }
    },
  );
  let nodeFailures = 0;
  let shardOk = 0;
  let shardFailed = 0;
  io.out("");
  for (const outcome of [...outcomes].sort((a, b) =>
    a.node < b.node ? -1 : a.node > b.node ? 1 : 0,
  )) {
    if ("failure" in outcome) {
      nodeFailures++;
      io.out(`node ${outcome.node}: FAILED: ${outcome.failure}`);
      continue;
    }
    const r = outcome.report;
    io.out(
      `node ${outcome.node}: mode=${r.mode}, budget_mb=${r.budgetMb}, dry_run=${r.dryRun}, shards=${r.shards.length}`,
    );
    for (const s of r.shards) {
      if (s.status === "ok") shardOk++;
      else shardFailed++;
      io.out(
        `  shard ${s.shard} -> status=${s.status}, duration_ms=${show(s.durationMs)}, incremental_pages_requested=${show(s.pagesRequested)}, estimated_reclaimed_pages=${show(s.reclaimedPages)}, error=${show(s.error)}`,
      );
      for (const e of s.executionErrors) io.out(`    execution_error: ${e}`);
    }
  }
  io.out(
    `Summary: node_failures=${nodeFailures}, shard_successes=${shardOk}, shard_failures=${shardFailed}`,
  );
  if (nodeFailures > 0 || shardFailed > 0) {
    io.err("Error: vacuum orchestration completed with failures");
    return 1;
  }
  return 0;
}

export function vacuumCommand(ctx: CliContext, io: VacuumIo = stdio): CommandDef {
  const command = defineCommand({
    meta: {
      name: "vacuum",
      description: "Run BLOBASAUR.VACUUM on every shard of one or more nodes",
    },
    args: {
      "all-shards": { type: "boolean", description: "Vacuum every shard of each node (required)" },
      mode: { type: "string", description: "incremental or full", default: "incremental" },
      "budget-mb": {
        type: "string",
        description: "MiB of free pages to reclaim per shard (incremental)",
        default: "128",
      },
      nodes: {
        type: "string",
        description: "Comma-separated host:port list (default: the config's addr)",
      },
      "dry-run": {
        type: "boolean",
        description: "Report stats and estimates without changing anything",
      },
      "node-concurrency": {
        type: "string",
        description: "Nodes vacuumed at the same time",
        default: "1",
      },
      "shard-concurrency": {
        type: "string",
        description: "Shards per node at the same time (only 1 for now)",
        default: "1",
      },
      "timeout-sec": {
        type: "string",
        description: "Deadline per node: connect + send + reply",
        default: "30",
      },
    },
    run: async ({ args, rawArgs }) => {
      let options: VacuumCliOptions;
      try {
        options = parseVacuumFlags(args as Record<string, unknown>, rawArgs);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        io.err(`blobasaur: ${error.message}`);
        ctx.exitCode = 2;
        return;
      }
      ctx.exitCode = await runVacuumOrchestrator(options, resolveNodes(options, ctx, io), io);
    },
  });
  // citty's CommandDef is invariant in its args; the parent only needs the untyped shape.
  return command as unknown as CommandDef;
}
