/**
 * The default `blobs` table of one shard as commands see it: RowTable is the interface write
 * closures and reads use; KeyTable implements it over SQLite with the codec, the expiry rule
 * and the value cache applied, and touches WATCHed keys. Knows nothing of the protocol.
 */
import { StorageError } from "../errors.ts";
import { type CachedRow, cacheableValue, expiryNumber, isLive, type ValueCache } from "./cache.ts";
import type { ValueCodec } from "./codecs/codec.ts";
import { type KeyParam, keyId } from "./keys.ts";
import type { ExpiryMs, TableStatements } from "./shard.ts";
import type { KeyWatches } from "./watch.ts";

export interface LiveEntry {
  value: Uint8Array;
  expiresAt: number | null;
}

/**
 * What write closures and reads see of one shard's default table. In the default mode it is
 * the KeyTable itself (SQL inside the writer's transaction); with async_write it is the
 * pending-writes overlay (inflight.ts). Closures must touch rows only through this view.
 */
export interface RowTable {
  readonly shardIndex: number;
  live(key: KeyParam, now: number): LiveEntry | null;
  has(key: KeyParam, now: number): boolean;
  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void;
  /** True when a live row was removed. */
  remove(key: KeyParam, now: number): boolean;
  /** Changes the expiry of an existing row. */
  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void;
  /** The live row's expiry exactly as stored (bigint beyond 2^53), for TTL replies. */
  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined;
}

/**
 * Row operations on the default table of one shard, with expiry and codec applied and the
 * value cache kept coherent (see cache.ts: writes drop the key, reads fill it).
 */
export class KeyTable implements RowTable {
  constructor(
    readonly shardIndex: number,
    readonly statements: TableStatements,
    private readonly codec: ValueCodec,
    readonly cache: ValueCache,
    private readonly watches: KeyWatches,
  ) {}

  live(key: KeyParam, now: number): LiveEntry | null {
    const id = keyId(key);
    let row = this.cache.get(id);
    if (row === undefined) {
      const stored = this.statements.getStmt.get(key);
      row =
        stored === null
          ? ABSENT
          : { value: this.decode(key, stored.value), expiresAt: stored.expires_at };
      this.cache.set(id, row);
    }
    return isLive(row, now) ? (row as LiveEntry) : null;
  }

  has(key: KeyParam, now: number): boolean {
    return this.live(key, now) !== null;
  }

  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    const id = keyId(key);
    this.watches.touch(id);
    const stored = this.codec.encode(value);
    this.statements.upsert(key, stored, now, expiresAt);
    // Write-through, after the statement succeeded (cache.ts stages it until COMMIT).
    if (this.cache.takesWrite(value.length)) {
      const cached = cacheableValue(value);
      this.cache.set(id, { value: cached, expiresAt: expiryNumber(expiresAt) });
    } else this.cache.delete(id);
  }

  remove(key: KeyParam, now: number): boolean {
    const id = keyId(key);
    this.watches.touch(id);
    const removed = this.statements.remove(key, now);
    this.cache.set(id, ABSENT);
    return removed;
  }

  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void {
    const id = keyId(key);
    this.cache.delete(id);
    this.watches.touch(id);
    this.statements.setExpiryStmt.run(key, expiresAt);
  }

  /** Decodes a stored value; a corrupt one becomes a StorageError naming shard and key. */
  private decode(key: KeyParam, stored: Uint8Array): Uint8Array {
    try {
      return this.codec.decode(stored);
    } catch (error) {
      throw new StorageError(
        `${(error as Error).message} at key ${printableKey(key)}`,
        this.shardIndex,
        "read",
        {
          cause: error,
        },
      );
    }
  }

  /** Marks the key as written for WATCH (the overlay calls this for pending writes). */
  touch(id: string): void {
    this.watches.touch(id);
  }

  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined {
    const entry = this.live(key, now);
    if (entry === null) return undefined;
    if (entry.expiresAt === null || entry.expiresAt <= Number.MAX_SAFE_INTEGER)
      return entry.expiresAt;
    return this.statements.exactExpiryStmt.get(key)?.expires_at ?? null;
  }
}

const ABSENT: CachedRow = Object.freeze({ value: null, expiresAt: null });

/** A key for log lines: at most 64 characters, control bytes escaped. */
function printableKey(key: KeyParam): string {
  const text = typeof key === "string" ? key : Buffer.from(key).toString("latin1");
  const short = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(short);
}
