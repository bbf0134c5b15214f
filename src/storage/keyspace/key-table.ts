/**
 * One Redis database's keys in one shard as commands see them: RowTable is the interface write
 * closures and reads use; KeyTable implements it over SQLite with the codec, the expiry rule,
 * the row types (string, small hash, large hash: sql.ts) and the value cache applied, and
 * touches WATCHed keys. String reads of a hash, and hash reads of a string, throw WRONGTYPE
 * here, once, for every command. Knows nothing of the protocol.
 */
import { errors, StorageError } from "../../errors.ts";
import type { ValueCodec } from "../codecs/codec.ts";
import {
  type CachedRow,
  cacheableValue,
  expiryNumber,
  isLive,
  type ValueCache,
} from "../engine/cache.ts";
import { type KeyParam, keyId, keyOfId } from "../engine/keys.ts";
import type { ExpiryMs, KeyspaceStatements } from "../engine/shard.ts";
import {
  KNOWN_ROW_TYPES,
  ROW_HASH_INLINE,
  ROW_HASH_TABLE,
  ROW_STRING,
  ROW_STRING_FILE,
  type RowType,
} from "../engine/sql.ts";
import type { KeyWatches } from "../engine/watch.ts";
import { decodeRef, encodeRef, isFieldRef, type LargeRef } from "../large/format.ts";
import { fileEntry, fileOp, printableKey, readWhole } from "./file-rows.ts";
import { InlineHashWriter } from "./hash-rows.ts";
import { inlineHasLive } from "./inline-hash.ts";
import type {
  HashHost,
  HashLimits,
  HashView,
  HashWriter,
  KeyEntry,
  KeyRows,
  LiveEntry,
  ScanRow,
} from "./rows.ts";
import { TableHashWriter } from "./table-hash.ts";

const EMPTY = new Uint8Array(0);

/**
 * Row operations on one database's keys in one shard, with expiry and codec applied and the
 * value cache kept coherent (see cache.ts: writes replace the entry, reads fill it). Large
 * hashes are never cached: their key row changes with every field count.
 */
export class KeyTable implements HashHost, KeyRows {
  /** The last cache generation drawn for a large hash (see KeyEntry.gen). */
  private hashGenerations = 0;
  /** Prefix of this database's cache and WATCH ids ("" for database 0, the hot path). */
  private readonly idPrefix: string;

  constructor(
    readonly shardIndex: number,
    readonly db: number,
    readonly statements: KeyspaceStatements,
    private readonly codec: ValueCodec,
    readonly cache: ValueCache,
    private readonly watches: KeyWatches,
    readonly hashLimits: HashLimits,
  ) {
    // A lone high surrogate never occurs in decoded UTF-8 nor starts a binary key's id.
    this.idPrefix = db === 0 ? "" : `\udbff${db}\u0000`;
  }

  /** The key bytes of a WATCH id of this database, or null when the id is another's. */
  keyOfId(id: string): Uint8Array | null {
    if (this.idPrefix === "") return id.startsWith("\udbff") ? null : keyOfId(id);
    return id.startsWith(this.idPrefix) ? keyOfId(id.slice(this.idPrefix.length)) : null;
  }

  /** Called when a read finds `key` past its TTL (lazy-expiry.ts); set by the Keyspace. */
  onExpiredRead: ((key: KeyParam, expiresAt: number) => void) | null = null;

  /** A cache generation for a large hash's fields, never used before (KeyEntry.gen). */
  nextHashGeneration(): number {
    return ++this.hashGenerations;
  }

  /** The cache and WATCH id of a key in this database. */
  idOf(key: KeyParam): string {
    return this.idPrefix === "" ? keyId(key) : this.idPrefix + keyId(key);
  }

  entry(key: KeyParam, now: number): KeyEntry | null {
    const id = this.idOf(key);
    let row = this.cache.get(id);
    if (row === undefined) {
      const stored = this.statements.getStmt.get(key);
      if (stored === null) row = ABSENT;
      else if (!KNOWN_ROW_TYPES.has(stored.type)) {
        throw new StorageError(
          `row type ${stored.type} at key ${printableKey(key)} is unknown to this server (written by a newer version?)`,
          this.shardIndex,
          "read",
        );
      } else if (stored.type === ROW_STRING_FILE) {
        // Never cached: the entry is a reference, and its bytes are read only on demand.
        if (stored.expires_at !== null && stored.expires_at <= now) {
          this.onExpiredRead?.(key, stored.expires_at);
          return null;
        }
        return fileEntry(this, key, stored.value, stored.expires_at);
      } else if (stored.type === ROW_HASH_TABLE) {
        // A large hash left without fields is about to be dropped (save(), the sweep).
        if (stored.fields <= 0) return null;
        row = {
          value: EMPTY,
          expiresAt: stored.expires_at,
          type: ROW_HASH_TABLE,
          id: stored.id,
          gen: this.nextHashGeneration(),
        };
      } else {
        row = {
          value: this.decode(key, stored.value),
          expiresAt: stored.expires_at,
          type: stored.type,
        };
      }
      this.cache.set(id, row);
    }
    if (!isLive(row, now)) {
      if (row.value !== null) this.onExpiredRead?.(key, row.expiresAt!);
      return null;
    }
    if (row.type === ROW_HASH_INLINE && !inlineHasLive(row.value, now)) return null;
    return row as KeyEntry;
  }

