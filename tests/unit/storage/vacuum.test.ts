/**
 * storage/maintenance/vacuum.ts on its own: the vacuum steps and estimates on one connection, the startup
 * upgrade of legacy auto_vacuum files (fixtures made directly with bun:sqlite), and the
 * background incremental vacuum the expiry sweep runs.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../../src/config/index.ts";
import { limits } from "../../../src/limits.ts";
import { silentLogger } from "../../../src/log.ts";
import { slotOfKey } from "../../../src/storage/engine/key-slot.ts";
import { ROW_STRING } from "../../../src/storage/engine/sql.ts";
import {
  AutoVacuumUpgradeError,
  maybeAutoVacuum,
  upgradeLegacyAutoVacuum,
} from "../../../src/storage/jobs/auto-vacuum.ts";
import { ExpirySweeper } from "../../../src/storage/jobs/expiry-sweep.ts";
import {
  budgetPages,
  executeVacuum,
  isBusyError,
} from "../../../src/storage/maintenance/vacuum.ts";
import { Store } from "../../../src/storage/store.ts";
import { tempDir } from "../../helpers/server.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

function dir(): string {
  const d = tempDir("blobasaur-vacuum-");
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const pragma = (db: Database, name: string) =>
  Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, number>)[0]!;

/** A shard-like file with `rows` rows of `bytes` random bytes, auto_vacuum as given. */
function fixture(
  path: string,
  autoVacuum: "NONE" | "FULL" | "INCREMENTAL",
  rows = 200,
  bytes = 8192,
): void {
  const db = new Database(path, { create: true });
  db.run(`PRAGMA auto_vacuum = ${autoVacuum}`);
  db.run("PRAGMA journal_mode = WAL");
  db.run("CREATE TABLE blobs (key TEXT PRIMARY KEY, value BLOB NOT NULL)");
  const insert = db.prepare("INSERT INTO blobs VALUES (?1, ?2)");
  const value = new Uint8Array(bytes).map((_, i) => (i * 31) % 251);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`k${i}`, value);
  })();
  db.close();
}

/** Records warnings the way consola's warn would receive them. */
function recordingLog() {
  const warnings: string[] = [];
  const log = silentLogger();
  log.warn = ((message: string) => {
    warnings.push(message);
  }) as unknown as typeof log.warn;
  return { log, warnings };
}

