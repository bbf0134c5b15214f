/**
 * Import, second pass (import.ts owns the whole import): the Rust original's namespace tables
 * `blobs_<ns>` become hash keys `<ns>` in database 0, placed by the hash's key (format 2, as
 * upgrade.ts does for our own format 1). Fields are written through KeyTable.hashWriter in
 * one transaction per page, so a namespace becomes a small (inline) or large hash by the same
 * rule as HSET. A field present in several source shards (a failed Rust migration) is written
 * once: the copy with the newest updated_at, then version, then the lowest shard wins.
 * A namespace whose name an imported string already holds is a conflict; `onConflict` decides,
 * and every conflict is reported by name (nothing is dropped silently):
 *   rename      (default) the hash goes to `<ns>:hash` (then `<ns>:hash:2`, …), as upgrade.ts
 *   keep-string the namespace is not imported
 *   keep-hash   the string is dropped and the hash takes `<ns>`
 * It must not import protocol, commands or cluster code, and never prints.
 */
import type { Database, Statement } from "bun:sqlite";
import { dirname } from "node:path";
import { decodeValue, ValueCodec } from "../codecs/codec.ts";
import { ValueCache } from "../engine/cache.ts";
import { type KeyParam, keyBytes, keyParam } from "../engine/keys.ts";
import type { Router } from "../engine/routing.ts";
import type { Shard } from "../engine/shard.ts";
import { keyspaceTables, maintenanceSql, ROW_STRING, ROW_STRING_FILE } from "../engine/sql.ts";
import { KeyWatches } from "../engine/watch.ts";
import { KeyTable } from "../keyspace/key-table.ts";
import { copyPages } from "./copy-pages.ts";
import { legacyTables, MaintenanceError } from "./data-dir.ts";
import { addToDigest, type Digest, fieldCrc, fileValue, rowCrc } from "./digest.ts";

export type OnConflict = "keep-string" | "keep-hash" | "rename";
export const ON_CONFLICT: readonly OnConflict[] = ["keep-string", "keep-hash", "rename"];

/** A namespace that met a string of the same name, and what became of each. */
export interface ImportConflict {
  /** The shared name. */
  key: string;
  resolution: OnConflict;
  /** Where the hash went (null for keep-string: not imported). */
  hashKey: string | null;
}

/** One source table of a namespace: the shard file's index in `dbs` and the table name. */
export interface NamespaceSource {
  source: number;
  table: string;
}

export interface HashImportContext {
  dbs: Database[];
  paths: string[];
  targets: Shard[];
  router: Router;
  now: number;
  batchRows: number;
  onConflict: OnConflict;
  /** Decodes one stored Rust value (throws MaintenanceError naming table and key). */
  decode: (data: Uint8Array, source: number, table: string, key: KeyParam) => Uint8Array;
  /** Expected digest, labelled as digestLayout({decoded: true}) labels the result. */
  expected: Digest;
  onRows: (n: number) => void;
}

export interface HashImportResult {
  hashes: number;
  fields: number;
  duplicates: number;
  conflicts: ImportConflict[];
}

interface LegacyField {
  rowid: bigint;
  key: string | Uint8Array;
  data: Uint8Array | string | null;
  updated_at: bigint;
  expires_at: bigint | null;
  version: bigint;
}

const KEYS = keyspaceTables(0).keys;
const HASHES = `${KEYS}:hashes`;
const FIELDS = `${KEYS}:fields`;
const encoder = new TextEncoder();
const I64_MAX = 9_223_372_036_854_775_807n;

/** A codec that stores values raw (import leaves compression to the server's next write). */
export function rawCodec(): ValueCodec {
  return new ValueCodec({ enabled: false, algorithm: "none", level: null, minSizeBytes: 0 });
}

