/**
 * Turns a shard file back into what the release before the cluster slot column wrote: no
 * `slot` column, no slot index, no meta table. Everything else (rows, rowids, hashes' fields,
 * user_version 3) is what that release kept, so a server opening the result meets exactly an
 * old data dir.
 */
import { Database } from "bun:sqlite";

export function toPreviousSchema(path: string): void {
  const db = new Database(path);
  try {
    db.transaction(() => {
      const indexes = db
        .query(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%(slot, key)%'`)
        .all() as { name: string }[];
      for (const { name } of indexes) db.run(`DROP INDEX "${name}"`);
      const tables = db
        .query(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'blobs' OR name GLOB 'db[1-9]*_blobs')`,
        )
        .all() as { name: string }[];
      for (const { name } of tables) db.run(`ALTER TABLE "${name}" DROP COLUMN slot`);
      db.run("DROP TABLE IF EXISTS meta");
    })();
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}
