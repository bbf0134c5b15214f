/**
 * Every SQL statement the server runs, by name, in one place. Table names come from
 * keyspaceTables() (a database index, never client bytes). Times are milliseconds since the
 * epoch. A row is live when expires_at IS NULL or > now.
 *
 * Format 2 (this file): one keyspace per Redis database and shard file.
 *   <keys>   (`blobs` for database 0, `db<N>_blobs` for database N): one row per Redis key,
 *            whatever its type. `type` says how `value` reads:
 *              0 string       value = the codec-encoded bytes
 *              1 small hash   value = the codec-encoded inline hash (inline-hash.ts), fields in
 *                             insertion order, as Redis's listpack
 *              2 large hash   value = empty; the fields are rows of <fields> whose hash_id is
 *                             this row's rowid, and `fields` counts them (HLEN in O(1))
 *   <fields> (`fields` / `db<N>_fields`): the fields of large hashes. Its rowid order is the
 *            insertion order (an upsert keeps a row's rowid), indexed per hash.
 * Triggers drop a large hash's fields whenever its key row is deleted or stops being a large
 * hash, so DEL, SET over a hash, FLUSHDB and the expiry sweep never leave fields behind.
 * Format 1 had `blobs` without `type` and `fields`, and a `blobs_<namespace>` table per hash;
 * upgrade.ts turns it into format 2 in place (strings are never rewritten).
 *
 * Format 3 adds row type 3, a string kept in a file under `<data_dir>/large/` (large values,
 * storage/large/): `value` is the file's reference record (large/format.ts), never the bytes.
 * Triggers put the reference of every deleted or overwritten type-3 row into the file's
 * `large_garbage` table in the same transaction; storage/large/files.ts unlinks those files
 * after COMMIT. A partial index over type-3 rows keeps the startup orphan scan cheap. The
 * upgrade from format 2 only creates these (O(1), no row is rewritten).
 *
 * Format 4: a large hash's field value over the large-value threshold lives in a file too;
 * its `value` in the fields table is the file's reference record (31 bytes whose first byte,
 * 0x4C, is no codec header, so it cannot be mistaken for an encoded value). Triggers on the
 * fields table feed `large_garbage` as those on the keys table do, and a partial index over
 * reference rows lets the orphan scan and backups find them without reading every field.
 * The upgrade from format 3 creates these; building the index reads each field's length and
 * first byte once. The version moves so that an older release, whose orphan scan knows
 * only key rows, refuses the files instead of deleting the files of their fields.
 */
import { REF_BYTES, REF_TAG } from "../large/format.ts";

export const FORMAT_VERSION = 4;

/** Row types stored in the `type` column. */
export const ROW_STRING = 0;
export const ROW_HASH_INLINE = 1;
export const ROW_HASH_TABLE = 2;
/** A string whose bytes live in a file; `value` is its reference record (format 3). */
export const ROW_STRING_FILE = 3;
export type RowType =
  | typeof ROW_STRING
  | typeof ROW_HASH_INLINE
  | typeof ROW_HASH_TABLE
  | typeof ROW_STRING_FILE;
/** The row types this server reads; any other is refused with a StorageError. */
export const KNOWN_ROW_TYPES: ReadonlySet<number> = new Set([0, 1, 2, 3]);

export interface KeyspaceTables {
  readonly db: number;
  readonly keys: string;
  readonly fields: string;
}

/** The table names of one database: `blobs` and `fields` for database 0, as format 1 had. */
export function keyspaceTables(db: number): KeyspaceTables {
  if (db === 0) return { db, keys: "blobs", fields: "fields" };
  return { db, keys: `db${db}_blobs`, fields: `db${db}_fields` };
}

