/**
 * The storage API: everything outside src/storage/ imports storage through this file, and the
 * dependency rules (.dependency-cruiser.cjs) refuse any other way in. What is listed here is
 * the contract; the rooms behind it (engine, keyspace, large, writes, jobs, workers,
 * maintenance) may change shape without touching a command.
 */

// Value bytes: decoding stored values, and the small-hash encoding DUMP payloads carry.
export { CodecError, decodeValue } from "./codecs/codec.ts";
// Keys, rows and row types: what command handlers read and write.
export { type KeyParam, keyBytes, keyParam } from "./engine/keys.ts";
export type { ExpiryMs } from "./engine/shard.ts";
export { ROW_HASH_INLINE, ROW_HASH_TABLE, ROW_STRING, type RowType } from "./engine/sql.ts";
export type { Watcher } from "./engine/watch.ts";
export type { AutoVacuumUpgradeReport } from "./jobs/auto-vacuum.ts";
// The store and its background jobs, as the server opens and runs them.
export { ExpirySweeper } from "./jobs/expiry-sweep.ts";
export { SlotBackfill } from "./jobs/slot-backfill.ts";
export { decodeInline, encodeInline } from "./keyspace/inline-hash.ts";
export { copyKey, moveKey } from "./keyspace/key-moves.ts";
export type { Keyspace } from "./keyspace/keyspace.ts";
export type {
  FieldItem,
  HashView,
  HashWriter,
  KeyRows,
  LiveEntry,
  RowTable,
} from "./keyspace/rows.ts";
export type { LargeRef } from "./large/format.ts";
export type { LargeUpload } from "./large/upload.ts";
// Maintenance: the CLI's offline tools and the server's VACUUM.
export { backupDataDir } from "./maintenance/backup.ts";
export { MaintenanceError } from "./maintenance/data-dir.ts";
export {
  importLegacyDataDir,
  LEGACY_COMPRESSIONS,
  type LegacyCompression,
  ON_CONFLICT,
  type OnConflict,
} from "./maintenance/import.ts";
export { migrateShards, rollbackMigration } from "./maintenance/migrate.ts";
export {
  isBusyError,
  type PageStats,
  type ShardVacuumResult,
  type VacuumMode,
  type VacuumOptions,
  vacuumShards,
} from "./maintenance/vacuum.ts";
export { Store, StoreOpenError } from "./store.ts";
