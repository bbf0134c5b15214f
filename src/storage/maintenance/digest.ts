/**
 * Order-independent checksums of a layout, shared by the offline tools: `shard migrate` and
 * `import` compare the digest of what they read with the digest of what they wrote before
 * anything is moved into place. Values kept in files (storage/large) are read chunk by chunk.
 * It never prints.
 */

import { dirname, join } from "node:path";
import { decodeValue } from "../codecs/codec.ts";
import { type KeyParam, keyBytes } from "../engine/keys.ts";
import type { Router } from "../engine/routing.ts";
import {
  maintenanceSql,
  ROW_HASH_INLINE,
  ROW_HASH_TABLE,
  ROW_STRING,
  ROW_STRING_FILE,
} from "../engine/sql.ts";
import { decodeInline } from "../keyspace/inline-hash.ts";
import { LargeFile } from "../large/file.ts";
import { decodeRef, isFieldRef } from "../large/format.ts";
import { fieldsTableOf, keyTables, MaintenanceError, openShardFile } from "./data-dir.ts";

/** Order-independent digest of one table's rows: count, XOR and sum (mod 2^32) of row CRCs. */
export interface TableDigest {
  rows: number;
  xor: number;
  sum: number;
}

/** Table name → digest, across every shard of a layout. */
export type Digest = Map<string, TableDigest>;

const encoder = new TextEncoder();

/**
 * A value to checksum: its bytes, or a large-value file decoded one chunk at a time, so a
 * multi-GiB value is verified with one chunk in memory.
 */
export type CrcValue = Uint8Array | { readonly length: number; chunks(): Iterable<Uint8Array> };

/** The value behind a file reference (a type-3 row or a field ref) of a layout in `dir`. */
export function fileValue(dir: string, stored: Uint8Array): CrcValue {
  const ref = decodeRef(stored);
  const path = join(dir, "large", ref.id);
  return {
    length: ref.size,
    *chunks() {
      const file = LargeFile.open(path);
      try {
        yield* file.chunks();
      } finally {
        file.close();
      }
    },
  };
}

/**
 * CRC-32 of one row: table, key (with its TEXT/BLOB kind), value and expiry, each
 * length-prefixed so no two different rows serialise alike. `meta` adds further columns
 * (migrate includes created_at, updated_at and version).
 */
export function rowCrc(
  table: string,
  key: KeyParam,
  value: CrcValue,
  expiresAt: bigint | number | null,
  meta = "",
): number {
  const keyText = typeof key === "string";
  let crc = Bun.hash.crc32(`${table.length}:${table}|${keyText ? "T" : "B"}${key.length}:`);
  crc = Bun.hash.crc32(keyText ? encoder.encode(key) : key, crc);
  crc = Bun.hash.crc32(`|${value.length}:`, crc);
  if (value instanceof Uint8Array) crc = Bun.hash.crc32(value, crc);
  else for (const chunk of value.chunks()) crc = Bun.hash.crc32(chunk, crc);
  return Bun.hash.crc32(`|${expiresAt === null ? "-" : String(expiresAt)}|${meta}`, crc);
}

export function addToDigest(digest: Digest, table: string, crc: number, sign: 1 | -1 = 1): void {
  let d = digest.get(table);
  if (d === undefined) {
    d = { rows: 0, xor: 0, sum: 0 };
    digest.set(table, d);
  }
  d.rows += sign;
  d.xor = (d.xor ^ crc) >>> 0;
  d.sum = (d.sum + sign * crc) >>> 0;
}

/** Human-readable differences between two digests (empty when they match). */
export function compareDigests(
  expected: Digest,
  actual: Digest,
  expectedLabel: string,
  actualLabel: string,
): string[] {
  const problems: string[] = [];
  const empty: TableDigest = { rows: 0, xor: 0, sum: 0 };
  const tables = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const table of tables) {
    const e = expected.get(table) ?? empty;
    const a = actual.get(table) ?? empty;
    if (e.rows !== a.rows) {
      problems.push(
        `table ${table}: ${e.rows} row(s) in ${expectedLabel}, ${a.rows} in ${actualLabel}`,
      );
    } else if (e.xor !== a.xor || e.sum !== a.sum) {
      problems.push(
        `table ${table}: ${e.rows} row(s) on both sides but checksums differ (${expectedLabel} ${hex(e.xor)}/${hex(e.sum)}, ${actualLabel} ${hex(a.xor)}/${hex(a.sum)})`,
      );
    }
  }
  return problems;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

export function digestRows(digest: Digest): number {
  let n = 0;
  for (const d of digest.values()) n += d.rows;
  return n;
}