/** Key tables of database 0 over the staged shards, with the codec storing values raw. */
export function importKeyTables(
  targets: Shard[],
  hashLimits = { maxEntries: 128, maxValueBytes: 64 },
): KeyTable[] {
  const codec = rawCodec();
  const watches = new KeyWatches();
  return targets.map((shard, i) => {
    shard.cache ??= new ValueCache(1 << 20, 1 << 16);
    return new KeyTable(i, 0, shard.blobs, codec, shard.cache, watches, hashLimits);
  });
}

/** Chooses one namespace spelling per case-folded name: SQLite (and so the Rust server) kept
 * every spelling of a namespace in one table, named by whichever spelling came first in that
 * shard. The spelling used by most shards wins (ties: sort order), so clients that always use
 * one spelling keep finding their fields. */
export function namespaceSpellings(dbs: Database[], paths: string[]): Map<string, string> {
  const votes = new Map<string, Map<string, number>>();
  dbs.forEach((db, s) => {
    for (const table of legacyTables(db)) {
      if (table === "blobs") continue;
      const ns = table.slice("blobs_".length);
      if (!/^[A-Za-z0-9_]+$/.test(ns)) {
        throw new MaintenanceError(
          `${paths[s]} holds table ${table}, which is not a namespace table`,
        );
      }
      const byCase = votes.get(ns.toLowerCase()) ?? new Map<string, number>();
      byCase.set(ns, (byCase.get(ns) ?? 0) + 1);
      votes.set(ns.toLowerCase(), byCase);
    }
  });
  const chosen = new Map<string, string>();
  for (const [folded, byCase] of votes) {
    const best = [...byCase].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    chosen.set(folded, best);
  }
  return chosen;
}

/** Imports every namespace (by its chosen spelling) after the strings are in place. */
export function importNamespaces(
  ctx: HashImportContext,
  namespaces: Map<string, NamespaceSource[]>,
): HashImportResult {
  const tables = importKeyTables(ctx.targets);
  const result: HashImportResult = { hashes: 0, fields: 0, duplicates: 0, conflicts: [] };
  for (const ns of [...namespaces.keys()].sort()) {
    const sources = namespaces.get(ns)!;
    if (!sources.some((s) => hasLiveRow(ctx, s))) continue;
    const key = resolveKey(ctx, tables, ns, result.conflicts);
    if (key === null) continue;
    const copied = copyNamespace(ctx, tables, key, sources, result);
    if (copied > 0) {
      result.hashes++;
      const param = keyParam(key);
      addToDigest(ctx.expected, HASHES, rowCrc(HASHES, param, new Uint8Array(0), null));
    }
  }
  return result;
}

function hasLiveRow(ctx: HashImportContext, s: NamespaceSource): boolean {
  const row = ctx.dbs[s.source]!.query(maintenanceSql.countLive(s.table)).get(nowSec(ctx)) as {
    n: bigint;
  };
  return row.n > 0n;
}

const nowSec = (ctx: HashImportContext): number => Math.floor(ctx.now / 1000);

/** The key the namespace's hash goes to, or null when it is not imported (keep-string). */
function resolveKey(
  ctx: HashImportContext,
  tables: KeyTable[],
  ns: string,
  conflicts: ImportConflict[],
): Uint8Array | null {
  const bytes = encoder.encode(ns);
  const shard = ctx.router.shardOf(bytes);
  const string = stringAt(tables[shard]!, ns, ctx.now);
  if (!string) return bytes;
  if (ctx.onConflict === "keep-string") {
    conflicts.push({ key: ns, resolution: "keep-string", hashKey: null });
    return null;
  }
  if (ctx.onConflict === "keep-hash") {
    dropString(ctx, tables[shard]!, ns);
    conflicts.push({ key: ns, resolution: "keep-hash", hashKey: ns });
    return bytes;
  }
  for (let i = 1; ; i++) {
    const name = i === 1 ? `${ns}:hash` : `${ns}:hash:${i}`;
    const table = tables[ctx.router.shardOf(encoder.encode(name))]!;
    if (!stringAt(table, name, ctx.now)) {
      conflicts.push({ key: ns, resolution: "rename", hashKey: name });
      return encoder.encode(name);
    }
  }
}

