/**
 * Every SQL statement the server runs, by name, in one place. Table names are passed in so
 * the same text serves `blobs` and the per-namespace tables; they are always produced by
 * schema.ts (validated identifiers), never by client input directly.
 * Times are milliseconds since the epoch. A row is live when expires_at IS NULL or > now.
 */

export const FORMAT_VERSION = 1;

export function createTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS "${table}" (
  key        TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  version    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}"(expires_at) WHERE expires_at IS NOT NULL;`;
}

/** Statements prepared once per table and shard. */
export function tableSql(table: string) {
  const t = `"${table}"`;
  /**
   * Insert or replace the value. Overwriting a row whose expiry has passed starts a fresh
   * key: created_at and version are reset, as if the old row had been swept first.
   */
  const upsert = `INSERT INTO ${t} (key, value, created_at, updated_at, expires_at, version)
VALUES (?1, ?2, ?3, ?3, ?4, 0)
ON CONFLICT(key) DO UPDATE SET
  value = excluded.value,
  updated_at = excluded.updated_at,
  expires_at = excluded.expires_at,
  created_at = CASE WHEN ${t}.expires_at IS NOT NULL AND ${t}.expires_at <= excluded.updated_at
                    THEN excluded.created_at ELSE ${t}.created_at END,
  version = CASE WHEN ${t}.expires_at IS NOT NULL AND ${t}.expires_at <= excluded.updated_at
                 THEN 0 ELSE ${t}.version + 1 END`;
  return {
    /** The row whatever its expiry; TableStatements.live and KeyTable.live filter by expiry. */
    get: `SELECT value, expires_at FROM ${t} WHERE key = ?1`,
    upsert,
    /** The same upsert, reporting whether the key is new: version 0 = inserted or revived. */
    upsertVersion: `${upsert} RETURNING version`,
    /** Deletes and reports the old expiry so the caller can tell a live row from a dead one. */
    delete: `DELETE FROM ${t} WHERE key = ?1 RETURNING expires_at`,
    setExpiry: `UPDATE ${t} SET expires_at = ?2 WHERE key = ?1`,
    exactExpiry: `SELECT expires_at FROM ${t} WHERE key = ?1`,
    /** Up to ?2 rows after rowid ?1, in rowid order: rowids survive upserts, so a cursor is stable. */
    scan: `SELECT rowid, key, expires_at FROM ${t} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`,
    countLive: `SELECT count(*) AS n FROM ${t} WHERE expires_at IS NULL OR expires_at > ?1`,
    countExpiring: `SELECT count(*) AS n FROM ${t} WHERE expires_at IS NOT NULL AND expires_at > ?1`,
    /** One bounded batch of the expiry sweep. */
    sweep: `DELETE FROM ${t} WHERE rowid IN
  (SELECT rowid FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)`,
    clear: `DELETE FROM ${t}`,
    /** A random live row: pick a random rowid and take the next one at or after it. */
    randomAfter: `SELECT key FROM ${t} WHERE rowid >= ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT 1`,
    maxRowid: `SELECT max(rowid) AS m FROM ${t}`,
  } as const;
}

/**
 * Whole-row statements for the offline maintenance tools (shard migrate, import, backup):
 * they copy every column, so created_at, updated_at and version survive a move. `?now` filters
 * out expired rows, which are dropped rather than copied.
 */
export const maintenanceSql = {
  /** `blobs` and every `blobs_*` table of one file (ours or the Rust original's). */
  listTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'blobs' OR name LIKE 'blobs\\_%' ESCAPE '\\') ORDER BY name`,
  countLive: (table: string) =>
    `SELECT count(*) AS n FROM "${table}" WHERE expires_at IS NULL OR expires_at > ?1`,
  /** Up to ?3 live rows after rowid ?1 (our format). */
  pageLive: (table: string) =>
    `SELECT rowid, key, value, created_at, updated_at, expires_at, version FROM "${table}"
WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  /** Every live row (our format), for checksums. */
  allLive: (table: string) =>
    `SELECT key, value, created_at, updated_at, expires_at, version FROM "${table}"
WHERE expires_at IS NULL OR expires_at > ?1`,
  /** Inserts a whole row; a key already present is left alone (changes = 0 tells the caller). */
  insertRow: (table: string) =>
    `INSERT OR IGNORE INTO "${table}" (key, value, created_at, updated_at, expires_at, version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
  /** Overwrites every column of an existing row (import: a newer duplicate wins). */
  replaceRow: (table: string) =>
    `UPDATE "${table}" SET value = ?2, created_at = ?3, updated_at = ?4, expires_at = ?5, version = ?6
WHERE key = ?1`,
  getRow: (table: string) =>
    `SELECT value, updated_at, expires_at, version FROM "${table}" WHERE key = ?1`,
  /** Up to ?3 live rows after rowid ?1 of a table written by the Rust original (seconds, `data`). */
  legacyPageLive: (table: string) =>
    `SELECT rowid, key, data, created_at, updated_at, expires_at, version FROM "${table}"
WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  /** A consistent copy of the whole file, taken inside one read transaction. */
  vacuumInto: "VACUUM INTO ?1",
  checkpointTruncate: "PRAGMA wal_checkpoint(TRUNCATE)",
  quickCheck: "PRAGMA quick_check",
  userVersion: "PRAGMA user_version",
} as const;
