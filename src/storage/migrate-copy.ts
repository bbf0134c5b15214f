/**
 * Phase 1 of a shard migration (migrate.ts owns the phases and the on-disk protocol): copies
 * every live row of `blobs` and of every namespace table of the old shard files, with all its
 * columns and its stored bytes unchanged, into the staged files of the new layout, routed by
 * the new ring, in batches. The old files are only read (after folding their WAL in).
 * It must not import protocol, commands or cluster code, and never prints.
 */
import type { Database, Statement } from "bun:sqlite";
import { existsSync } from "node:fs";
import { keyBytes } from "./keys.ts";
import {
  bulkSqliteSettings,
  crashPoint,
  fsyncFile,
  MaintenanceError,
  openShardFile,
  rowTables,
} from "./maintenance.ts";
import { namespaceOfTable, tableNameOf } from "./namespaces.ts";
import { createRouter } from "./routing.ts";
import { Shard } from "./shard.ts";
import { createTableSql, FORMAT_VERSION, maintenanceSql } from "./sql.ts";

export interface CopyOptions {
  /** Rows read per batch. */
  batchRows?: number;
  onProgress?: (done: number, total: number) => void;
}

interface SourceRow {
  rowid: bigint;
  key: string | Uint8Array;
  value: Uint8Array;
  created_at: bigint;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
}

/** Phase 1: copies every live row into the staged files; returns the rows copied. */
export function copyLayout(
  oldPaths: string[],
  newPaths: string[],
  now: number,
  options: CopyOptions,
): number {
  const batch = options.batchRows ?? 5000;
  const router = createRouter(newPaths.length);
  const sources: Database[] = [];
  const targets: Shard[] = [];
  try {
    for (const path of oldPaths) sources.push(openSource(path));
    newPaths.forEach((path, i) => {
      targets.push(new Shard(i, path, bulkSqliteSettings, newPaths.length));
    });
    const inserts = targets.map(() => new Map<string, Statement>());
    const insertFor = (shard: number, table: string): Statement => {
      let stmt = inserts[shard]!.get(table);
      if (stmt === undefined) {
        targets[shard]!.db.run(createTableSql(table));
        stmt = targets[shard]!.db.prepare(maintenanceSql.insertRow(table));
        inserts[shard]!.set(table, stmt);
      }
      return stmt;
    };
    const plan = sources.map((db, s) => tablesOf(db, oldPaths[s]!));
    let total = 0;
    sources.forEach((db, s) => {
      for (const table of plan[s]!) {
        total += Number((db.query(maintenanceSql.countLive(table)).get(now) as { n: bigint }).n);
      }
    });
    let done = 0;
    options.onProgress?.(0, total);
    sources.forEach((db, s) => {
      for (const table of plan[s]!) {
        const page = db.query(maintenanceSql.pageLive(table));
        let after: bigint = 0n;
        for (;;) {
          const rows = page.all(after, now, batch) as SourceRow[];
          if (rows.length === 0) break;
          for (const t of targets) t.beginImmediate();
          for (const row of rows) {
            const shard = router.shardOf(keyBytes(row.key));
            const result = insertFor(shard, table).run(
              row.key,
              row.value,
              row.created_at,
              row.updated_at,
              row.expires_at,
              row.version,
            );
            if (result.changes === 0) {
              throw new MaintenanceError(
                `table ${table}: key ${JSON.stringify(String(row.key))} of ${oldPaths[s]} is also present in another old shard; resolve the duplicate first`,
              );
            }
          }
          for (const t of targets) t.commitTransaction();
          done += rows.length;
          options.onProgress?.(done, total);
          crashPoint("copy", done);
          after = rows[rows.length - 1]!.rowid;
        }
      }
    });
    return done;
  } finally {
    for (const db of sources) db.close();
    for (const t of targets) {
      t.rollbackTransaction();
      t.close();
    }
    for (const path of newPaths) if (existsSync(path)) fsyncFile(path);
  }
}

/** Opens an old shard: our format only, with its WAL folded in so the file is complete. */
function openSource(path: string): Database {
  const db = openShardFile(path);
  const version = Number(
    (db.query(maintenanceSql.userVersion).get() as { user_version: bigint }).user_version,
  );
  if (version > FORMAT_VERSION) {
    db.close();
    throw new MaintenanceError(
      `${path} has data format ${version}, newer than this tool understands`,
    );
  }
  db.run(maintenanceSql.checkpointTruncate);
  return db;
}

/** The row tables of one old shard; anything not written by this server stops the migration. */
function tablesOf(db: Database, path: string): string[] {
  const tables = rowTables(db);
  for (const table of tables) {
    const ns = table === "blobs" ? null : namespaceOfTable(table);
    if (table !== "blobs" && (ns === null || tableNameOf(ns) !== table)) {
      throw new MaintenanceError(
        `${path} holds table ${table}, which this server never writes; not migrating`,
      );
    }
    const columns = db.query(`PRAGMA table_info("${table}")`).all() as { name: string }[];
    if (!columns.some((c) => c.name === "value")) {
      throw new MaintenanceError(
        `${path}: table ${table} has no \`value\` column; it looks like a data dir of the Rust original, which \`blobasaur import\` converts`,
      );
    }
  }
  return tables;
}
