/**
 * auto_vacuum as a background job: the startup upgrade of legacy shard files whose auto_vacuum
 * is not INCREMENTAL (a one-time VACUUM per file), and the small incremental vacuum the expiry
 * sweep triggers after each round. BLOBASAUR.VACUUM's steps are maintenance/vacuum.ts.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { limits } from "../../limits.ts";
import type { Logger } from "../../log.ts";
import type { Shard } from "../engine/shard.ts";
import { pragmaNumber } from "../maintenance/vacuum.ts";
import type { ShardWriter } from "../writes/shard-writer.ts";

const message = (error: unknown): string => String((error as Error)?.message ?? error);

export type UpgradeResult = "ok" | "error" | "skipped_disabled";

export interface AutoVacuumUpgradeReport {
  /** Per shard that needed the upgrade: what happened and how long it took. */
  runs: { shard: number; result: UpgradeResult; seconds: number; previousMode: number }[];
  /** Shard files left with auto_vacuum ≠ INCREMENTAL because the upgrade is disabled. */
  misconfigured: number;
}

export interface UpgradeOptions {
  /** `[sqlite].auto_upgrade_legacy_auto_vacuum`. */
  enabled: boolean;
  /**
   * `[sqlite].auto_upgrade_legacy_auto_vacuum_concurrency`. Accepted and validated, but the
   * upgrade runs one shard at a time: bun:sqlite is synchronous and the Store opens its shards
   * synchronously, so parallel VACUUMs would need Workers plus a blocking wait; for a one-time
   * conversion that is not worth it. Values above 1 therefore have no effect.
   */
  concurrency: number;
  log?: Logger;
  /** busy_timeout for the upgrade connection (a file locked by another process fails startup). */
  busyTimeoutMs?: number;
}

export class AutoVacuumUpgradeError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`startup auto_vacuum upgrade failed: ${detail}`, options);
    this.name = "AutoVacuumUpgradeError";
  }
}

const AUTO_VACUUM_NAMES = ["NONE", "FULL", "INCREMENTAL"];
const modeName = (mode: number) => `${AUTO_VACUUM_NAMES[mode] ?? "unknown"} (${mode})`;

/**
 * For every shard file that already exists (`paths[i]` is shard i) and whose persisted
 * auto_vacuum is not INCREMENTAL (2): when enabled, wal_checkpoint(TRUNCATE), auto_vacuum =
 * INCREMENTAL, VACUUM, and a re-read that must say 2; when disabled, a warning. Must run
 * before the shards open their connections. The first failure throws AutoVacuumUpgradeError
 * naming the shard, and the remaining shards are not touched. Missing files are skipped: a
 * new file is created INCREMENTAL by Shard itself.
 */
export function upgradeLegacyAutoVacuum(
  paths: readonly string[],
  options: UpgradeOptions,
): AutoVacuumUpgradeReport {
  const report: AutoVacuumUpgradeReport = { runs: [], misconfigured: 0 };
  for (let shard = 0; shard < paths.length; shard++) {
    const path = paths[shard]!;
    if (!existsSync(path)) continue;
    const started = performance.now();
    let db: Database | null = null;
    let step = "opening the database";
    let mode = -1;
    try {
      db = new Database(path, { create: false });
      db.run(
        `PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? limits.vacuumBusyTimeoutMs)}`,
      );
      step = "reading PRAGMA auto_vacuum";
      mode = pragmaNumber(db, "auto_vacuum");
      if (mode === 2) continue;
      if (!options.enabled) {
        options.log?.warn(
          `shard ${shard} (${path}): auto_vacuum is ${modeName(mode)}, not INCREMENTAL; space freed by deletes is not returned to the filesystem. Left alone because [sqlite].auto_upgrade_legacy_auto_vacuum = false`,
        );
        report.misconfigured++;
        report.runs.push({
          shard,
          result: "skipped_disabled",
          seconds: (performance.now() - started) / 1000,
          previousMode: mode,
        });
        continue;
      }
      options.log?.warn(
        `shard ${shard} (${path}): auto_vacuum is ${modeName(mode)}, not INCREMENTAL; upgrading (VACUUM rewrites the whole file)`,
      );
      step = "wal_checkpoint(TRUNCATE)";
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      step = "PRAGMA auto_vacuum = INCREMENTAL";
      db.run("PRAGMA auto_vacuum = INCREMENTAL");
      step = "VACUUM";
      db.run("VACUUM");
      step = "re-reading PRAGMA auto_vacuum";
      const now = pragmaNumber(db, "auto_vacuum");
      if (now !== 2) throw new Error(`auto_vacuum is still ${modeName(now)}`);
      const seconds = (performance.now() - started) / 1000;
      report.runs.push({ shard, result: "ok", seconds, previousMode: mode });
      options.log?.info(
        `shard ${shard}: auto_vacuum upgraded to INCREMENTAL in ${seconds.toFixed(2)} s`,
      );
    } catch (error) {
      report.runs.push({
        shard,
        result: "error",
        seconds: (performance.now() - started) / 1000,
        previousMode: mode,
      });
      throw new AutoVacuumUpgradeError(
        `shard ${shard} (${path}): ${step} failed while applying auto_vacuum upgrade: ${message(error)}`,
        { cause: error },
      );
    } finally {
      db?.close();
    }
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Background incremental vacuum

/**
 * Called after every expiry sweep round, per shard (storage/jobs/expiry-sweep.ts). The sweep round runs
 * every limits.sweepIdleIntervalMs, so space freed by DEL/HDEL/overwrites is picked up too,
 * not only by expiry. Cheap when there is nothing to do: one `PRAGMA freelist_count` (a read
 * of the file header). When the freelist holds at least limits.autoVacuumFreelistPagesMin
 * pages and the file is INCREMENTAL, it queues a writer barrier running
 * `PRAGMA incremental_vacuum(limits.autoVacuumPagesPerRun)`; the next round continues if the
 * freelist is still above the threshold. Resolves with the pages freed (0 = nothing queued).
 * Freed pages leave the file at the next checkpoint (the background checkpointer's).
 */
export async function maybeAutoVacuum(
  shard: Pick<Shard, "db">,
  writer: Pick<ShardWriter, "barrier">,
): Promise<number> {
  if (pragmaNumber(shard.db, "freelist_count") < limits.autoVacuumFreelistPagesMin) return 0;
  // A legacy NONE/FULL file (upgrade disabled) would make incremental_vacuum a silent no-op.
  if (pragmaNumber(shard.db, "auto_vacuum") !== 2) return 0;
  return await writer.barrier(() => {
    const before = pragmaNumber(shard.db, "freelist_count");
    if (before < limits.autoVacuumFreelistPagesMin) return 0;
    shard.db.run(`PRAGMA incremental_vacuum(${limits.autoVacuumPagesPerRun})`);
    return Math.max(0, before - pragmaNumber(shard.db, "freelist_count"));
  });
}
