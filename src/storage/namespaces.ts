/**
 * Namespace tables for the hash commands: a namespace (the Redis hash key) owns one table
 * `blobs_<mapped name>` in every shard that one of its fields hashes to. This file owns the
 * namespace-to-table-name mapping, the per-shard catalog of existing namespace tables (loaded
 * from sqlite_master once at open, kept in memory after), lazy table creation, the per-table
 * statement cache, bounded paging over a namespace's rows, the expiry sweep over namespace
 * tables. How namespace writes are queued is in namespace-writes.ts.
 * It must not import protocol, commands or cluster code; row SQL comes from sql.ts.
 */
import type { Database, Statement } from "bun:sqlite";
import { type CachedRow, cacheableValue, isLive, type ValueCache } from "./cache.ts";
import type { ValueCodec } from "./codecs/codec.ts";
import type { FieldRows, PendingFields } from "./inflight-fields.ts";
import { type KeyParam, keyId } from "./keys.ts";
import { type Shard, TableStatements } from "./shard.ts";
import { createTableSql } from "./sql.ts";

/**
 * Table names. A namespace matches [A-Za-z0-9_]+ and is case-sensitive, but SQLite compares
 * table names case-insensitively, so `Users` and `users` must not map to names that differ
 * only in case. The mapping:
 *   - `blobs_` + the namespace, where each upper-case letter X becomes `^x`: `users` ->
 *     `blobs_users` (as the seed names it), `Users` -> `blobs_^users`, `USERS` ->
 *     `blobs_^u^s^e^r^s`. Every mapped name is lower case, so SQLite's case folding is the
 *     identity on them, and `^` never occurs in a namespace, so the escape is unambiguous.
 *   - if the result ends in `_expires_at`, a final `^` is appended. Each table's expiry index
 *     is named `<table>_expires_at` (sql.ts), and tables and indexes share one name space in
 *     SQLite: without the terminator the namespace `expires_at` would collide with the index
 *     `blobs_expires_at` of the default table, and `a_expires_at` with the index of `a`.
 *     A lone trailing `^` is never produced by the letter escape, so decoding stays unique.
 * Identifiers are always double-quoted in SQL, so `^` needs no further care:
 *   sqlite3 shard_0.db 'select key from "blobs_^users"'
 */
const TABLE_PREFIX = "blobs_";
const INDEX_SUFFIX = "_expires_at";

/** Validates a namespace argument; returns it as a string, or null when it is not [A-Za-z0-9_]+. */
export function parseNamespace(bytes: Uint8Array): string | null {
  const n = bytes.length;
  if (n === 0) return null;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
    if (!ok) return null;
    out += String.fromCharCode(c);
  }
  return out;
}

/** The SQLite table of a namespace (see the mapping above). `ns` must be valid. */
export function tableNameOf(ns: string): string {
  let body = "";
  for (let i = 0; i < ns.length; i++) {
    const c = ns.charCodeAt(i);
    body += c >= 65 && c <= 90 ? `^${String.fromCharCode(c + 32)}` : ns[i];
  }
  const name = TABLE_PREFIX + body;
  return name.endsWith(INDEX_SUFFIX) ? `${name}^` : name;
}

/**
 * The namespace a table holds, or null when the table is not a namespace table. Tables made
 * by the Rust original for a mixed-case namespace (`blobs_Users`) are, to SQLite, the table
 * of the lower-case name, so they are read as that namespace.
 */
export function namespaceOfTable(table: string): string | null {
  if (!table.startsWith(TABLE_PREFIX)) return null;
  const lowered = table.toLowerCase();
  let body = lowered.slice(TABLE_PREFIX.length);
  if (body.endsWith("^")) body = body.slice(0, -1);
  let ns = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === "^") {
      const next = body[++i];
      if (next === undefined || next < "a" || next > "z") return null;
      ns += next.toUpperCase();
    } else if (/[a-z0-9_]/.test(ch)) ns += ch;
    else return null;
  }
  if (ns.length === 0 || tableNameOf(ns) !== lowered) return null;
  return ns;
}

/** A live field: decoded value and expiry (ms since the epoch, null = none). */
export interface FieldEntry {
  value: Uint8Array;
  expiresAt: number | null;
}

/** One page row of a namespace table; `value` is still encoded. */
export interface FieldRow {
  rowid: number;
  key: KeyParam;
  value: Uint8Array;
  expires_at: number | null;
}

