/**
 * A byte-bounded cache of committed rows in front of one shard's tables, so hot GETs skip
 * SQLite. Reads fill it and writes fill it too (write-through: a value just written is the
 * one most likely read next, and a GET after a SET must not pay for a SQLite read).
 *
 * Coherence rule: the cache only ever holds committed rows. While the shard has a write
 * transaction open (begin() .. commit()/rollback(), driven by Shard), every set or delete is
 * staged: kept aside, visible to reads inside the same transaction, and published only by
 * commit(). A rollback discards the staged entries, so nothing uncommitted is ever served.
 * Eviction is FIFO by first insertion (Map order), which costs nothing on hits. Absent keys
 * are cached as well. The caches of a store share one byte budget (CacheBudget).
 */
import type { LargeRef } from "../large/format.ts";

export interface CachedRow {
  /** null when the key is known to be absent. */
  value: Uint8Array | null;
  expiresAt: number | null;
  /** The row type (sql.ts): 0 string, 1 small hash, 2 large hash (its key row; fields apart). */
  type: number;
  /** A large hash's rowid and cache generation (key-table.ts KeyEntry). */
  id?: number;
  gen?: number;
  /**
   * A large hash's key row was read since eviction last passed it. Its fields are cached
   * under its generation, which a reload draws anew, so evicting a hash's row in use would
   * orphan every cached field at once: eviction gives it a second chance instead.
   */
  hot?: boolean;
  /**
   * A string kept in a file: its reference, so a cached copy of the bytes still says where
   * they live (GET streams past 2 MiB, APPEND/SETRANGE patch the file, RENAME links it).
   */
  large?: LargeRef;
}

/**
 * Whether a row (cached, pending or read) holds a value that has not expired at `now`: the
 * one liveness rule of every read path (key table, namespaces, both async overlays).
 */
export function isLive<R extends CachedRow>(row: R, now: number): row is R & { value: Uint8Array } {
  return row.value !== null && (row.expiresAt === null || row.expiresAt > now);
}

/** Fixed bookkeeping cost charged per entry on top of its value and key. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The byte bound the value caches of one store share (value_cache_mb). A shard's cache may
 * grow past its even share while the others hold less: a hash lives in one shard, so a single
 * large hash read at random would otherwise be served from 1/num_shards of the memory given
 * (measured: a 1M-field hash, 16 shards, HGET at random, 48 → 21 µs of server CPU per
 * request with the whole budget reachable).
 *
 * When the total passes the bound, the caches give memory back in turns, at most a quarter of
 * each per turn, oldest entries first: first those that served the fewest hits lately per byte
 * they hold, and among equals (no reads at all, say) the one that took a new entry least
 * recently, then the largest. So a shard nobody reads gives most of its memory to one that is
 * read, a shard only written to (a bulk load) gives before shards being read do, and evenly
 * read shards give evenly.
 */
export class CacheBudget {
  /** Bytes charged by all caches: exact after their recounts, an upper bound otherwise. */
  used = 0;
  /** Counts new entries across the caches (ValueCache.lastInsert). */
  clock = 0;
  private readonly caches: ValueCache[] = [];

  constructor(readonly maxBytes: number) {}

  join(cache: ValueCache): void {
    this.caches.push(cache);
  }

  /** An even share of the bound (what INFO reports per shard). */
  get share(): number {
    return this.maxBytes / Math.max(1, this.caches.length);
  }

  /** A write by `from` took the total past the bound. */
  reclaim(from: ValueCache): void {
    from.recount();
    const counted = new Set<ValueCache>([from]);
    // Down to 90 % of the bound, even if the exact count was already under it: that headroom
    // must be charged again before the next reclaim, so a cache near the bound whose keys are
    // overwritten again and again does not recount on every write.
    const target = this.maxBytes * 0.9;
    while (this.used > target) {
      const order = this.caches.filter((c) => c.size > 0);
      if (order.length === 0) break;
      order.sort((a, b) => (colder(a, b) ? -1 : colder(b, a) ? 1 : 0));
      // Each in turn gives a quarter of its bytes at most, coldest first. Taking the whole
      // tenth from one cache at once measured 10 MiB more RSS after 1 GiB of evenly read
      // 16 KiB values (the drained shard then misses and refills).
      for (const c of order) {
        if (this.used <= target) break;
        if (!counted.has(c)) {
          counted.add(c);
          c.recount();
          if (this.used <= target) break;
        }
        c.evictBytes(Math.min(this.used - target, Math.max(1, c.chargedBytes / 4)));
      }
    }
    for (const c of this.caches) c.markHits();
  }
}

