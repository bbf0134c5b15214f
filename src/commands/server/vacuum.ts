/**
 * BLOBASAUR.VACUUM SHARD <id|ALL> MODE <incremental|full> BUDGET_MB <n> [DRYRUN]: the admin
 * command that reclaims free pages of the local shard files. Parses with the reference's
 * grammar and error texts, runs through storage/maintenance/vacuum.ts (a barrier on each shard's writer;
 * ALL = one shard after another) and replies with the reference's structure as map replies:
 * a flat array of field/value pairs under RESP2 (what the `shard vacuum` orchestrator parses),
 * a real map under RESP3. No cluster redirection: it acts on this node's shards only.
 * Records the vacuum metrics; it does not touch SQLite itself.
 */
import { RespError, sanitizeLine } from "../../errors.ts";
import { map, type Reply } from "../../protocol/reply.ts";
import {
  isBusyError,
  type PageStats,
  type ShardVacuumResult,
  type VacuumMode,
  type VacuumOptions,
  vacuumShards,
} from "../../storage/api.ts";
import { text } from "../args.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

const SYNTAX = "BLOBASAUR.VACUUM SHARD <id|ALL> MODE <incremental|full> BUDGET_MB <n> [DRYRUN]";
const U64_MAX = 18446744073709551615n;
const I64_MAX = 9223372036854775807n;

export interface VacuumRequest extends VacuumOptions {
  shard: bigint | "all";
}

const err = (message: string) => new RespError("ERR", message);
/** An argument echoed in an error, with CR/LF removed. */
const shown = (arg: Uint8Array) => sanitizeLine(text(arg));

/** An unsigned 64-bit decimal (digits only), or null. */
function parseU64(arg: Uint8Array): bigint | null {
  const t = text(arg);
  if (!/^[0-9]{1,20}$/.test(t)) return null;
  const v = BigInt(t);
  return v > U64_MAX ? null : v;
}

/**
 * Parses the arguments after the name. Dispatch already refused fewer than 7 elements with
 * Redis's arity error (the row's arity is -7; the reference answers that case with the syntax
 * error below instead); more than 8 gets the reference's syntax error.
 */
export function parseVacuum(args: Uint8Array[]): VacuumRequest {
  if (args.length < 7 || args.length > 8) throw err(`BLOBASAUR.VACUUM syntax: ${SYNTAX}`);
  if (text(args[1]!).toUpperCase() !== "SHARD")
    throw err("BLOBASAUR.VACUUM requires SHARD keyword");
  let shard: bigint | "all";
  if (text(args[2]!).toUpperCase() === "ALL") shard = "all";
  else {
    const id = parseU64(args[2]!);
    if (id === null)
      throw err(`Invalid shard id '${shown(args[2]!)}': expected non-negative integer or ALL`);
    shard = id;
  }
  if (text(args[3]!).toUpperCase() !== "MODE") throw err("BLOBASAUR.VACUUM requires MODE keyword");
  const modeText = text(args[4]!).toLowerCase();
  if (modeText !== "incremental" && modeText !== "full") {
    throw err(`Invalid MODE '${shown(args[4]!)}': expected incremental or full`);
  }
  if (text(args[5]!).toUpperCase() !== "BUDGET_MB")
    throw err("BLOBASAUR.VACUUM requires BUDGET_MB keyword");
  const budget = parseU64(args[6]!);
  if (budget === null)
    throw err(`Invalid BUDGET_MB '${shown(args[6]!)}': expected positive integer`);
  if (budget === 0n) throw err("BUDGET_MB must be greater than 0");
  let dryRun = false;
  if (args.length === 8) {
    if (text(args[7]!).toUpperCase() !== "DRYRUN") {
      throw err(`Unexpected trailing token '${shown(args[7]!)}': expected DRYRUN`);
    }
    dryRun = true;
  }
  return { shard, mode: modeText as VacuumMode, budgetMb: budget, dryRun };
}

const clampInt = (v: number | bigint): number | bigint =>
  typeof v === "bigint" && v > I64_MAX ? I64_MAX : v;

function statsReply(s: PageStats | null): Reply {
  if (s === null) return null;
  return map([
    ["page_size", s.pageSize],
    ["page_count", s.pageCount],
    ["freelist_count", s.freelistCount],
  ]);
}

function shardReply(r: ShardVacuumResult): Reply {
  return map([
    ["shard", clampInt(r.shard)],
    ["status", r.status],
    ["error", r.error],
    ["duration_ms", r.durationMs],
    ["before", statsReply(r.before)],
    ["after", statsReply(r.after)],
    ["incremental_pages_requested", r.incrementalPagesRequested],
    ["estimated_reclaimed_pages", r.estimatedReclaimedPages],
    ["execution_errors", r.executionErrors],
  ]);
}

/** The whole reply, exactly the reference's field order. */
export function vacuumReply(request: VacuumRequest, results: readonly ShardVacuumResult[]): Reply {
  return map([
    ["mode", request.mode],
    ["budget_mb", clampInt(request.budgetMb)],
    ["dry_run", request.dryRun ? 1 : 0],
    ["results", results.map(shardReply)],
  ]);
}

function record(ctx: Ctx, mode: VacuumMode, r: ShardVacuumResult): void {
  const metrics = ctx.server.metrics;
  if (!metrics) return;
  let failure: "busy" | "error" | null = null;
  if (r.outcome === "error" || r.outcome === "dispatch_error" || r.outcome === "cancelled") {
    failure = isBusyError(r.error ?? "") ? "busy" : "error";
  }
  metrics.vacuumRun({
    mode,
    shard: String(r.shard),
    result: r.outcome,
    seconds: r.durationMs === null ? null : r.durationMs / 1000,
    reclaimedPages: r.estimatedReclaimedPages,
    pageSize: r.before?.pageSize ?? r.after?.pageSize ?? null,
    failure,
  });
}

async function vacuum(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const request = parseVacuum(args);
  const results = await vacuumShards(ctx.server.store, request.shard, request);
  for (const r of results) record(ctx, request.mode, r);
  return vacuumReply(request, results);
}

export const vacuumCommands: CommandSpec[] = [
  {
    name: "blobasaur.vacuum",
    arity: -7,
    // Not "write": it changes no keys. no_multi: it waits on the writers, which EXEC holds.
    flags: ["admin", "no_multi"],
    keys: null,
    group: "blobasaur",
    since: "0.1.0",
    summary:
      "Reclaims free pages of local shard files (incremental within a budget, or full VACUUM); blocks that shard's writes while it runs.",
    syntax: "SHARD <id|ALL> MODE <incremental|full> BUDGET_MB <n> [DRYRUN]",
    handler: vacuum,
  },
];
