/**
 * A hash's fields, read and written the same way whatever its encoding: small hashes inline
 * in their key row (inline-hash.ts, Redis's listpack; the writer is here), large ones as rows
 * of the fields table (sql.ts, Redis's hashtable; the writer is in table-hash.ts). Both keep insertion order: an overwritten field keeps its
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

import { type KeyParam, keyParam } from "../engine/keys.ts";
import type { ExpiryMs } from "../engine/shard.ts";
import { ROW_HASH_INLINE, ROW_HASH_TABLE } from "../engine/sql.ts";
import type { LargeRef } from "../large/format.ts";
import {
  bytesEqual,
  decodeInline,
  encodeInline,
  type FieldItem,
  inlineFind,
} from "./inline-hash.ts";
import type { FieldEntry, FieldPage, HashHost, HashLimits, HashWriter } from "./rows.ts";
import { live, TableHashWriter } from "./table-hash.ts";

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