/** Whether cache `a` should give memory back before `b` (CacheBudget's order). */
function colder(a: ValueCache, b: ValueCache): boolean {
  // Hits per byte held: under even reads every cache scores alike whatever its size (raw hit
  // counts would drain whichever cache is smallest, which then scores lower still).
  const da = a.recentHits / Math.max(1, a.chargedBytes);
  const db = b.recentHits / Math.max(1, b.chargedBytes);
  if (da !== db) return da < db;
  if (a.lastInsert !== b.lastInsert) return a.lastInsert < b.lastInsert;
  return a.chargedBytes > b.chargedBytes;
}

export class ValueCache {
  private readonly rows = new Map<string, CachedRow>();
  /** True while a write transaction is open on this shard (begin() .. commit()/rollback()). */
  private staging = false;
  /** Entries written inside the open transaction, in order (a null row = dropped). */
  private readonly stagedIds: string[] = [];
  private readonly stagedRows: (CachedRow | null)[] = [];
  /**
   * Lookup over the staged entries, built only when something reads inside the transaction
   * (read-modify-write commands); plain SET batches never pay for it. `indexed` = how many
   * staged entries it covers.
   */
  private readonly stagedIndex = new Map<string, CachedRow | null>();
  private indexed = 0;
  /**
   * Bytes charged so far: exact after drop() and recount(), an upper bound otherwise, because
   * an overwrite charges the new entry without looking up the old one (that lookup cost as much
   * as the rest of a cached write). recount() makes it exact before anything is evicted.
   */
  private bytes = 0;
  hits = 0;
  misses = 0;
  /** `hits` at the last reclaim of the budget, and the hits before it, halved at each. */
  private hitsMark = 0;
  private hitsBefore = 0;
  /** The budget's clock when this cache last took a new entry. */
  lastInsert = 0;
  private readonly budget: CacheBudget;

  constructor(
    maxBytes: number,
    private readonly maxValueBytes: number,
    /** Written values above this size are not cached by the write (see limits.ts). */
    private readonly writeThroughBytesMax = maxValueBytes,
    /** Shared with the store's other caches; without one, `maxBytes` is this cache's own. */
    budget?: CacheBudget,
  ) {
    this.budget = budget ?? new CacheBudget(maxBytes);
    this.budget.join(this);
  }

  get size(): number {
    return this.rows.size;
  }

  /** This shard's even share of the shared bound (it may hold more while others hold less). */
  get limitBytes(): number {
    return this.budget.share;
  }

  /**
   * How much this cache has been read lately (CacheBudget picks who gives memory back): hits
   * since the budget's last reclaim, plus the earlier ones halved at every reclaim, so a shard
   * read a moment ago still counts while it fills its cache.
   */
  get recentHits(): number {
    return this.hits - this.hitsMark + this.hitsBefore;
  }

  markHits(): void {
    this.hitsBefore = this.recentHits / 2;
    this.hitsMark = this.hits;
  }

  /** Bytes charged, without the recount usedBytes does (CacheBudget). */
  get chargedBytes(): number {
    return this.bytes;
  }

  get usedBytes(): number {
    this.recount();
    return this.bytes;
  }

  get(id: string): CachedRow | undefined {
    if (this.staging && this.stagedIds.length > 0) {
      const staged = this.stagedLookup(id);
      if (staged !== undefined) {
        if (staged === null) this.misses++;
        else this.hits++;
        return staged ?? undefined;
      }
    }
    const row = this.rows.get(id);
    if (row === undefined) this.misses++;
    else {
      this.hits++;
      if (row.gen !== undefined) row.hot = true;
    }
    return row;
  }

  /** Whether a value of this many bytes would be kept (callers skip copying it otherwise). */
  takes(valueBytes: number): boolean {
    return this.budget.maxBytes > 0 && valueBytes <= this.maxValueBytes;
  }

  /** Whether a write of a value this large should fill the cache (write-through). */
  takesWrite(valueBytes: number): boolean {
    return this.takes(valueBytes) && valueBytes <= this.writeThroughBytesMax;
  }

  set(id: string, row: CachedRow): void {
    if (this.staging) this.stage(id, this.takes(row.value?.length ?? 0) ? row : null);
    else this.publish(id, row);
  }

  private stage(id: string, row: CachedRow | null): void {
    this.stagedIds.push(id);
    this.stagedRows.push(row);
  }

