/**
 * The writer of a large hash (hash-rows.ts has the file's story and the small-hash writer):
 * each operation is a statement on the fields table, reads go through the value cache.
 */

import type { CachedRow } from "../engine/cache.ts";
import { type KeyParam, keyBytes, keyId, keyParam } from "../engine/keys.ts";
import { ROW_HASH_TABLE } from "../engine/sql.ts";
import { decodeRef, encodeRef, isFieldRef, type LargeRef } from "../large/format.ts";
import type { FieldItem } from "./inline-hash.ts";
import type { FieldEntry, FieldPage, HashHost, HashWriter } from "./rows.ts";

const ABSENT_FIELD: CachedRow = Object.freeze({
  value: null,
  expiresAt: null,
  type: ROW_HASH_TABLE,
});

/** Whether a field (or a stored field row) has not expired at `now`. */
export function live(item: { expiresAt: number | null }, now: number): boolean {
  return item.expiresAt === null || item.expiresAt > now;
}

/** What put() needs of a field's old row when the cache says it has one without a TTL. */
const PRESENT_NO_TTL = Object.freeze({ expires_at: null });

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
    const known = this.cachedState(param);
    const old =
      known === "absent"
        ? null
        : known === "present"
          ? PRESENT_NO_TTL
          : s.fieldGetStmt.get(this.id, param);
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

  /**
   * The field's row as the value cache knows it, sparing put() a SQL read: absent, or present
   * without a TTL. A cached field with a TTL may have been swept from the table since (the
   * sweep does not touch the cache), so put() reads those, as it reads uncached ones (null).
   * Every write of a field replaces its entry, and a new life of the hash has a new prefix.
   */
  private cachedState(param: KeyParam): "absent" | "present" | null {
    const cached = this.table.cache.get(this.prefix + keyId(param));
    if (cached === undefined) return null;
    if (cached.value === null) return "absent";
    return cached.expiresAt === null ? "present" : null;
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