  /** Whether `key`'s row is still stored with this expiry; else its cached row is dropped. */
  holdsExpiry(key: KeyParam, expiresAt: number): boolean {
    const stored = this.statements.exactExpiryStmt.get(key);
    if (stored !== null && Number(stored.expires_at) === expiresAt) return true;
    this.cache.delete(this.idOf(key));
    return false;
  }

  live(key: KeyParam, now: number): LiveEntry | null {
    const row = this.entry(key, now);
    if (row !== null && row.type !== ROW_STRING) throw errors.wrongType();
    return row;
  }

  patchFile(
    key: KeyParam,
    ref: LargeRef,
    offset: number,
    patch: Uint8Array,
    now: number,
    expiresAt: ExpiryMs | null,
  ): number {
    const next = fileOp(
      this.statements.large,
      this.shardIndex,
      key,
      "changing a large value",
      (l) => l.patch(ref, offset, patch),
    );
    this.putFile(key, next, now, expiresAt);
    return next.size;
  }

  /** A new name for a file row's file (key-moves.ts); a StorageError names the key. */
  linkFile(key: KeyParam, ref: LargeRef): LargeRef {
    return fileOp(this.statements.large, this.shardIndex, key, "linking a large value", (l) =>
      l.link(ref),
    );
  }

  /** The whole value of a file row (commands that cannot stream). */
  readFile(key: KeyParam, ref: LargeRef): Uint8Array {
    return fileOp(this.statements.large, this.shardIndex, key, "reading a large value", (l) =>
      readWhole(l, ref),
    );
  }

  /**
   * Points `key` at a large-value file already durable under large/ (upload.ts persist()),
   * replacing a key of any type; the old file, if any, becomes garbage through the trigger.
   */
  putFile(key: KeyParam, ref: LargeRef, now: number, expiresAt: ExpiryMs | null): void {
    const id = this.idOf(key);
    this.watches.touch(id);
    this.statements.upsertStmt.run(
      key,
      encodeRef(ref),
      now,
      expiresAt,
      ROW_STRING_FILE,
      this.statements.slotOf(key),
    );
    this.cache.delete(id);
  }

