/**
 * Space reclamation for the shard files: the steps of BLOBASAUR.VACUUM on one shard (run as a
 * barrier on that shard's writer, or on a Worker for a full VACUUM). The startup upgrade of
 * legacy auto_vacuum and the background incremental vacuum are jobs/auto-vacuum.ts.
 * Knows nothing of the protocol or of metrics: it returns plain results that callers render
 * and count. bun:sqlite is synchronous, so every step here runs on the calling thread.
 */
import type { Database } from "bun:sqlite";
import { limits } from "../../limits.ts";
import type { Shard } from "../engine/shard.ts";
import { workerUrl } from "../workers/worker-url.ts";
import type { ShardWriter } from "../writes/shard-writer.ts";

export type VacuumMode = "incremental" | "full";

export interface VacuumOptions {
  mode: VacuumMode;
  /** Budget in MiB for incremental mode (ignored by full mode); > 0. */
  budgetMb: bigint;
  /** Read the stats and estimate, change nothing (not even a WAL checkpoint). */
  dryRun: boolean;
}

export interface PageStats {
  pageSize: number;
  pageCount: number;
  freelistCount: number;
}

export type VacuumStatus = "ok" | "execution_error" | "cancelled" | "invalid_shard";
/** The `result` label of vacuum_runs_total. */
export type VacuumOutcome = "ok" | "error" | "invalid_shard" | "dispatch_error" | "cancelled";

export interface ShardVacuumResult {
  /** The shard id as requested (bigint only for ids beyond 2^53, which never exist). */
  shard: number | bigint;
  status: VacuumStatus;
  outcome: VacuumOutcome;
  error: string | null;
  durationMs: number | null;
  before: PageStats | null;
  after: PageStats | null;
  /** Incremental mode only: min(freelist, budget in pages). */
  incrementalPagesRequested: number | null;
  estimatedReclaimedPages: number | null;
  executionErrors: string[];
}

/** What the vacuum needs of a Store: its shards and their writers, index for index. */
export interface VacuumTarget {
  readonly shards: readonly Pick<Shard, "db" | "index" | "path">[];
  readonly writers: readonly Pick<ShardWriter, "barrier" | "barrierAsync">[];
}

const message = (error: unknown): string => String((error as Error)?.message ?? error);

export function pragmaNumber(db: Database, name: string): number {
  const row = db.query(`PRAGMA ${name}`).get() as Record<string, number> | null;
  const value = row ? Object.values(row)[0] : undefined;
  if (typeof value !== "number") throw new Error(`no value returned`);
  return value;
}

/** page_size, page_count and freelist_count; null (with the failure noted) if one fails. */
export function readPageStats(db: Database, errors: string[] = []): PageStats | null {
  const values: number[] = [];
  for (const name of ["page_size", "page_count", "freelist_count"]) {
    try {
      values.push(pragmaNumber(db, name));
    } catch (error) {
      errors.push(`failed to read PRAGMA ${name}: ${message(error)}`);
      return null;
    }
  }
  return { pageSize: values[0]!, pageCount: values[1]!, freelistCount: values[2]! };
}

/** How many pages `budgetMb` MiB are at `pageSize` bytes each (capped at 2^53). */
export function budgetPages(budgetMb: bigint, pageSize: number): number {
  const pages = (budgetMb * 1_048_576n) / BigInt(Math.max(1, pageSize));
  return pages > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(pages);
}

export interface ExecutedVacuum {
  before: PageStats | null;
  after: PageStats | null;
  incrementalPagesRequested: number | null;
  estimatedReclaimedPages: number | null;
  errors: string[];
  durationMs: number;
}

/**
 * The steps on one connection, outside any transaction (callers use the writer's barrier):
 * stats; unless dry-run, wal_checkpoint(TRUNCATE), then incremental_vacuum(pages) or VACUUM;
 * stats again. Failures are collected as text, never thrown. Beyond the reference we also
 * checkpoint (TRUNCATE) after the vacuum: in WAL mode the database file only shrinks at a
 * checkpoint, and after a full VACUUM the WAL holds a copy of the whole database.
 */