/**
 * CRC-32 of one field of a hash: the table label, the hash's key bytes, the field bytes, value
 * and expiry, length-prefixed like rowCrc. `meta` adds the field's position in the hash, so a
 * digest also checks insertion order (HGETALL's order).
 */
export function fieldCrc(
  table: string,
  hashKey: Uint8Array,
  field: Uint8Array,
  value: CrcValue,
  expiresAt: bigint | number | null,
  meta = "",
): number {
  let crc = Bun.hash.crc32(`${table.length}:${table}|${hashKey.length}:`);
  crc = Bun.hash.crc32(hashKey, crc);
  crc = Bun.hash.crc32(`|${field.length}:`, crc);
  crc = Bun.hash.crc32(field, crc);
  return rowCrc(table, "", value, expiresAt, `${crc}|${meta}`);
}

interface FullRow {
  id: bigint;
  key: KeyParam;
  value: Uint8Array;
  created_at: bigint;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
  type: bigint;
}

interface FieldRow {
  field: KeyParam;
  value: Uint8Array;
  expires_at: bigint | null;
}

export interface DigestOptions {
  /** Live at this time (ms): rows and fields with expires_at <= now are left out. */
  now: number;
  /** When set, every row must sit in the shard this router picks for its key. */
  router?: Router;
  /**
   * Checksum decoded values (import): strings under their keys table, hash keys under
   * `<keys>:hashes` (empty value) and every live field of a hash, inline or large, under
   * `<keys>:fields`; a value kept in a file is read from the `large/` directory beside the
   * shard files. Otherwise (migrate) stored bytes plus every column, per table.
   */
  decoded?: boolean;
}

/**
 * The digest of a whole layout (shard i = paths[i], format 2): every live key row of every
 * database and, for large hashes, their live fields (a large hash without one is dead and left
 * out, as the copy leaves it out). Throws MaintenanceError when a row sits in the wrong shard
 * for `router`. Each file is opened and closed here.
 */
export function digestLayout(paths: readonly string[], options: DigestOptions): Digest {
  const digest: Digest = new Map();
  paths.forEach((path, shard) => {
    const db = openShardFile(path);
    try {
      for (const table of keyTables(db)) {
        const fieldsTable = fieldsTableOf(table);
        const fieldsOf = db.query(maintenanceSql.fieldsOf(fieldsTable));
        const stmt = db.query(maintenanceSql.allLiveKeys(table));
        for (const row of stmt.iterate(options.now) as IterableIterator<FullRow>) {
          const key = keyBytes(row.key);
          if (options.router && options.router.shardOf(key) !== shard) {
            throw new MaintenanceError(
              `table ${table} in ${path}: key ${JSON.stringify(String(row.key))} belongs in shard ${options.router.shardOf(key)}, not ${shard}`,
            );
          }
          const type = Number(row.type);
          const fields: { field: Uint8Array; value: CrcValue; expiresAt: number | null }[] = [];
          if (type === ROW_HASH_TABLE) {
            for (const f of fieldsOf.iterate(row.id, options.now) as IterableIterator<FieldRow>) {
              const value = !options.decoded
                ? f.value
                : isFieldRef(f.value)
                  ? fileValue(dirname(path), f.value)
                  : decodeValue(f.value);
              fields.push({ field: keyBytes(f.field), value, expiresAt: expiryOf(f.expires_at) });
            }
            if (fields.length === 0) continue;
          } else if (type === ROW_HASH_INLINE && options.decoded) {
            for (const f of decodeInline(decodeValue(row.value))) {
              if (f.expiresAt === null || f.expiresAt > options.now) fields.push(f);
            }
          }
          if (options.decoded) {
            if (type === ROW_STRING || type === ROW_STRING_FILE) {
              const value =
                type === ROW_STRING ? decodeValue(row.value) : fileValue(dirname(path), row.value);
              addToDigest(digest, table, rowCrc(table, row.key, value, row.expires_at));
            } else {
              const label = `${table}:hashes`;
              addToDigest(digest, label, rowCrc(label, row.key, new Uint8Array(0), row.expires_at));
            }
          } else {
            const meta = `${row.created_at}|${row.updated_at}|${row.version}|${type}|${fields.length}`;
            addToDigest(digest, table, rowCrc(table, row.key, row.value, row.expires_at, meta));
          }
          const label = options.decoded ? `${table}:fields` : fieldsTable;
          fields.forEach((f, i) => {
            addToDigest(digest, label, fieldCrc(label, key, f.field, f.value, f.expiresAt, `${i}`));
          });
        }
        stmt.finalize();
        fieldsOf.finalize();
      }
    } finally {
      db.close();
    }
  });
  return digest;
}

const expiryOf = (at: bigint | null): number | null => (at === null ? null : Number(at));
