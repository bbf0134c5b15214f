/**
 * Schema steps of the format upgrades, run on each shard file as it opens (engine/shard.ts).
 * They only add columns, tables, triggers and indexes, so each is O(1) in the rows it finds;
 * the data-moving part of format 1 → 2 is maintenance/upgrade.ts, run by the store once
 * every file is open.
 */
import type { Database } from "bun:sqlite";
import {
  createFieldFilesSql,
  createFieldsSql,
  createLargeSql,
  createSlotIndexSql,
  dbOfKeysTable,
  FORMAT_VERSION,
  keyspaceTables,
  maintenanceSql,
  metaSql,
} from "./sql.ts";

/** Step 1 on one file (idempotent); leaves user_version at 1. */
export function upgradeSchemaV1(db: Database): void {
  db.transaction(() => {
    const columns = (db.query(`PRAGMA table_info("blobs")`).all() as { name: string }[]).map(
      (c) => c.name,
    );
    if (columns.length === 0) throw new Error("format 1 file without a blobs table");
    if (!columns.includes("type"))
      db.run(`ALTER TABLE "blobs" ADD COLUMN type INTEGER NOT NULL DEFAULT 0`);
    if (!columns.includes("fields"))
      db.run(`ALTER TABLE "blobs" ADD COLUMN fields INTEGER NOT NULL DEFAULT 0`);
    db.run(createFieldsSql(keyspaceTables(0)));
  })();
}

/**
 * Format 2 → 3 (large values in files) on one file, in one transaction: creates the garbage
 * table, and for every keys table its triggers and its partial index over file rows. O(1) in
 * the number of rows (an index over rows of a type no format-2 file holds is empty); nothing is
 * rewritten. Also the last step of a format-1 file's upgrade (after upgradeNamespaces).
 */
export function upgradeSchemaV2(db: Database, setVersion = true): void {
  db.transaction(() => {
    for (const { name } of db.query(maintenanceSql.listKeyTables).all() as { name: string }[]) {
      const n = dbOfKeysTable(name);
      if (n !== null) db.run(createLargeSql(keyspaceTables(n)));
    }
    if (setVersion) db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
  })();
}

/**
 * The cluster slot column on one file, in one transaction, on every open (idempotent): adds
 * `slot` to each keys table that lacks it (ALTER TABLE ADD COLUMN is O(1): old rows read NULL),
 * its partial index (empty for those rows, so O(1) too) and the meta table.
 *
 * The `slots_complete` marker says every key row has its slot. Only a store that keeps slots
 * (`keepSlots`: a cluster node, or an offline tool writing a new file) writes them, so:
 * a new file opened that way starts complete; a file opened without it loses the marker
 * before its first write, since new rows will have no slot; any other file becomes complete
 * when the back-fill (jobs/slot-backfill.ts) has filled its rows. Runs before the keyspace
 * SQL, whose index names the column.
 */
export function upgradeSchemaSlots(db: Database, fresh: boolean, keepSlots: boolean): void {
  db.transaction(() => {
    const tables = db.query(maintenanceSql.listKeyTables).all() as { name: string }[];
    for (const { name } of tables) {
      const n = dbOfKeysTable(name);
      if (n === null) continue;
      const columns = db.query(`PRAGMA table_info("${name}")`).all() as { name: string }[];
      if (!columns.some((c) => c.name === "slot"))
        db.run(`ALTER TABLE "${name}" ADD COLUMN slot INTEGER`);
      db.run(createSlotIndexSql(keyspaceTables(n)));
    }
    db.run(metaSql.create);
    if (!keepSlots) db.query(metaSql.clear).run(metaSql.slotsComplete);
    // user_version 0 with tables is a file of the Rust original, not a new one.
    else if (fresh && tables.length === 0) db.query(metaSql.set).run(metaSql.slotsComplete, 1);
  })();
}

/**
 * Format 3 → 4 (hash field values in files), and on every open of any file (idempotent): the
 * partial index and the garbage triggers of every fields table (sql.ts createFieldFilesSql),
 * in one transaction with the version change, so a crash leaves the file at 3 or complete at
 * 4. Runs after the version-specific upgrades, once every fields table exists. No row is
 * rewritten; building the index reads each field's length and first byte.
 */
export function upgradeSchemaFieldFiles(db: Database, version: number): void {
  db.transaction(() => {
    for (const { name } of db.query(maintenanceSql.listKeyTables).all() as { name: string }[]) {
      const n = dbOfKeysTable(name);
      if (n !== null) db.run(createFieldFilesSql(keyspaceTables(n)));
    }
    if (version === 3) db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
  })();
}
