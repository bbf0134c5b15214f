/**
 * Standalone bun:sqlite experiment: insert throughput of large values (default 1 MiB) for
 * page_size 4096 / 16384 / 65536, each with SQLite's default inline auto-checkpoint (1000
 * pages, checkpoints run inside some COMMITs) and with `PRAGMA wal_autocheckpoint=0` (no
 * checkpoint while inserting). Both end with one `wal_checkpoint(TRUNCATE)`, timed on its own
 * and included in the "total" rate, so every run ends with the data in the database file. WAL mode, a fresh database
 * file per run in a temporary directory on the same disk as /tmp, random (incompressible)
 * values, one row per transaction unless --batch. Cases are interleaved over --reps.
 *
 *   bun bench/sqlite-large.ts [--rows 200] [--secs 10] [--size 1MiB] [--reps 3]
 *     [--sync NORMAL|FULL] [--batch 1] [--pages 4096,16384,65536] [--dir /tmp]
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, parseSize, table } from "./lib/stats.ts";

const { values: f } = parseArgs({
  options: {
    rows: { type: "string", default: "200" },
    secs: { type: "string", default: "10" },
    size: { type: "string", default: "1MiB" },
    reps: { type: "string", default: "3" },
    sync: { type: "string", default: "NORMAL" },
    batch: { type: "string", default: "1" },
    pages: { type: "string", default: "4096,16384,65536" },
    dir: { type: "string", default: tmpdir() },
  },
});
const rowsMax = parseSize(f.rows!);
const secsMax = Number(f.secs);
const size = parseSize(f.size!);
const reps = Number(f.reps);
const batch = Math.max(1, Number(f.batch));
const sync = f.sync!.toUpperCase();
if (!["OFF", "NORMAL", "FULL"].includes(sync)) throw new Error("--sync OFF|NORMAL|FULL");

// Random bytes; each row takes a different window so no two values are equal.
const pool = new Uint8Array(size + 64 * 1024);
crypto.getRandomValues(pool.subarray(0, 65536));
for (let i = 65536; i < pool.length; i += 65536) {
  crypto.getRandomValues(pool.subarray(i, Math.min(pool.length, i + 65536)));
}

interface Outcome {
  rows: number;
  insertSec: number;
  checkpointSec: number;
}

function once(dir: string, pageSize: number, autoCheckpoint: boolean): Outcome {
  const path = join(dir, `large-${pageSize}-${autoCheckpoint}.db`);
  const db = new Database(path, { create: true });
  try {
    db.run(`PRAGMA page_size=${pageSize}`);
    db.run("PRAGMA journal_mode=WAL");
    db.run(`PRAGMA synchronous=${sync}`);
    if (!autoCheckpoint) db.run("PRAGMA wal_autocheckpoint=0");
    db.run(
      "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER, updated_at INTEGER, expires_at INTEGER, version INTEGER)",
    );
    const actual = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    if (actual !== pageSize) throw new Error(`page_size is ${actual}, wanted ${pageSize}`);
    const insert = db.prepare(
      "INSERT INTO kv(key, value, created_at, updated_at, expires_at, version) VALUES (?, ?, ?, ?, NULL, 1)",
    );
    const begin = db.prepare("BEGIN");
    const commit = db.prepare("COMMIT");
    const t0 = performance.now();
    const stopAt = t0 + secsMax * 1000;
    let rows = 0;
    while (rows < rowsMax && performance.now() < stopAt) {
      begin.run();
      for (let i = 0; i < batch && rows < rowsMax; i++, rows++) {
        const off = (rows * 4099) % 65536;
        const now = Date.now();
        insert.run(
          `key:${String(rows).padStart(12, "0")}`,
          pool.subarray(off, off + size),
          now,
          now,
        );
      }
      commit.run();
    }
    const t1 = performance.now();
    // Both variants end with the data in the database file, so "total" compares like with like.
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const t2 = performance.now();
    return { rows, insertSec: (t1 - t0) / 1000, checkpointSec: (t2 - t1) / 1000 };
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  }
}

const pages = f.pages!.split(",").map(Number);
const cases = pages.flatMap((p) => [
  { pageSize: p, auto: true },
  { pageSize: p, auto: false },
]);
const dir = mkdtempSync(join(f.dir!, "blobasaur-sqlite-large-"));
const results = new Map<string, Outcome[]>();
const label = (c: { pageSize: number; auto: boolean }) =>
  `${c.pageSize} ${c.auto ? "auto-checkpoint (1000 pages)" : "autocheckpoint=0 + separate checkpoint"}`;
try {
  for (let r = 0; r < reps; r++) {
    for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
      const o = once(dir, c.pageSize, c.auto);
      const list = results.get(label(c)) ?? [];
      list.push(o);
      results.set(label(c), list);
      const mb = (o.rows * size) / 1e6;
      console.error(
        `rep ${r + 1} ${label(c)}: ${o.rows} rows, insert ${(mb / o.insertSec).toFixed(0)} MB/s, checkpoint ${o.checkpointSec.toFixed(2)} s`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rowsOut: string[][] = [];
for (const c of cases) {
  const list = results.get(label(c))!;
  const insertRps = list.map((o) => o.rows / o.insertSec);
  const totalRps = list.map((o) => o.rows / (o.insertSec + o.checkpointSec));
  const fmt = (xs: number[]) =>
    `**${median(xs).toFixed(0)}** [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
  rowsOut.push([
    String(c.pageSize),
    c.auto ? "default (1000 pages)" : "0 (none while inserting)",
    fmt(insertRps),
    ((median(insertRps) * size) / 1e6).toFixed(0),
    `${median(list.map((o) => o.checkpointSec)).toFixed(2)} s`,
    fmt(totalRps),
    ((median(totalRps) * size) / 1e6).toFixed(0),
  ]);
}
console.log(
  `\n${(size / 1048576).toFixed(2)} MiB values, synchronous=${sync}, ${batch} row(s)/txn, up to ${rowsMax} rows or ${secsMax} s per run, ${reps} reps, median [min–max]\n`,
);
console.log(
  table(
    [
      "page_size",
      "wal_autocheckpoint",
      "insert rows/s",
      "insert MB/s",
      "final TRUNCATE checkpoint",
      "total rows/s",
      "total MB/s",
    ],
    rowsOut,
  ),
);
