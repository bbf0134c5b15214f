/**
 * A hash's fields, read and written the same way whatever its encoding: small hashes inline
 * in their key row (inline-hash.ts, Redis's listpack), large ones as rows of the fields table
 * (sql.ts, Redis's hashtable). Both keep insertion order: an overwritten field keeps its
 * place, a deleted and re-added one moves to the end, as in a Redis listpack.
 *
 * A small hash becomes large once it holds more than `maxEntries` fields or a field or value
 * longer than `maxValueBytes` (Redis's hash-max-listpack-entries / -value, so OBJECT ENCODING
 * agrees with Redis); a large hash never shrinks back, as in Redis.
 *
 * Writers exist only inside the shard's writer transaction. An inline writer edits a copy of
 * the fields and writes the key row once, in save(); a table writer writes each field as it
 * goes and save() drops the key when no field is left. Every write path ends with save().
 */

import type { CachedRow } from "../engine/cache.ts";
import { type KeyParam, keyBytes, keyId, keyParam } from "../engine/keys.ts";
import type { ExpiryMs } from "../engine/shard.ts";
import { ROW_HASH_INLINE, ROW_HASH_TABLE } from "../engine/sql.ts";
import { decodeRef, encodeRef, isFieldRef, type LargeRef } from "../large/format.ts";
import {
  bytesEqual,
  decodeInline,
  encodeInline,
  type FieldItem,
  inlineFind,
} from "./inline-hash.ts";
import type { FieldEntry, FieldPage, HashHost, HashLimits, HashWriter } from "./rows.ts";

const ABSENT_FIELD: CachedRow = Object.freeze({
  value: null,
  expiresAt: null,
  type: ROW_HASH_TABLE,
});

function live(item: { expiresAt: number | null }, now: number): boolean {
  return item.expiresAt === null || item.expiresAt > now;
}

/** A small hash: the decoded fields of its key row, written back whole by save(). */
export class InlineHashWriter implements HashWriter {
  readonly encoding = "listpack" as const;
  private dirty = false;
  /** Decoded on first need: a lone HGET scans `bytes` instead (inlineFind). */
  private decoded: FieldItem[] | null;
  /** Set once a field kept in a file made this hash a large one: everything goes there. */
  private moved: TableHashWriter | null = null;

  constructor(
    private readonly table: HashHost,
    private readonly key: KeyParam,
    items: FieldItem[] | null,
    /** The key's own TTL, kept on every rewrite. */
    private readonly keyExpiry: ExpiryMs | null,
    private readonly limits: HashLimits,
    private readonly bytes: Uint8Array | null = null,
  ) {
    this.decoded = items;
  }

  static open(
    table: HashHost,
    key: KeyParam,
    bytes: Uint8Array,
    keyExpiry: ExpiryMs | null,
    limits: HashLimits,
  ): InlineHashWriter {
    return new InlineHashWriter(table, key, null, keyExpiry, limits, bytes);
  }

  private get items(): FieldItem[] {
    this.decoded ??= decodeInline(this.bytes!);
    return this.decoded;
  }

  private find(field: Uint8Array): number {
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (bytesEqual(items[i]!.field, field)) return i;
    return -1;
  }

  get(field: Uint8Array, now: number): FieldEntry | null {
    if (this.moved) return this.moved.get(field, now);
    if (this.decoded === null) {
      const item = inlineFind(this.bytes!, field);
      return item !== null && live(item, now) ? item : null;
    }
    const i = this.find(field);
    if (i < 0) return null;
    const item = this.items[i]!;
    return live(item, now) ? item : null;
  }

  len(now: number): number {
    if (this.moved) return this.moved.len(now);
    let n = 0;
    for (const item of this.items) if (live(item, now)) n++;
    return n;
  }

  page(after: number, limit: number, now: number): FieldPage {
    if (this.moved) return this.moved.page(after, limit, now);
    // The cursor is a position; a small hash is returned whole, as Redis's HSCAN does.
    void limit;
    const items = this.items.slice(after).filter((item) => live(item, now));
    return { items, next: 0 };
  }

  set(field: Uint8Array, value: Uint8Array, expiresAt: number | null, now: number): boolean {
    if (this.moved) return this.moved.set(field, value, expiresAt, now);
    this.dirty = true;
    const i = this.find(field);
    if (i >= 0) {
      const old = this.items[i]!;
      if (live(old, now)) {
        this.items[i] = { field: old.field, value, expiresAt };
        return false;
      }
      this.items.splice(i, 1);
    }
    this.items.push({ field, value, expiresAt });
    return true;
  }