/** The database a keys table belongs to, or null when the name is not one of ours. */
export function dbOfKeysTable(name: string): number | null {
  if (name === "blobs") return 0;
  const m = /^db([1-9][0-9]{0,5})_blobs$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Creates (idempotently) every table, index and trigger of one database's keyspace. */
export function createKeyspaceSql(t: KeyspaceTables): string {
  const k = `"${t.keys}"`;
  return `CREATE TABLE IF NOT EXISTS ${k} (
  key        TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  version    INTEGER NOT NULL DEFAULT 0,
  type       INTEGER NOT NULL DEFAULT 0,
  fields     INTEGER NOT NULL DEFAULT 0,
  slot       INTEGER
);
CREATE INDEX IF NOT EXISTS "${t.keys}_expires_at" ON ${k}(expires_at) WHERE expires_at IS NOT NULL;
${createSlotIndexSql(t)}
${createFieldsSql(t)}
${createLargeSql(t)}
${createFieldFilesSql(t)}`;
}

/**
 * The cluster slot index of one keys table (slot-index.ts): rows written before the `slot`
 * column existed hold NULL until the back-fill reaches them, so the index is partial.
 */
export function createSlotIndexSql(t: KeyspaceTables): string {
  return `CREATE INDEX IF NOT EXISTS "${t.keys}_slot" ON "${t.keys}"(slot, key) WHERE slot IS NOT NULL;`;
}

/**
 * The file's meta table (one row per name). `slots_complete` = 1 says every key row of every
 * keys table has its slot, so the slot index answers alone; until then callers scan.
 */
export const metaSql = {
  create: `CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
  get: `SELECT value FROM meta WHERE name = ?1`,
  set: `INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value`,
  clear: `DELETE FROM meta WHERE name = ?1`,
  slotsComplete: "slots_complete",
} as const;

/** The slot back-fill of rows older than the `slot` column (jobs/slot-backfill.ts). */
export const slotFillSql = {
  /** Up to ?2 rows after rowid ?1 whose slot is not set yet. */
  page: (table: string) =>
    `SELECT rowid AS id, key FROM "${table}" WHERE rowid > ?1 AND slot IS NULL ORDER BY rowid LIMIT ?2`,
  set: (table: string) => `UPDATE "${table}" SET slot = ?2 WHERE rowid = ?1`,
  anyMissing: (table: string) => `SELECT 1 AS x FROM "${table}" WHERE slot IS NULL LIMIT 1`,
} as const;

/**
 * Format 3: the garbage table of one file (shared by its databases), and per keys table the
 * triggers that fill it and the partial index over file rows. Idempotent.
 */
export function createLargeSql(t: KeyspaceTables): string {
  const k = `"${t.keys}"`;
  return `CREATE TABLE IF NOT EXISTS large_garbage (ref BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS "${t.keys}_large" ON ${k}(value) WHERE type = ${ROW_STRING_FILE};
CREATE TRIGGER IF NOT EXISTS "${t.keys}_large_delete" AFTER DELETE ON ${k}
  WHEN old.type = ${ROW_STRING_FILE}
  BEGIN INSERT INTO large_garbage (ref) VALUES (old.value); END;
CREATE TRIGGER IF NOT EXISTS "${t.keys}_large_replace" AFTER UPDATE OF value, type ON ${k}
  WHEN old.type = ${ROW_STRING_FILE} AND (new.type <> ${ROW_STRING_FILE} OR new.value <> old.value)
  BEGIN INSERT INTO large_garbage (ref) VALUES (old.value); END;`;
}

/** A fields row whose value is a file reference (format 4); `v` is the value column. */
function fieldRefTest(v: string): string {
  return `length(${v}) = ${REF_BYTES} AND substr(${v}, 1, 1) = x'${REF_TAG.toString(16)}'`;
}

/**
 * Format 4, per fields table: the partial index over field values kept in files, and the
 * triggers that put their references into `large_garbage` when a field is deleted (HDEL, the
 * field sweep, a whole hash going) or overwritten. Idempotent.
 */
export function createFieldFilesSql(t: KeyspaceTables): string {
  const f = `"${t.fields}"`;
  return `CREATE INDEX IF NOT EXISTS "${t.fields}_large" ON ${f}(hash_id) WHERE ${fieldRefTest("value")};
CREATE TRIGGER IF NOT EXISTS "${t.fields}_large_delete" AFTER DELETE ON ${f}
  WHEN ${fieldRefTest("old.value")}
  BEGIN INSERT INTO large_garbage (ref) VALUES (old.value); END;
CREATE TRIGGER IF NOT EXISTS "${t.fields}_large_replace" AFTER UPDATE OF value ON ${f}
  WHEN ${fieldRefTest("old.value")} AND new.value <> old.value
  BEGIN INSERT INTO large_garbage (ref) VALUES (old.value); END;`;
}

/** Statements of the large-value garbage collector and orphan scan (storage/large/files.ts). */
export const largeSql = {
  keyTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'blobs' OR name GLOB 'db[1-9]*_blobs') ORDER BY name`,
  /** Every file reference of one database: its file rows, then its fields kept in files. */
  refsOf: (keysTable: string) => {
    const fields = keyspaceTables(dbOfKeysTable(keysTable) ?? 0).fields;
    return `SELECT value FROM "${keysTable}" WHERE type = ${ROW_STRING_FILE}
UNION ALL SELECT value FROM "${fields}" WHERE ${fieldRefTest("value")}`;
  },
  garbagePage: "SELECT rowid AS id, ref FROM large_garbage ORDER BY rowid LIMIT ?1",
  garbageDelete: "DELETE FROM large_garbage WHERE rowid <= ?1",
} as const;

/** The fields table, its indexes and the triggers tying it to the keys table. */
export function createFieldsSql(t: KeyspaceTables): string {
  const k = `"${t.keys}"`;
  const f = `"${t.fields}"`;
  return `CREATE TABLE IF NOT EXISTS ${f} (
  hash_id    INTEGER NOT NULL,
  field      TEXT NOT NULL,
  value      BLOB NOT NULL,
  expires_at INTEGER,
  UNIQUE (hash_id, field)
);
CREATE INDEX IF NOT EXISTS "${t.fields}_order" ON ${f}(hash_id);
CREATE INDEX IF NOT EXISTS "${t.fields}_expires_at" ON ${f}(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${t.fields}_hash_expires_at" ON ${f}(hash_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS "${t.keys}_drop_fields" AFTER DELETE ON ${k}
  WHEN old.type = ${ROW_HASH_TABLE}
  BEGIN DELETE FROM ${f} WHERE hash_id = old.rowid; END;
CREATE TRIGGER IF NOT EXISTS "${t.keys}_retype_fields" AFTER UPDATE OF type ON ${k}
  WHEN old.type = ${ROW_HASH_TABLE} AND new.type <> ${ROW_HASH_TABLE}
  BEGIN DELETE FROM ${f} WHERE hash_id = old.rowid; END;`;
}

/** Statements on one database's keys table, prepared once per shard (shard.ts). */
export function keySql(t: KeyspaceTables) {
  const k = `"${t.keys}"`;
  /**
   * Insert or replace the row. Overwriting a row whose expiry has passed starts a fresh key:
   * created_at and version are reset, as if the old row had been swept first. A row that
   * stops being a large hash loses its fields through the retype trigger.
   */
  const upsert = `INSERT INTO ${k} (key, value, created_at, updated_at, expires_at, version, type, fields, slot)
VALUES (?1, ?2, ?3, ?3, ?4, 0, ?5, 0, ?6)
ON CONFLICT(key) DO UPDATE SET
  value = excluded.value,
  updated_at = excluded.updated_at,
  expires_at = excluded.expires_at,
  type = excluded.type,
  fields = CASE WHEN excluded.type = ${ROW_HASH_TABLE} AND ${k}.type = ${ROW_HASH_TABLE}
                THEN ${k}.fields ELSE 0 END,
  created_at = CASE WHEN ${k}.expires_at IS NOT NULL AND ${k}.expires_at <= excluded.updated_at
                    THEN excluded.created_at ELSE ${k}.created_at END,
  version = CASE WHEN ${k}.expires_at IS NOT NULL AND ${k}.expires_at <= excluded.updated_at
                 THEN 0 ELSE ${k}.version + 1 END`;
  return {
    /** The row whatever its expiry; KeyTable filters by expiry. */
    get: `SELECT value, expires_at, type, fields, rowid AS id FROM ${k} WHERE key = ?1`,
    /** A large hash's key row: its rowid (the fields' hash_id) and field count. */
    hashRow: `SELECT rowid AS id, fields FROM ${k} WHERE key = ?1`,
    upsert,
    /** Deletes and reports the old expiry so the caller can tell a live row from a dead one. */
    delete: `DELETE FROM ${k} WHERE key = ?1 RETURNING expires_at, type`,
    /** Lazy expiry: the row of `key` only if it still has the expiry ?2 a read found passed. */
    deleteExpired: `DELETE FROM ${k} WHERE key = ?1 AND expires_at = ?2 RETURNING type`,
    setExpiry: `UPDATE ${k} SET expires_at = ?2 WHERE key = ?1`,
    exactExpiry: `SELECT expires_at FROM ${k} WHERE key = ?1`,
    /** Renames a row in place (same shard): its rowid, and so a large hash's fields, stay. */
    rename: `UPDATE ${k} SET key = ?2, slot = ?3 WHERE key = ?1`,
    addFields: `UPDATE ${k} SET fields = fields + ?2 WHERE rowid = ?1`,
    /** Deletes a large hash that has no field left (the sweep and HDEL call it). */
    dropIfEmpty: `DELETE FROM ${k} WHERE rowid = ?1 AND type = ${ROW_HASH_TABLE} AND fields <= 0 RETURNING key`,
    keyOfId: `SELECT key FROM ${k} WHERE rowid = ?1`,
    /** Up to ?2 rows after rowid ?1, in rowid order: rowids survive upserts, so a cursor is stable. */
    scan: `SELECT rowid, key, expires_at, type FROM ${k} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`,
    countLive: `SELECT count(*) AS n FROM ${k} WHERE expires_at IS NULL OR expires_at > ?1`,
    countExpiring: `SELECT count(*) AS n FROM ${k} WHERE expires_at IS NOT NULL AND expires_at > ?1`,
    /** One bounded batch of the expiry sweep (a large hash's fields go with it: trigger). */
    sweep: `DELETE FROM ${k} WHERE rowid IN
  (SELECT rowid FROM ${k} WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)`,
    /** The same batch, naming the keys removed (only when someone listens for `expired`). */
    sweepKeys: `DELETE FROM ${k} WHERE rowid IN
  (SELECT rowid FROM ${k} WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2) RETURNING key, expires_at`,
    clear: `DELETE FROM ${k}`,
    /** A random live row: pick a random rowid and take the next one at or after it. */
    randomAfter: `SELECT key FROM ${k} WHERE rowid >= ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT 1`,
    maxRowid: `SELECT max(rowid) AS m FROM ${k}`,
    /** Up to ?3 live keys of slot ?1, through the partial slot index (key order). */
    slotKeys: `SELECT key FROM ${k} WHERE slot = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key LIMIT ?3`,
    slotCount: `SELECT count(*) AS n FROM ${k} WHERE slot = ?1 AND (expires_at IS NULL OR expires_at > ?2)`,
  } as const;
}

/** Statements on one database's fields table (large hashes only). */
export function fieldSql(t: KeyspaceTables) {
  const f = `"${t.fields}"`;
  return {
    get: `SELECT value, expires_at FROM ${f} WHERE hash_id = ?1 AND field = ?2`,
    /** Writes a field; an existing one keeps its rowid, and so its place in the order. */
    upsert: `INSERT INTO ${f} (hash_id, field, value, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT(hash_id, field) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    delete: `DELETE FROM ${f} WHERE hash_id = ?1 AND field = ?2 RETURNING expires_at`,
    setExpiry: `UPDATE ${f} SET expires_at = ?3 WHERE hash_id = ?1 AND field = ?2`,
    /** Up to ?3 fields after rowid ?2 in insertion order, expired ones included. */
    page: `SELECT rowid, field, value, expires_at FROM ${f} WHERE hash_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3`,
    /** Fields of one hash whose expiry has passed but that the sweep has not removed yet. */
    countExpired: `SELECT count(*) AS n FROM ${f} WHERE hash_id = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2`,
    /** One bounded batch of the field expiry sweep; the caller fixes the counts. */
    sweep: `DELETE FROM ${f} WHERE rowid IN
  (SELECT rowid FROM ${f} WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2) RETURNING hash_id`,
    clear: `DELETE FROM ${f}`,
  } as const;
}

/**
 * Whole-row statements for the offline maintenance tools (shard migrate, import, backup):
 * they copy every column, so created_at, updated_at and version survive a move. `?now` filters
 * out expired rows, which are dropped rather than copied.
 */
export const maintenanceSql = {
  /** Every keys table of one file (format 2). */
  listKeyTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'blobs' OR name GLOB 'db[1-9]*_blobs') ORDER BY name`,
  /** `blobs` and every `blobs_*` table of one file (format 1, or the Rust original's). */
  listLegacyTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'blobs' OR name LIKE 'blobs\\_%' ESCAPE '\\') ORDER BY name`,
  countLive: (table: string) =>
    `SELECT count(*) AS n FROM "${table}" WHERE expires_at IS NULL OR expires_at > ?1`,
  /** Up to ?3 live rows after rowid ?1 of a keys table (format 2). */
  pageLive: (table: string) =>
    `SELECT rowid, key, value, created_at, updated_at, expires_at, version, type FROM "${table}"
WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  /** Up to ?3 live rows after rowid ?1 of a format 1 table (no type column). */
  pageLiveV1: (table: string) =>
    `SELECT rowid, key, value, created_at, updated_at, expires_at, version FROM "${table}"
WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  /** Every live field of a large hash, in insertion order. */
  fieldsOf: (table: string) =>
    `SELECT field, value, expires_at FROM "${table}" WHERE hash_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid`,
  /** Inserts a whole key row; a key already present is left alone (changes = 0 tells the caller). */
  insertRow: (table: string) =>
    `INSERT OR IGNORE INTO "${table}" (key, value, created_at, updated_at, expires_at, version, type, fields, slot)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8) RETURNING rowid AS id`,
  insertField: (table: string) =>
    `INSERT INTO "${table}" (hash_id, field, value, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT(hash_id, field) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  setFieldCount: (table: string) => `UPDATE "${table}" SET fields = ?2 WHERE rowid = ?1`,
  /** Overwrites every column of an existing row (import: a newer duplicate wins). */
  replaceRow: (table: string) =>
    `UPDATE "${table}" SET value = ?2, created_at = ?3, updated_at = ?4, expires_at = ?5, version = ?6,
type = ?7 WHERE key = ?1`,
  getRow: (table: string) =>
    `SELECT value, updated_at, expires_at, version, type FROM "${table}" WHERE key = ?1`,
  /** Up to ?3 live rows after rowid ?1 of a table written by the Rust original (seconds, `data`). */
  legacyPageLive: (table: string) =>
    `SELECT rowid, key, data, created_at, updated_at, expires_at, version FROM "${table}"
WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  /** Every table of one file (the tools refuse files holding tables they do not know). */
  listAllTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN ('large_garbage', 'meta') ORDER BY name`,
  /** Every live row of a keys table (format 2), for checksums. */
  allLiveKeys: (table: string) =>
    `SELECT rowid AS id, key, value, created_at, updated_at, expires_at, version, type FROM "${table}"
WHERE expires_at IS NULL OR expires_at > ?1`,
  /** Deletes one key row (import --on-conflict keep-hash drops the string). */
  deleteRow: (table: string) => `DELETE FROM "${table}" WHERE key = ?1`,
  /** Whether a live row holds ?1 in a table written by the Rust original, and how new it is. */
  legacyGetLive: (table: string) =>
    `SELECT updated_at, version FROM "${table}" WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)`,
  /** A consistent copy of the whole file, taken inside one read transaction. */
  vacuumInto: "VACUUM INTO ?1",
  checkpointTruncate: "PRAGMA wal_checkpoint(TRUNCATE)",
  quickCheck: "PRAGMA quick_check",
  userVersion: "PRAGMA user_version",
} as const;