  has(key: KeyParam, now: number): boolean {
    return this.entry(key, now) !== null;
  }

  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    const large = this.statements.large;
    if (large !== null && value.length > large.thresholdBytes) {
      // A large value a command built in memory (APPEND, SETRANGE, COPY, MSET…): to a file,
      // like a streamed SET, so SQLite never holds it and GET can stream it.
      this.putFile(key, this.writeFile(key, value), now, expiresAt);
      return;
    }
    const id = this.idOf(key);
    this.watches.touch(id);
    const stored = this.codec.encode(value);
    this.statements.upsertStmt.run(
      key,
      stored,
      now,
      expiresAt,
      ROW_STRING,
      this.statements.slotOf(key),
    );
    // Write-through, after the statement succeeded (cache.ts stages it until COMMIT).
    if (this.cache.takesWrite(value.length)) {
      const cached = cacheableValue(value);
      this.cache.set(id, { value: cached, expiresAt: expiryNumber(expiresAt), type: ROW_STRING });
    } else this.cache.delete(id);
  }

  putRow(
    key: KeyParam,
    type: RowType,
    value: Uint8Array,
    now: number,
    expiresAt: ExpiryMs | null,
  ): void {
    if (type === ROW_STRING) {
      this.put(key, value, now, expiresAt);
      return;
    }
    const id = this.idOf(key);
    this.watches.touch(id);
    const stored = this.codec.encode(value);
    this.statements.upsertStmt.run(key, stored, now, expiresAt, type, this.statements.slotOf(key));
    // Row values other than strings are built fresh for this write: cached without a copy.
    if (type === ROW_HASH_INLINE && this.cache.takesWrite(value.length)) {
      this.cache.set(id, { value, expiresAt: expiryNumber(expiresAt), type });
    } else this.cache.delete(id);
  }

  remove(key: KeyParam, now: number): boolean {
    const id = this.idOf(key);
    this.watches.touch(id);
    const row = this.statements.deleteStmt.get(key);
    this.cache.set(id, ABSENT);
    return row !== null && (row.expires_at === null || row.expires_at > now);
  }

  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void {
    const id = this.idOf(key);
    this.cache.delete(id);
    this.watches.touch(id);
    this.statements.setExpiryStmt.run(key, expiresAt);
  }

  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined {
    const entry = this.entry(key, now);
    if (entry === null) return undefined;
    if (entry.expiresAt === null || entry.expiresAt <= Number.MAX_SAFE_INTEGER)
      return entry.expiresAt;
    return this.statements.exactExpiryStmt.get(key)?.expires_at ?? null;
  }

  hash(key: KeyParam, now: number): HashView | null {
    const row = this.entry(key, now);
    if (row === null) return null;
    if (row.type === ROW_STRING) throw errors.wrongType();
    return this.openHash(key, row, now);
  }

  /**
   * The hash at `key` for writing, created empty when absent; WRONGTYPE when it holds a
   * string. Only inside this shard's writer transaction; the caller ends with save().
   */
  hashWriter(key: KeyParam, now: number): HashWriter {
    const row = this.entry(key, now);
    if (row === null) {
      // A dead row (expired key, or a hash whose fields all expired) is dropped first, so a
      // large hash's stale fields never join the new one. entry() just cached an absent key
      // as ABSENT, so only a dead row costs a second look.
      if (this.cache.get(this.idOf(key))?.value !== null && this.statements.getStmt.get(key))
        this.remove(key, now);
      return new InlineHashWriter(this, key, [], null, this.hashLimits);
    }
    if (row.type === ROW_STRING) throw errors.wrongType();
    return this.openHash(key, row, now);
  }

  private openHash(key: KeyParam, row: KeyEntry, now: number): InlineHashWriter | TableHashWriter {
    const expiresAt = row.expiresAt !== null ? (this.exactExpiry(key, now) ?? null) : null;
    if (row.type === ROW_HASH_INLINE) {
      return InlineHashWriter.open(this, key, row.value, expiresAt, this.hashLimits);
    }
    return new TableHashWriter(this, key, row.id!, row.gen!);
  }

  /** Decodes a stored value; a corrupt one becomes a StorageError naming shard and key. */
  decode(key: KeyParam, stored: Uint8Array): Uint8Array {
    // A hash field kept in a file (format 4): its stored value is the file's reference.
    if (isFieldRef(stored)) return this.readFile(key, decodeRef(stored));
    try {
      return this.codec.decode(stored);
    } catch (error) {
      throw new StorageError(
        `${(error as Error).message} at key ${printableKey(key)}`,
        this.shardIndex,
        "read",
        { cause: error },
      );
    }
  }

  /**
   * A large hash's field value as stored: past the large-value threshold its bytes go to a
   * durable file and the row keeps the reference (written once, never through the WAL).
   */
  encodeField(key: KeyParam, value: Uint8Array): Uint8Array {
    const large = this.statements.large;
    if (large === null || value.length <= large.thresholdBytes) return this.codec.encode(value);
    return encodeRef(this.writeFile(key, value));
  }

  /** A value built in memory, written whole to a new durable file under large/. */
  private writeFile(key: KeyParam, value: Uint8Array): LargeRef {
    return fileOp(this.statements.large, this.shardIndex, key, "writing a large value", (l) =>
      l.writeWhole(value),
    );
  }

  encode(value: Uint8Array): Uint8Array {
    return this.codec.encode(value);
  }

  /** Marks the key as written for WATCH (the overlay calls this for pending writes). */
  touch(id: string): void {
    this.watches.touch(id);
  }

  /**
   * Up to `limit` rows after rowid `after`, in rowid order, expired ones included (the caller
   * skips them by `expires_at`): SCAN, KEYS and a cluster slot's keys walk the table this way.
   * Rowids are kept by upserts, so a cursor stays valid while keys are written.
   */
  scanPage(after: number, limit: number): ScanRow[] {
    return this.statements.scanStmt.all(after, limit);
  }

  /** Lazy expiry's delete, only of the expiry a read found (a key rewritten since stays). */
  deleteExpired(key: KeyParam, expiresAt: number): boolean {
    const removed = this.statements.deleteExpiredStmt.get(key, expiresAt) !== null;
    if (removed) this.cache.delete(this.idOf(key));
    return removed;
  }

  /** A live key picked at random (RANDOMKEY), or null when none is found. */
  randomKey(now: number): KeyParam | null {
    const s = this.statements;
    const max = s.maxRowidStmt.get()?.m ?? null;
    if (max === null) return null;
    const pick = 1 + Math.floor(Math.random() * max);
    const row = s.randomAfterStmt.get(pick, now) ?? s.randomAfterStmt.get(0, now);
    return row && this.has(row.key, now) ? row.key : null;
  }

  /**
   * Renames a key row in place (its rowid, and with it a large hash's fields, stay): RENAME
   * of a large hash within one shard. Any row at `dst` goes first; both cache entries are
   * forgotten and both keys' WATCHers woken, since this bypasses the row methods.
   */
  renameRow(src: KeyParam, dst: KeyParam, now: number): void {
    this.remove(dst, now);
    this.statements.renameStmt.run(src, dst, this.statements.slotOf(dst));
    for (const key of [src, dst]) {
      const id = this.idOf(key);
      this.cache.delete(id);
      this.touch(id);
    }
  }
}

const ABSENT: CachedRow = Object.freeze({ value: null, expiresAt: null, type: ROW_STRING });