function stringAt(table: KeyTable, key: string, now: number): boolean {
  const entry = table.entry(key, now);
  return entry !== null && (entry.type === ROW_STRING || entry.type === ROW_STRING_FILE);
}

/** keep-hash: the imported string leaves the target, and the expected digest. */
function dropString(ctx: HashImportContext, table: KeyTable, key: string): void {
  const shard = ctx.targets[table.shardIndex]!;
  const db = shard.db;
  const old = db.query(maintenanceSql.getRow(KEYS)).get(key) as {
    value: Uint8Array;
    expires_at: number | null;
    type: number;
  };
  const value =
    Number(old.type) === ROW_STRING_FILE
      ? fileValue(dirname(shard.path), old.value)
      : decodeValue(old.value);
  addToDigest(ctx.expected, KEYS, rowCrc(KEYS, key, value, old.expires_at), -1);
  inTransaction(shard, () => table.remove(key, ctx.now));
}

/** Copies the live fields of every source table into the hash at `key`; returns the count. */
function copyNamespace(
  ctx: HashImportContext,
  tables: KeyTable[],
  key: Uint8Array,
  sources: NamespaceSource[],
  result: HashImportResult,
): number {
  const shardIndex = ctx.router.shardOf(key);
  const shard = ctx.targets[shardIndex]!;
  const table = tables[shardIndex]!;
  const param = keyParam(key);
  const lookups = sources.map((s) =>
    ctx.dbs[s.source]!.query(maintenanceSql.legacyGetLive(s.table)).safeIntegers(true),
  );
  let position = 0;
  sources.forEach((s, index) => {
    const page = ctx.dbs[s.source]!.query(maintenanceSql.legacyPageLive(s.table));
    copyPages<LegacyField>(
      page,
      nowSec(ctx),
      ctx.batchRows,
      (body) => inTransaction(shard, body),
      (rows) => {
        const hash = table.hashWriter(param, ctx.now);
        for (const row of rows) {
          if (newerElsewhere(ctx, lookups, index, row)) {
            result.duplicates++;
            continue;
          }
          const field = keyBytes(row.key);
          const data =
            row.data === null
              ? new Uint8Array(0)
              : typeof row.data === "string"
                ? encoder.encode(row.data)
                : row.data;
          const value = ctx.decode(data, s.source, s.table, row.key);
          const expiresAt = row.expires_at === null ? null : Number(toMs(row.expires_at));
          hash.set(field, value, expiresAt, ctx.now);
          addToDigest(
            ctx.expected,
            FIELDS,
            fieldCrc(FIELDS, key, field, value, expiresAt, `${position++}`),
          );
        }
        hash.save(ctx.now);
      },
      (rows) => ctx.onRows(rows.length),
    );
  });
  for (const l of lookups) l.finalize();
  result.fields += position;
  return position;
}

/** True when another source table of the namespace holds a winning copy of this field. */
function newerElsewhere(
  ctx: HashImportContext,
  lookups: Statement[],
  index: number,
  row: LegacyField,
): boolean {
  for (let j = 0; j < lookups.length; j++) {
    if (j === index) continue;
    const other = lookups[j]!.get(row.key, nowSec(ctx)) as {
      updated_at: bigint;
      version: bigint;
    } | null;
    if (other === null) continue;
    if (other.updated_at > row.updated_at) return true;
    if (other.updated_at < row.updated_at) continue;
    if (other.version > row.version) return true;
    if (other.version === row.version && j < index) return true;
  }
  return false;
}

function toMs(seconds: bigint): bigint {
  const ms = seconds * 1000n;
  return ms > I64_MAX ? I64_MAX : ms;
}

function inTransaction(shard: Shard, body: () => void): void {
  try {
    shard.runTransaction(body);
  } catch (error) {
    if (error instanceof MaintenanceError) throw error;
    throw new MaintenanceError(`import failed writing ${shard.path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
