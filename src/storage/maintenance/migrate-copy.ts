/**
 * Phase 1 of a shard migration (migrate.ts owns the phases and the on-disk protocol): copies
 * every live key row of every database's keys table (`blobs`, `db<N>_blobs`) of the old shard
 * files, with all its columns (type included) and its stored bytes unchanged, into the staged
 * files of the new layout, routed by the new ring, in batches. A large hash (type 2) takes its
 * live fields along: they get the new row's rowid as hash_id, keep their order, and the row's
 * `fields` count is set to what was copied (a large hash with no live field is dead: dropped).
 * The old files are only read (after folding their WAL in); they must be format 2 (a format 1
 * dir is upgraded by starting the server on it once).
 * It must not import protocol, commands or cluster code, and never prints.
 */

import type { Database, Statement } from "bun:sqlite";
import { existsSync } from "node:fs";
import { limits } from "../../limits.ts";
import { fsyncFile } from "../engine/durable-fs.ts";
import { slotOfKey } from "../engine/key-slot.ts";
import { keyBytes } from "../engine/keys.ts";
import { createRouter } from "../engine/routing.ts";
import { Shard } from "../engine/shard.ts";
import {
  dbOfKeysTable,
  FORMAT_VERSION,
  keyspaceTables,
  maintenanceSql,
  ROW_HASH_TABLE,
} from "../engine/sql.ts";
import { acrossTargets, copyPages } from "./copy-pages.ts";
import {
  bulkSqliteSettings,
  crashPoint,
  fieldsTableOf,
  keyTables,
  MaintenanceError,
  openShardFile,
} from "./data-dir.ts";

export interface CopyOptions {
  /** Key rows read per batch. */
  batchRows?: number;
  onProgress?: (done: number, total: number) => void;
}

/** What phase 1 copied: key rows, and field rows of large hashes. */
export interface CopyResult {
  keys: number;
  fields: number;
}

interface SourceRow {
  rowid: bigint;
  key: string | Uint8Array;
  value: Uint8Array;
  created_at: bigint;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
  type: bigint;
}

interface SourceField {
  field: string | Uint8Array;
  value: Uint8Array;
  expires_at: bigint | null;
}

interface TargetStatements {
  insert: Statement;
  insertField: Statement;
  setCount: Statement;
}