  private stagedLookup(id: string): CachedRow | null | undefined {
    const ids = this.stagedIds;
    for (; this.indexed < ids.length; this.indexed++) {
      this.stagedIndex.set(ids[this.indexed]!, this.stagedRows[this.indexed]!);
    }
    return this.stagedIndex.get(id);
  }

  /**
   * Stores a committed row. An overwrite keeps the entry's place in the eviction order: a
   * Map delete costs several times a set in JavaScriptCore, and this runs once per write.
   */
  private publish(id: string, row: CachedRow): void {
    const bytes = row.value?.length ?? 0;
    if (!this.takes(bytes)) {
      this.drop(id);
      return;
    }
    const entries = this.rows.size;
    this.rows.set(id, row);
    if (this.rows.size !== entries) this.lastInsert = ++this.budget.clock;
    this.charge(bytes + id.length * 2 + ENTRY_OVERHEAD_BYTES);
    if (this.budget.used > this.budget.maxBytes) this.budget.reclaim(this);
  }

  delete(id: string): void {
    if (this.staging) this.stage(id, null);
    else this.drop(id);
  }

  /**
   * A write transaction opened on this shard: until commit() or rollback(), changes are
   * staged. Reads in the transaction see them first; the committed entries stay untouched,
   * so a rollback only has to forget the staged ones.
   */
  begin(): void {
    this.forgetStaged();
    this.staging = true;
  }

  /** The transaction committed: its staged entries, in order, replace the committed ones. */
  commit(): void {
    if (!this.staging) return;
    this.staging = false;
    const ids = this.stagedIds;
    const rows = this.stagedRows;
    for (let i = 0; i < ids.length; i++) {
      const row = rows[i]!;
      if (row === null) this.drop(ids[i]!);
      else this.publish(ids[i]!, row);
    }
    this.forgetStaged();
  }

  /** Where the staged entries stand now, for rollbackTo() (one operation's savepoint). */
  mark(): number {
    return this.stagedIds.length;
  }

  /** A savepoint rolled back: forgets the entries staged since mark() returned `at`. */
  rollbackTo(at: number): void {
    if (!this.staging || at >= this.stagedIds.length) return;
    this.stagedIds.length = at;
    this.stagedRows.length = at;
    // The lookup may cover dropped entries: rebuilt from scratch on the next read.
    this.stagedIndex.clear();
    this.indexed = 0;
  }

  /** The transaction rolled back: the committed entries are still right; forget the rest. */
  rollback(): void {
    this.staging = false;
    this.forgetStaged();
  }

  private forgetStaged(): void {
    this.stagedIds.length = 0;
    this.stagedRows.length = 0;
    if (this.indexed > 0) {
      this.stagedIndex.clear();
      this.indexed = 0;
    }
  }

  private drop(id: string): void {
    const old = this.rows.get(id);
    if (!old) return;
    this.charge(-((old.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES));
    this.rows.delete(id);
  }

  private charge(bytes: number): void {
    this.bytes += bytes;
    this.budget.used += bytes;
  }

  clear(): void {
    this.rows.clear();
    this.forgetStaged();
    this.charge(-this.bytes);
  }

  /** Makes the byte count exact (overwrites may have left it too high). */
  recount(): void {
    let total = 0;
    for (const [id, row] of this.rows) total += (row.value?.length ?? 0) + id.length * 2;
    this.charge(total + this.rows.size * ENTRY_OVERHEAD_BYTES - this.bytes);
  }

  /**
   * Drops the oldest entries until `bytes` are freed (or none is left); CacheBudget.reclaim.
   * A large hash's row read since the last pass moves to the back instead (CachedRow.hot).
   */
  evictBytes(bytes: number): void {
    const target = this.bytes - bytes;
    for (const [id, row] of this.rows) {
      if (this.bytes <= target) break;
      this.rows.delete(id);
      if (row.hot) {
        row.hot = false;
        this.rows.set(id, row);
        continue;
      }
      this.charge(-((row.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES));
    }
  }
}

/**
 * The bytes to cache for a value just written: an own copy. (A view into the raw-encoded
 * buffer would save the copy in principle, but JavaScriptCore then moves that small buffer
 * out of its fast storage, which costs more: measured.)
 */
export function cacheableValue(value: Uint8Array): Uint8Array {
  return value.slice();
}

/** Cached expiries are numbers; one beyond 2^53 only needs to compare as "far future". */
export function expiryNumber(expiresAt: number | bigint | null): number | null {
  return typeof expiresAt === "bigint" ? Number(expiresAt) : expiresAt;
}