  setExpiry(field: Uint8Array, expiresAt: number | null, now: number): void {
    if (this.moved) {
      this.moved.setExpiry(field, expiresAt, now);
      return;
    }
    const i = this.find(field);
    if (i < 0 || !live(this.items[i]!, now)) return;
    this.dirty = true;
    this.items[i] = { ...this.items[i]!, expiresAt };
  }

  delete(field: Uint8Array, now: number): boolean {
    if (this.moved) return this.moved.delete(field, now);
    const i = this.find(field);
    if (i < 0) return false;
    const wasLive = live(this.items[i]!, now);
    this.items.splice(i, 1);
    this.dirty = true;
    return wasLive;
  }

  save(now: number): void {
    if (this.moved) {
      this.moved.save(now);
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    // Expired fields are dropped whenever the hash is rewritten anyway.
    const kept = this.items.filter((item) => live(item, now));
    if (kept.length === 0) {
      this.table.remove(this.key, now);
      return;
    }
    if (this.outgrown(kept)) {
      convertToTable(this.table, this.key, kept, this.keyExpiry, now);
      return;
    }
    this.table.putRow(this.key, ROW_HASH_INLINE, encodeInline(kept), now, this.keyExpiry);
  }

  /**
   * A field kept in a file (HSET's streamed value): no inline encoding holds one, so the hash
   * becomes a large one now, with the fields it has, and this writer hands everything on.
   */
  setFile(field: Uint8Array, ref: LargeRef, expiresAt: number | null, now: number): boolean {
    if (this.moved === null) {
      convertToTable(
        this.table,
        this.key,
        this.items.filter((item) => live(item, now)),
        this.keyExpiry,
        now,
      );
      const { id } = this.table.statements.hashRowStmt.get(this.key)!;
      this.moved = new TableHashWriter(this.table, this.key, id, this.table.nextHashGeneration());
      this.dirty = false;
    }
    return this.moved.setFile(field, ref, expiresAt, now);
  }

  private outgrown(items: FieldItem[]): boolean {
    if (items.length > this.limits.maxEntries) return true;
    const max = this.limits.maxValueBytes;
    for (const item of items) if (item.field.length > max || item.value.length > max) return true;
    return false;
  }
}

/** Rewrites a key as a large hash holding `items` (in this order). */
function convertToTable(
  table: HashHost,
  key: KeyParam,
  items: FieldItem[],
  keyExpiry: ExpiryMs | null,
  now: number,
): void {
  const s = table.statements;
  table.putRow(key, ROW_HASH_TABLE, new Uint8Array(0), now, keyExpiry);
  const { id } = s.hashRowStmt.get(key)!;
  for (const item of items) {
    s.fieldUpsertStmt.run(
      id,
      keyParam(item.field),
      table.encodeField(key, item.value),
      item.expiresAt,
    );
  }
  s.addFieldsStmt.run(id, items.length);
}

/**
 * A large hash: each operation is a statement on the fields table. Field reads go through the
 * shard's value cache under `\udc00<generation>\u0000<field id>`: a lone low surrogate no key
 * id starts with, and a generation drawn when the key row was loaded (KeyEntry.gen), so every
 * cached field belongs to exactly one life of one hash. Every field write replaces its entry
 * (staged until COMMIT, as for keys).
 */
export class TableHashWriter implements HashWriter {
  readonly encoding = "hashtable" as const;
  private touched = false;
  /** The field count, read when first needed (HGET never needs it). */
  private counted: number | null = null;
  private readonly prefix: string;

  constructor(
    private readonly table: HashHost,
    private readonly key: KeyParam,
    private readonly id: number,
    gen: number,
  ) {
    this.prefix = `\udc00${gen}\u0000`;
  }

  private get count(): number {
    this.counted ??= this.table.statements.hashRowStmt.get(this.key)?.fields ?? 0;
    return this.counted;
  }

  private set count(n: number) {
    this.counted = n;
  }

  get(field: Uint8Array, now: number): FieldEntry | null {
    const param = keyParam(field);
    const id = this.prefix + keyId(param);
    const cache = this.table.cache;
    let row = cache.get(id);
    if (row === undefined) {
      const stored = this.table.statements.fieldGetStmt.get(this.id, param);
      // A value kept in a file is read only when used, and never cached (it is large).
      if (stored !== null && isFieldRef(stored.value))
        return live({ expiresAt: stored.expires_at }, now)
          ? this.fileField(decodeRef(stored.value), stored.expires_at)
          : null;
      row =
        stored === null
          ? ABSENT_FIELD
          : {
              value: this.table.decode(this.key, stored.value),
              expiresAt: stored.expires_at,
              type: ROW_HASH_TABLE,
            };
      cache.set(id, row);
    }
    if (row.value === null || !live(row, now)) return null;
    return row as FieldEntry;
  }