/** Phase 1: copies every live key (and large hash field) into the staged files. */
export function copyLayout(
  oldPaths: string[],
  newPaths: string[],
  now: number,
  options: CopyOptions,
): CopyResult {
  const batch = options.batchRows ?? limits.maintenanceBatchRows;
  const router = createRouter(newPaths.length);
  const sources: Database[] = [];
  const targets: Shard[] = [];
  const copied: CopyResult = { keys: 0, fields: 0 };
  try {
    for (const path of oldPaths) sources.push(openSource(path));
    newPaths.forEach((path, i) => {
      // Every copied row gets its slot, so the new files are complete for a cluster node.
      targets.push(new Shard(i, path, bulkSqliteSettings, newPaths.length, true));
    });
    const plan = sources.map((db, s) => tablesOf(db, oldPaths[s]!));
    const stmts = targets.map(() => new Map<string, TargetStatements>());
    // Every database found anywhere gets its tables in every staged file, as a server does.
    for (const table of new Set(plan.flat())) {
      const n = dbOfKeysTable(table)!;
      const t = keyspaceTables(n);
      targets.forEach((target, i) => {
        target.createKeyspace(n);
        stmts[i]!.set(table, {
          insert: target.db.prepare(maintenanceSql.insertRow(t.keys)),
          insertField: target.db.prepare(maintenanceSql.insertField(t.fields)),
          setCount: target.db.prepare(maintenanceSql.setFieldCount(t.keys)),
        });
      });
    }
    let total = 0;
    sources.forEach((db, s) => {
      for (const table of plan[s]!) {
        for (const t of [table, fieldsTableOf(table)])
          total += Number((db.query(maintenanceSql.countLive(t)).get(now) as { n: bigint }).n);
      }
    });
    let done = 0;
    options.onProgress?.(0, total);
    sources.forEach((db, s) => {
      for (const table of plan[s]!) {
        const page = db.query(maintenanceSql.pageLive(table));
        const fieldsOf = db.query(maintenanceSql.fieldsOf(fieldsTableOf(table)));
        copyPages<SourceRow>(
          page,
          now,
          batch,
          acrossTargets(targets),
          (rows) => {
            for (const row of rows) {
              const shard = router.shardOf(keyBytes(row.key));
              // Fields are streamed, so a hash of millions of fields never sits in memory.
              const fields =
                row.type === BigInt(ROW_HASH_TABLE)
                  ? (fieldsOf.iterate(row.rowid, now) as IterableIterator<SourceField>)
                  : null;
              const first = fields?.next();
              // A large hash whose fields have all expired no longer exists.
              if (first?.done) continue;
              const target = stmts[shard]!.get(table)!;
              const inserted = target.insert.get(
                row.key,
                row.value,
                row.created_at,
                row.updated_at,
                row.expires_at,
                row.version,
                row.type,
                slotOfKey(row.key),
              ) as { id: bigint } | null;
              if (inserted === null) {
                fields?.return?.();
                throw new MaintenanceError(
                  `table ${table}: key ${JSON.stringify(String(row.key))} of ${oldPaths[s]} is also present in another old shard; resolve the duplicate first`,
                );
              }
              copied.keys++;
              if (fields === null || first === undefined) continue;
              let count = 0;
              for (let f: IteratorResult<SourceField> = first; !f.done; f = fields.next()) {
                target.insertField.run(
                  inserted.id,
                  f.value.field,
                  f.value.value,
                  f.value.expires_at,
                );
                count++;
              }
              target.setCount.run(inserted.id, count);
              copied.fields += count;
            }
          },
          () => {
            done = copied.keys + copied.fields;
            options.onProgress?.(done, total);
            crashPoint("copy", done);
          },
        );
        fieldsOf.finalize();
      }
    });
    return copied;
  } finally {
    for (const db of sources) db.close();
    for (const t of targets) {
      t.rollbackTransaction();
      t.close();
    }
    for (const path of newPaths) if (existsSync(path)) fsyncFile(path);
  }
}

/** Opens an old shard: format 2 only, with its WAL folded in so the file is complete. */
function openSource(path: string): Database {
  const db = openShardFile(path);
  db.run(maintenanceSql.checkpointTruncate);
  return db;
}

/**
 * The keys tables of one old shard. Anything this server does not write in format 2 stops the
 * migration: a file of the Rust original, a format 1 file (namespace tables), unknown tables.
 */
function tablesOf(db: Database, path: string): string[] {
  const all = (db.query(maintenanceSql.listAllTables).all() as { name: string }[]).map(
    (r) => r.name,
  );
  const columns = (table: string) =>
    (db.query(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
  if (all.includes("blobs") && !columns("blobs").includes("value")) {
    throw new MaintenanceError(
      `${path}: table blobs has no \`value\` column; it looks like a data dir of the Rust original, which \`blobasaur import\` converts`,
    );
  }
  const version = Number(
    (db.query(maintenanceSql.userVersion).get() as { user_version: bigint }).user_version,
  );
  if (version > FORMAT_VERSION) {
    throw new MaintenanceError(
      `${path} has data format ${version}, newer than this tool understands`,
    );
  }
  const keys = keyTables(db);
  if (version < FORMAT_VERSION || keys.some((t) => !columns(t).includes("type"))) {
    throw new MaintenanceError(
      `${path} is in data format ${version}; start the server on this data dir once (it upgrades the files to format ${FORMAT_VERSION} in place), stop it, then migrate`,
    );
  }
  const known = new Set(keys.flatMap((t) => [t, fieldsTableOf(t)]));
  for (const table of all) {
    if (known.has(table)) continue;
    throw new MaintenanceError(
      `${path} holds table ${table}, which this server never writes in format ${FORMAT_VERSION}; not migrating`,
    );
  }
  return keys;
}