describe("startup upgrade of legacy auto_vacuum", () => {
  test("a NONE file becomes INCREMENTAL, keeps its rows, and is reported as ok", () => {
    const d = dir();
    const path = join(d, "shard_0.db");
    fixture(path, "NONE");
    const { log, warnings } = recordingLog();
    const report = upgradeLegacyAutoVacuum([path], { enabled: true, concurrency: 2, log });
    expect(report.runs.map((r) => [r.shard, r.result, r.previousMode])).toEqual([[0, "ok", 0]]);
    expect(report.misconfigured).toBe(0);
    expect(warnings.join("\n")).toContain("shard 0");
    const db = new Database(path);
    expect(pragma(db, "auto_vacuum")).toBe(2);
    expect((db.query("SELECT count(*) AS n FROM blobs").get() as { n: number }).n).toBe(200);
    db.close();
  });

  test("a FULL file is upgraded too, and an INCREMENTAL or missing file is left alone", () => {
    const d = dir();
    const paths = [join(d, "shard_0.db"), join(d, "shard_1.db"), join(d, "shard_2.db")];
    fixture(paths[0]!, "INCREMENTAL");
    fixture(paths[1]!, "FULL");
    const report = upgradeLegacyAutoVacuum(paths, { enabled: true, concurrency: 1 });
    expect(report.runs.map((r) => [r.shard, r.result, r.previousMode])).toEqual([[1, "ok", 1]]);
    expect(existsSync(paths[2]!)).toBe(false);
    const db = new Database(paths[1]!);
    expect(pragma(db, "auto_vacuum")).toBe(2);
    db.close();
  });

  test("disabled: the file is left as it is, with a warning and the misconfigured count", () => {
    const d = dir();
    const path = join(d, "shard_0.db");
    fixture(path, "NONE");
    const { log, warnings } = recordingLog();
    const report = upgradeLegacyAutoVacuum([path], { enabled: false, concurrency: 2, log });
    expect(report.misconfigured).toBe(1);
    expect(report.runs.map((r) => r.result)).toEqual(["skipped_disabled"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("auto_vacuum is NONE (0), not INCREMENTAL");
    expect(warnings[0]).toContain("auto_upgrade_legacy_auto_vacuum = false");
    const db = new Database(path);
    expect(pragma(db, "auto_vacuum")).toBe(0);
    db.close();
  });

  test("a locked file stops the upgrade with an error naming the shard; later shards are untouched", () => {
    const d = dir();
    const paths = [join(d, "shard_0.db"), join(d, "shard_1.db"), join(d, "shard_2.db")];
    for (const p of paths) fixture(p, "NONE", 10, 100);
    const holder = new Database(paths[1]!);
    holder.run("BEGIN EXCLUSIVE");
    cleanup.push(() => holder.close());
    let error: unknown;
    try {
      upgradeLegacyAutoVacuum(paths, { enabled: true, concurrency: 2, busyTimeoutMs: 20 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AutoVacuumUpgradeError);
    const message = (error as Error).message;
    expect(message).toStartWith("startup auto_vacuum upgrade failed: shard 1 (");
    expect(message).toContain("failed while applying auto_vacuum upgrade");
    expect(isBusyError(message)).toBe(true);
    holder.run("ROLLBACK");
    const modes = paths.map((p) => {
      const db = new Database(p);
      const mode = pragma(db, "auto_vacuum");
      db.close();
      return mode;
    });
    expect(modes).toEqual([2, 0, 0]);
  });
});

describe("the vacuum steps", () => {
  /** An INCREMENTAL file with `freed` pages on its freelist. */
  function withFreePages(): Database {
    const path = join(dir(), "v.db");
    fixture(path, "INCREMENTAL", 400, 8192);
    const db = new Database(path);
    cleanup.push(() => db.close());
    db.run("DELETE FROM blobs");
    return db;
  }

  test("DRYRUN reads the stats and estimates without changing any page", () => {
    const db = withFreePages();
    const free = pragma(db, "freelist_count");
    expect(free).toBeGreaterThan(500);
    const inc = executeVacuum(db, { mode: "incremental", budgetMb: 1n, dryRun: true });
    expect(inc.errors).toEqual([]);
    expect(inc.before).toEqual(inc.after);
    expect(inc.incrementalPagesRequested).toBe(256);
    expect(inc.estimatedReclaimedPages).toBe(256);
    const full = executeVacuum(db, { mode: "full", budgetMb: 1n, dryRun: true });
    expect(full.incrementalPagesRequested).toBeNull();
    expect(full.estimatedReclaimedPages).toBe(free);
    expect(pragma(db, "freelist_count")).toBe(free);
  });

  test("incremental frees min(freelist, budget) pages; full frees the rest", () => {
    const db = withFreePages();
    const free = pragma(db, "freelist_count");
    const inc = executeVacuum(db, { mode: "incremental", budgetMb: 1n, dryRun: false });
    expect(inc.errors).toEqual([]);
    expect(inc.estimatedReclaimedPages).toBe(256);
    expect(inc.after!.freelistCount).toBe(free - 256);
    // The file shrinks by at least those pages (a pointer-map page may go with them).
    expect(inc.after!.pageCount).toBeLessThanOrEqual(inc.before!.pageCount - 256);
    const full = executeVacuum(db, { mode: "full", budgetMb: 1n, dryRun: false });
    expect(full.errors).toEqual([]);
    expect(full.after!.freelistCount).toBe(0);
    expect(full.estimatedReclaimedPages).toBe(free - 256);
  });

  test("failures are collected as text, not thrown", () => {
    const db = withFreePages();
    db.run("BEGIN");
    const run = executeVacuum(db, { mode: "full", budgetMb: 1n, dryRun: false });
    db.run("ROLLBACK");
    expect(run.errors.some((e) => e.startsWith("VACUUM failed: "))).toBe(true);
  });

  test("budget pages and busy classification", () => {
    expect(budgetPages(128n, 4096)).toBe(32768);
    expect(budgetPages(18446744073709551615n, 4096)).toBe(Number.MAX_SAFE_INTEGER);
    expect(isBusyError("VACUUM failed: database is locked")).toBe(true);
    expect(isBusyError("x: SQLITE_BUSY")).toBe(true);
    expect(isBusyError("VACUUM failed: disk I/O error")).toBe(false);
  });
});

describe("background incremental vacuum", () => {
  const barrierNow = { barrier: <T>(fn: (now: number) => T) => Promise.resolve(fn(Date.now())) };

  test("does nothing below the freelist threshold", async () => {
    const path = join(dir(), "small.db");
    fixture(path, "INCREMENTAL", 10, 8192);
    const db = new Database(path);
    cleanup.push(() => db.close());
    db.run("DELETE FROM blobs");
    let barriers = 0;
    const writer = {
      barrier: <T>(fn: (now: number) => T) => {
        barriers++;
        return barrierNow.barrier(fn);
      },
    };
    expect(await maybeAutoVacuum({ db }, writer)).toBe(0);
    expect(barriers).toBe(0);
  });

  test("after an expiry sweep, a shard past the threshold gets a bounded incremental vacuum", async () => {
    const d = dir();
    let now = 1_000_000;
    const config = defaultConfig({ dataDir: join(d, "data"), numShards: 1 });
    const store = new Store({
      dataDir: config.dataDir,
      numShards: 1,
      sqlite: config.sqlite,
      compression: config.storageCompression,
      batchSize: 1000,
      batchTimeoutMs: 0,
      clock: () => now,
    });
    cleanup.push(() => void store.close());
    // 500 rows (one sweep batch) of 40 KiB that expire: ~5000 pages once swept.
    const value = new Uint8Array(40 * 1024).map((_, i) => (i * 7) % 253);
    await store.writeShard(0, (at) => {
      for (let i = 0; i < limits.sweepRowsPerBatch; i++)
        store.shards[0]!.blobs.upsertStmt.run(
          `e${i}`,
          value,
          at,
          at + 1000,
          ROW_STRING,
          slotOfKey(`e${i}`),
        );
    });
    now += 5000;
    const db = store.shards[0]!.db;
    const sweeper = new ExpirySweeper(store, () => {}, silentLogger());
    expect(await sweeper.sweepOnce()).toBe(limits.sweepRowsPerBatch);
    expect(sweeper.autoVacuumRuns).toBe(1);
    expect(sweeper.autoVacuumPages).toBe(limits.autoVacuumPagesPerRun);
    const free = pragma(db, "freelist_count");
    expect(free).toBeGreaterThanOrEqual(limits.autoVacuumFreelistPagesMin);
    // Later rounds continue while the freelist is past the threshold, then stop.
    for (let i = 0; i < 10; i++) await sweeper.sweepOnce();
    expect(sweeper.autoVacuumRuns).toBeGreaterThanOrEqual(2);
    expect(pragma(db, "freelist_count")).toBeLessThan(limits.autoVacuumFreelistPagesMin);
    expect(pragma(db, "freelist_count")).toBe(
      free - sweeper.autoVacuumPages + limits.autoVacuumPagesPerRun,
    );
    await store.close();
  });
});