  /** A field kept in a file, its bytes read on first use (`field` given for page items). */
  private fileField(ref: LargeRef, expiresAt: number | null): FieldEntry;
  private fileField(ref: LargeRef, expiresAt: number | null, field: Uint8Array): FieldItem;
  private fileField(
    ref: LargeRef,
    expiresAt: number | null,
    field?: Uint8Array,
  ): FieldEntry | FieldItem {
    const table = this.table;
    const key = this.key;
    let bytes: Uint8Array | null = null;
    return {
      ...(field ? { field } : {}),
      expiresAt,
      large: ref,
      get value(): Uint8Array {
        bytes ??= table.readFile(key, ref);
        return bytes;
      },
    };
  }

  /** Keeps the field's cache entry equal to what was just written. */
  private remember(field: KeyParam, value: Uint8Array | null, expiresAt: number | null): void {
    const id = this.prefix + keyId(field);
    const cache = this.table.cache;
    if (value !== null && cache.takesWrite(value.length))
      cache.set(id, { value, expiresAt, type: ROW_HASH_TABLE });
    else if (value === null) cache.set(id, ABSENT_FIELD);
    else cache.delete(id);
  }

  len(now: number): number {
    return this.count - this.table.statements.fieldCountExpiredStmt.get(this.id, now)!.n;
  }

  page(after: number, limit: number, now: number): FieldPage {
    const rows = this.table.statements.fieldPageStmt.all(this.id, after, limit);
    const items: FieldItem[] = [];
    for (const row of rows) {
      if (row.expires_at !== null && row.expires_at <= now) continue;
      const field = keyBytes(row.field);
      items.push(
        isFieldRef(row.value)
          ? this.fileField(decodeRef(row.value), row.expires_at, field)
          : { field, value: this.table.decode(this.key, row.value), expiresAt: row.expires_at },
      );
    }
    const next = rows.length < limit ? 0 : rows[rows.length - 1]!.rowid;
    return { items, next };
  }

  set(field: Uint8Array, value: Uint8Array, expiresAt: number | null, now: number): boolean {
    return this.put(field, this.table.encodeField(this.key, value), value, expiresAt, now);
  }

  setFile(field: Uint8Array, ref: LargeRef, expiresAt: number | null, now: number): boolean {
    return this.put(field, encodeRef(ref), null, expiresAt, now);
  }

  /** Writes a field's stored form; `value` is its bytes when at hand (for the cache). */
  private put(
    field: Uint8Array,
    stored: Uint8Array,
    value: Uint8Array | null,
    expiresAt: number | null,
    now: number,
  ): boolean {
    const s = this.table.statements;
    const param = keyParam(field);
    const old = s.fieldGetStmt.get(this.id, param);
    s.fieldUpsertStmt.run(this.id, param, stored, expiresAt);
    if (value !== null) this.remember(param, value.slice(), expiresAt);
    else this.table.cache.delete(this.prefix + keyId(param));
    this.touched = true;
    if (old === null) {
      this.count++;
      s.addFieldsStmt.run(this.id, 1);
      return true;
    }
    return !live({ expiresAt: old.expires_at }, now);
  }

  setExpiry(field: Uint8Array, expiresAt: number | null, _now: number): void {
    const param = keyParam(field);
    this.table.statements.fieldSetExpiryStmt.run(this.id, param, expiresAt);
    this.table.cache.delete(this.prefix + keyId(param));
    this.touched = true;
  }

  delete(field: Uint8Array, now: number): boolean {
    const s = this.table.statements;
    const param = keyParam(field);
    const row = s.fieldDeleteStmt.get(this.id, param);
    this.remember(param, null, null);
    if (row === null) return false;
    this.touched = true;
    this.count--;
    s.addFieldsStmt.run(this.id, -1);
    return live({ expiresAt: row.expires_at }, now);
  }

  save(now: number): void {
    if (!this.touched) return;
    this.touched = false;
    this.table.touch(this.table.idOf(this.key));
    if (this.count <= 0) this.table.remove(this.key, now);
  }
}