/** Statements the namespace tables need beyond tableSql(); candidates to move into sql.ts. */
const namespaceSql = {
  listTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'blobs\\_%' ESCAPE '\\'`,
  dropTable: (table: string) => `DROP TABLE IF EXISTS "${table}"`,
  /** Up to ?2 whole rows after rowid ?1; expiry is filtered by the caller so the cursor moves on. */
  page: (table: string) =>
    `SELECT rowid, key, value, expires_at FROM "${table}" WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`,
} as const;

const ABSENT: CachedRow = Object.freeze({ value: null, expiresAt: null });

/**
 * Row operations on one namespace table of one shard, with expiry and codec applied. Reads go
 * through the shard's value cache (cache.ts) under a key prefix no plain key id can produce
 * (a lone low surrogate, then the table name and a NUL); every write replaces the field's
 * entry, staged until its transaction commits as for plain keys (cache.ts), so the cache
 * never serves uncommitted values.
 */
export class NamespaceTable {
  readonly rows: TableStatements;
  private readonly pageStmt: Statement<FieldRow, [number, number]>;
  private readonly prefix: string;

  constructor(
    db: Database,
    readonly name: string,
    private readonly codec: ValueCodec,
    private readonly cache: ValueCache,
  ) {
    this.rows = new TableStatements(db, name);
    this.pageStmt = db.prepare(namespaceSql.page(name));
    this.prefix = `\udc00${name}\u0000`;
  }

  live(field: KeyParam, now: number): FieldEntry | null {
    const id = this.prefix + keyId(field);
    let row = this.cache.get(id);
    if (row === undefined) {
      const stored = this.rows.getStmt.get(field);
      row =
        stored === null
          ? ABSENT
          : { value: this.codec.decode(stored.value), expiresAt: stored.expires_at };
      this.cache.set(id, row);
    }
    return isLive(row, now) ? (row as FieldEntry) : null;
  }

  has(field: KeyParam, now: number): boolean {
    return this.live(field, now) !== null;
  }

  /**
   * Writes the field in one statement; true when it was absent or expired. `stored` is `value`
   * already passed through the codec (encoded once, before queueing); `value` is cached.
   */
  putEncodedIsNew(
    field: KeyParam,
    value: Uint8Array,
    stored: Uint8Array,
    now: number,
    expiresAt: number | null,
  ): boolean {
    const isNew = this.rows.upsertVersionStmt.get(field, stored, now, expiresAt)!.version === 0;
    this.remember(field, value, expiresAt);
    return isNew;
  }

  /** Writes the field; `stored` is `value` already passed through the codec. */
  putEncoded(
    field: KeyParam,
    value: Uint8Array,
    stored: Uint8Array,
    now: number,
    expiresAt: number | null,
  ): void {
    this.rows.upsert(field, stored, now, expiresAt);
    this.remember(field, value, expiresAt);
  }

  /** Deletes the field; true when it was live. */
  remove(field: KeyParam, now: number): boolean {
    const removed = this.rows.remove(field, now);
    this.cache.set(this.prefix + keyId(field), ABSENT);
    return removed;
  }

  setExpiry(field: KeyParam, expiresAt: number | null): void {
    this.forget(field);
    this.rows.setExpiryStmt.run(field, expiresAt);
  }

  private forget(field: KeyParam): void {
    this.cache.delete(this.prefix + keyId(field));
  }

  /** Write-through after a successful statement (the cache stages it until COMMIT). */
  private remember(field: KeyParam, value: Uint8Array, expiresAt: number | null): void {
    const id = this.prefix + keyId(field);
    if (this.cache.takesWrite(value.length))
      this.cache.set(id, { value: cacheableValue(value), expiresAt });
    else this.cache.delete(id);
  }

  countLive(now: number): number {
    return this.rows.countLiveStmt.get(now)!.n;
  }

  /** Up to `limit` rows after `afterRowid`, expired ones included (callers skip them). */
  page(afterRowid: number, limit: number): FieldRow[] {
    return this.pageStmt.all(afterRowid, limit);
  }

  decode(stored: Uint8Array): Uint8Array {
    return this.codec.decode(stored);
  }
}

/**
 * The namespace tables of one shard. `known` holds every namespace whose table exists in this
 * shard's file; its statements are prepared on first use and kept, so a hot HGET/HSET costs
 * one Map lookup more than GET/SET and never touches sqlite_master.
 */
export class ShardNamespaces {
  private readonly known = new Map<string, NamespaceTable | null>();
  private sweepFrom = 0;

  constructor(
    readonly shard: Shard,
    private readonly codec: ValueCodec,
    private readonly cache: ValueCache,
  ) {
    this.reload();
  }

  /** Re-reads the catalog; used at open and after a failed write may have rolled back DDL. */
  reload(): void {
    this.known.clear();
    const rows = this.shard.db.query(namespaceSql.listTables).all() as { name: string }[];
    for (const { name } of rows) {
      const ns = namespaceOfTable(name);
      if (ns !== null) this.known.set(ns, null);
    }
  }

  /** The namespace's table here, or null when none exists (a read then finds nothing). */
  table(ns: string): NamespaceTable | null {
    const cached = this.known.get(ns);
    if (cached !== undefined) return cached ?? this.prepare(ns);
    return null;
  }

  /**
   * The namespace's table, created when missing. Must run inside this shard's writer
   * transaction: if that transaction rolls back, the caller's failure triggers reload().
   */
  ensure(ns: string): NamespaceTable {
    const existing = this.table(ns);
    if (existing) return existing;
    this.shard.db.run(createTableSql(tableNameOf(ns)));
    this.known.set(ns, null);
    return this.prepare(ns)!;
  }

  /** Drops the namespace's table (inside the writer transaction); returns its live fields. */
  drop(ns: string, now: number): number {
    const table = this.table(ns);
    if (!table) return 0;
    const live = table.countLive(now);
    this.known.delete(ns);
    this.shard.db.run(namespaceSql.dropTable(table.name));
    // A table created again later must not find this one's cached fields (rare: clear all).
    this.cache.clear();
    return live;
  }

  names(): IterableIterator<string> {
    return this.known.keys();
  }

  /**
   * One bounded step of the expiry sweep (inside the writer transaction): visits at most
   * `maxTables` namespace tables, resuming where the last step stopped, and deletes at most
   * `maxRows` expired rows in all. Returns the rows removed and whether the budget ran out.
   */
  sweep(now: number, maxRows: number, maxTables: number): { removed: number; more: boolean } {
    const names = [...this.known.keys()];
    const visits = Math.min(names.length, maxTables);
    let removed = 0;
    let i = 0;
    for (; i < visits && removed < maxRows; i++) {
      const table = this.table(names[(this.sweepFrom + i) % names.length]!);
      if (table) removed += table.rows.sweepStmt.run(now, maxRows - removed).changes;
    }
    this.sweepFrom = names.length === 0 ? 0 : (this.sweepFrom + i) % names.length;
    return { removed, more: removed >= maxRows };
  }

  private prepare(ns: string): NamespaceTable | null {
    try {
      const table = new NamespaceTable(this.shard.db, tableNameOf(ns), this.codec, this.cache);
      this.known.set(ns, table);
      return table;
    } catch {
      // The table vanished behind our back (e.g. dropped with the sqlite3 shell): forget it.
      this.known.delete(ns);
      return null;
    }
  }
}

/** A page of a namespace's rows in one shard, for HGETALL/HSCAN-style iteration. */
export interface FieldPage {
  shard: number;
  table: NamespaceTable;
  rows: FieldRow[];
}

/** Every shard's namespace tables; one instance per Store (Store.namespaces). */
export class Namespaces {
  readonly shards: ShardNamespaces[];
  /** With async_write: each shard's pending field writes (inflight-fields.ts). */
  private overlay: PendingFields[] | null = null;

  /** `caches[i]` is shard i's value cache, shared with its plain keys. */
  constructor(shards: readonly Shard[], codec: ValueCodec, caches: readonly ValueCache[]) {
    this.shards = shards.map((shard, i) => new ShardNamespaces(shard, codec, caches[i]!));
  }

  /** Routes field reads and writes through pending-write overlays (async_write). */
  useOverlay(overlay: PendingFields[]): void {
    this.overlay = overlay;
  }

  /** True when field writes are applied to an overlay at once rather than queued (async). */
  get overlaid(): boolean {
    return this.overlay !== null;
  }

  /** The overlays, empty without async_write (FLUSHDB clears them). */
  get pending(): readonly PendingFields[] {
    return this.overlay ?? [];
  }

  /**
   * The namespace in this shard as commands see it, or null when it has no field here. Inside
   * a writer flush, or without async_write, that is the table itself.
   */
  table(shard: number, ns: string): FieldRows | null {
    const overlay = this.overlay?.[shard];
    const table = this.shards[shard]!.table(ns);
    if (!overlay || overlay.scheduler.flushing) return table;
    return table !== null || overlay.hasPending(ns) ? overlay.view(ns) : null;
  }

  /** Like table(), creating the namespace's table when missing (inside a writer transaction). */
  ensure(shard: number, ns: string): FieldRows {
    const overlay = this.overlay?.[shard];
    if (!overlay || overlay.scheduler.flushing) return this.shards[shard]!.ensure(ns);
    return overlay.view(ns);
  }

  /** Names of all namespaces with a table in at least one shard, sorted. */
  names(): string[] {
    const all = new Set<string>();
    for (const s of this.shards) for (const ns of s.names()) all.add(ns);
    return [...all].sort();
  }

  /**
   * A namespace's rows in (shard, rowid) order, `pageRows` at a time, starting after
   * (`fromShard`, `afterRowid`). Memory stays bounded by one page whatever the namespace's
   * size; rowids survive upserts, so a (shard, rowid) cursor is stable between calls.
   */
  *pages(ns: string, pageRows: number, fromShard = 0, afterRowid = 0): Generator<FieldPage> {
    let after = afterRowid;
    for (let shard = fromShard; shard < this.shards.length; shard++, after = 0) {
      const table = this.shards[shard]!.table(ns);
      if (!table) continue;
      for (;;) {
        const rows = table.page(after, pageRows);
        if (rows.length === 0) break;
        yield { shard, table, rows };
        if (rows.length < pageRows) break;
        after = rows[rows.length - 1]!.rowid;
      }
    }
  }
}