export function executeVacuum(db: Database, options: VacuumOptions): ExecutedVacuum {
  const started = performance.now();
  const errors: string[] = [];
  const before = readPageStats(db, errors);
  let pages: number | null = null;
  if (options.mode === "incremental" && before) {
    pages = Math.min(before.freelistCount, budgetPages(options.budgetMb, before.pageSize));
  }
  const checkpoint = () => {
    try {
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (error) {
      errors.push(`wal_checkpoint(TRUNCATE) failed: ${message(error)}`);
    }
  };
  if (!options.dryRun) {
    checkpoint();
    if (options.mode === "incremental") {
      if (pages === null)
        errors.push("incremental vacuum skipped because pre-stats were unavailable");
      else if (pages > 0) {
        try {
          db.run(`PRAGMA incremental_vacuum(${pages})`);
        } catch (error) {
          errors.push(`incremental_vacuum(${pages}) failed: ${message(error)}`);
        }
      }
    } else {
      try {
        db.run("VACUUM");
      } catch (error) {
        errors.push(`VACUUM failed: ${message(error)}`);
      }
    }
    checkpoint();
  }
  const after = readPageStats(db, errors);
  let estimated: number | null;
  if (options.dryRun)
    estimated = options.mode === "incremental" ? pages : (before?.freelistCount ?? null);
  else estimated = before && after ? Math.max(0, before.freelistCount - after.freelistCount) : null;
  return {
    before,
    after,
    incrementalPagesRequested: pages,
    estimatedReclaimedPages: estimated,
    errors,
    durationMs: Math.round(performance.now() - started),
  };
}

function emptyResult(
  shard: number | bigint,
  status: VacuumStatus,
  outcome: VacuumOutcome,
  error: string,
): ShardVacuumResult {
  return {
    shard,
    status,
    outcome,
    error,
    durationMs: null,
    before: null,
    after: null,
    incrementalPagesRequested: null,
    estimatedReclaimedPages: null,
    executionErrors: [],
  };
}

/**
 * Vacuums one shard through its writer's barrier: writes queued before it commit first,
 * writes queued after it wait until it is done. The VACUUM itself runs in a Worker on its own
 * connection, so reads on this node are served while it runs.
 */
export async function vacuumShard(
  target: VacuumTarget,
  shard: number | bigint,
  options: VacuumOptions,
): Promise<ShardVacuumResult> {
  const index = Number(shard);
  const s = index < target.shards.length ? target.shards[index] : undefined;
  const writer = index < target.writers.length ? target.writers[index] : undefined;
  if (!s || !writer) {
    return emptyResult(
      shard,
      "invalid_shard",
      "invalid_shard",
      `shard ${shard} does not exist on this node`,
    );
  }
  let run: ExecutedVacuum;
  try {
    // In a Worker on its own connection while this shard's write queue is held, so reads
    // (and other shards' writes) go on; inline only when no Worker can start.
    run = await writer
      .barrierAsync(() => vacuumInWorker(s.path, options))
      .catch((error) =>
        error instanceof WorkerUnavailable
          ? writer.barrier(() => executeVacuum(s.db, options))
          : Promise.reject(error),
      );
  } catch {
    return emptyResult(
      index,
      "execution_error",
      "dispatch_error",
      "failed to dispatch vacuum operation to shard writer",
    );
  }
  const ok = run.errors.length === 0;
  return {
    shard: index,
    status: ok ? "ok" : "execution_error",
    outcome: ok ? "ok" : "error",
    error: ok ? null : run.errors.join("; "),
    durationMs: run.durationMs,
    before: run.before,
    after: run.after,
    incrementalPagesRequested: run.incrementalPagesRequested,
    estimatedReclaimedPages: run.estimatedReclaimedPages,
    executionErrors: run.errors,
  };
}

class WorkerUnavailable extends Error {}

/** Runs executeVacuum on a fresh connection in a Worker (vacuum-worker.ts). */
function vacuumInWorker(path: string, options: VacuumOptions): Promise<ExecutedVacuum> {
  let worker: Worker;
  try {
    worker = new Worker(workerUrl("vacuum-worker.ts"));
  } catch (error) {
    return Promise.reject(new WorkerUnavailable(message(error)));
  }
  return new Promise<ExecutedVacuum>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<{ result?: ExecutedVacuum; error?: string }>) => {
      worker.terminate();
      if (event.data.result) resolve(event.data.result);
      else reject(new Error(event.data.error ?? "vacuum worker failed"));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message));
    };
    worker.postMessage({ path, options, busyTimeoutMs: limits.vacuumBusyTimeoutMs });
  });
}

/** `SHARD ALL` (every local shard, one after another) or one shard id. */
export async function vacuumShards(
  target: VacuumTarget,
  which: bigint | "all",
  options: VacuumOptions,
): Promise<ShardVacuumResult[]> {
  if (which !== "all") {
    const id = which > BigInt(Number.MAX_SAFE_INTEGER) ? which : Number(which);
    return [await vacuumShard(target, id, options)];
  }
  const results: ShardVacuumResult[] = [];
  for (let i = 0; i < target.shards.length; i++)
    results.push(await vacuumShard(target, i, options));
  return results;
}

/** True for SQLite lock/busy failures (the `busy` class of vacuum_shard_failures_total). */
export function isBusyError(text: string): boolean {
  const t = text.toLowerCase();
  return (
    t.includes("database is locked") ||
    t.includes("database table is locked") ||
    t.includes("database is busy") ||
    t.includes("sqlite_busy")
  );
}
