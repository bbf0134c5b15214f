/**
 * The row interfaces every key type meets: what commands and write closures see of a key
 * (LiveEntry, KeyEntry), of one shard's keys in one database (RowTable) and of a hash
 * (HashView, HashWriter). Only types live here, so the tables that implement them
 * (key-table.ts, hash-rows.ts, overlay.ts) import this file and never each other's types.
 */
import type { ValueCache } from "../engine/cache.ts";
import type { KeyParam } from "../engine/keys.ts";
import type { ExpiryMs, KeyspaceStatements } from "../engine/shard.ts";
import type { RowType } from "../engine/sql.ts";
import type { LargeRef } from "../large/format.ts";
import type { FieldItem } from "./inline-hash.ts";

export type { FieldItem };

export interface LiveEntry {
  /** For a string kept in a file, reading this reads the whole file (bounded by proto-max-bulk-len). */
  value: Uint8Array;
  expiresAt: number | null;
  /** Set when the string lives in a file (row type 3): commands that can stream use this. */
  large?: LargeRef;
}

/** A live key of any type. For a large hash `value` is empty (its fields are rows). */
export interface KeyEntry extends LiveEntry {
  type: RowType;
  /** A large hash's rowid (its fields' hash_id). */
  id?: number;
  /**
   * A large hash's cache generation: its fields are cached under it (hash-rows.ts). A new one
   * is drawn whenever the key row is read from SQL, never reused, so entries cached for an
   * older life of the key (deleted, renamed, rowid reused) can never be reached again.
   */
  gen?: number;
}

/**
 * What write closures and reads see of one shard's keys in one database. In the default mode
 * it is the KeyTable itself (SQL inside the writer's transaction); with async_write it is the
 * pending-writes overlay (inflight.ts). Closures must touch rows only through this view.
 */
export interface RowTable {
  readonly shardIndex: number;
  readonly db: number;
  /** The live key whatever its type, or null. */
  entry(key: KeyParam, now: number): KeyEntry | null;
  /** The live string, or null; WRONGTYPE when the key holds a hash. */
  live(key: KeyParam, now: number): LiveEntry | null;
  has(key: KeyParam, now: number): boolean;
  /** Writes a string, replacing a key of any type. */
  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void;
  /** Writes a string or a small hash's serialized fields (RENAME, COPY, MOVE, RESTORE). */
  putRow(
    key: KeyParam,
    type: RowType,
    value: Uint8Array,
    now: number,
    expiresAt: ExpiryMs | null,
  ): void;
  /** True when a live key was removed (a large hash's fields go with it). */
  remove(key: KeyParam, now: number): boolean;
  /** Changes the expiry of an existing row. */
  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void;
  /** The live row's expiry exactly as stored (bigint beyond 2^53), for TTL replies. */
  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined;
  /** The live hash for reading, or null; WRONGTYPE when the key holds a string. */
  hash(key: KeyParam, now: number): HashView | null;
  /**
   * APPEND and SETRANGE on a string kept in a file: writes `patch` at `offset` into a new
   * file that copies the untouched chunks as they are (storage/large/patch.ts), points `key`
   * at it and returns the new length. Only views that write inside the shard's transaction
   * (KeyTable) have it; without it (the async overlay) commands rebuild the value in memory.
   */
  patchFile?(
    key: KeyParam,
    ref: LargeRef,
    offset: number,
    patch: Uint8Array,
    now: number,
    expiresAt: ExpiryMs | null,
  ): number;
}

/**
 * What commands may do with one shard's keys inside a writer transaction (writeHash,
 * writeTable, writeMany), beyond RowTable: row operations only, never SQL (KeyTable
 * implements it).
 */
export interface KeyRows extends RowTable {
  /** The hash for writing, created empty when absent; WRONGTYPE when the key holds a string. */
  hashWriter(key: KeyParam, now: number): HashWriter;
  /** Points `key` at a committed large-value file (storage/large), replacing a key of any type. */
  putFile(key: KeyParam, ref: LargeRef, now: number, expiresAt: ExpiryMs | null): void;
  /** Up to `limit` rows after rowid `after`, expired ones included (SCAN, KEYS). */
  scanPage(after: number, limit: number): ScanRow[];
  /** A live key picked at random (RANDOMKEY), or null when none is found. */
  randomKey(now: number): KeyParam | null;
}

/** One row of scanPage(): the rowid is SCAN's cursor within its shard. */
export interface ScanRow {
  rowid: number;
  key: KeyParam;
  expires_at: number | null;
  type: RowType;
}

/** What a hash's rows need of the key table that holds them (KeyTable implements it). */
export interface HashHost extends RowTable {
  readonly statements: KeyspaceStatements;
  readonly cache: ValueCache;
  idOf(key: KeyParam): string;
  decode(key: KeyParam, stored: Uint8Array): Uint8Array;
  encode(value: Uint8Array): Uint8Array;
  /** A large hash's field value as stored: a file reference past the large-value threshold. */
  encodeField(key: KeyParam, value: Uint8Array): Uint8Array;
  /** A cache generation for a large hash's fields, never used before (KeyEntry.gen). */
  nextHashGeneration(): number;
  /** The whole value of a file (a field kept in one); a StorageError names the key. */
  readFile(key: KeyParam, ref: LargeRef): Uint8Array;
  touch(id: string): void;
}

/** When a small hash converts to the large encoding (see the file comment). */
export interface HashLimits {
  maxEntries: number;
  maxValueBytes: number;
}

export interface FieldEntry {
  /** For a field kept in a file, reading this reads the whole file. */
  value: Uint8Array;
  /** ms since the epoch, null = no expiry. */
  expiresAt: number | null;
  /** Set when the value lives in a file (format 4): HGET streams it like GET. */
  large?: LargeRef;
}

/** One page of a hash's live fields; `next` = 0 when the walk is over. */
export interface FieldPage {
  items: FieldItem[];
  next: number;
}

/** Reading a hash. Field arguments are the client's bytes. */
export interface HashView {
  readonly encoding: "listpack" | "hashtable";
  get(field: Uint8Array, now: number): FieldEntry | null;
  /** Live fields. */
  len(now: number): number;
  /**
   * Up to about `limit` live fields after cursor `after` (0 = from the start), in insertion
   * order. Memory stays bounded by one page whatever the hash's size.
   */
  page(after: number, limit: number, now: number): FieldPage;
}

/** Writing a hash (inside its shard's writer transaction). */
export interface HashWriter extends HashView {
  /** Writes a field; true when it was absent or expired. */
  set(field: Uint8Array, value: Uint8Array, expiresAt: number | null, now: number): boolean;
  /**
   * Points a field at a durable large-value file (an HSET value streamed there, upload.ts
   * persist()); the hash becomes a large one if it is not. True when it was absent or expired.
   */
  setFile(field: Uint8Array, ref: LargeRef, expiresAt: number | null, now: number): boolean;
  /** Changes a live field's expiry. */
  setExpiry(field: Uint8Array, expiresAt: number | null, now: number): void;
  /** Deletes a field; true when it was live. */
  delete(field: Uint8Array, now: number): boolean;
  /** Writes the changes back; a hash left without fields stops existing. */
  save(now: number): void;
}
