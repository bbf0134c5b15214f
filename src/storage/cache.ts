/**
 * A byte-bounded cache of committed rows in front of one shard's `blobs` table, so hot GETs
 * skip SQLite. Coherence rule: only reads fill it, from committed data (reads never run while
 * a writer transaction is open), and every write through KeyTable drops the key inside its
 * transaction. A rolled-back write therefore leaves nothing stale behind. Eviction is FIFO
 * by insertion (Map order), which costs nothing on hits. Absent keys are cached as well.
 */

export interface CachedRow {
  /** null when the key is known to be absent. */
  value: Uint8Array | null;
  expiresAt: number | null;
}

/** Fixed bookkeeping cost charged per entry on top of its value and key. */
const ENTRY_OVERHEAD_BYTES = 64;

export class ValueCache {
  private readonly rows = new Map<string, CachedRow>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxValueBytes: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  get(id: string): CachedRow | undefined {
    const row = this.rows.get(id);
    if (row === undefined) this.misses++;
    else this.hits++;
    return row;
  }

  set(id: string, row: CachedRow): void {
    if (this.maxBytes === 0) return;
    const size = (row.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES;
    if ((row.value?.length ?? 0) > this.maxValueBytes) return;
    const old = this.rows.get(id);
    if (old) this.bytes -= (old.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES;
    this.rows.delete(id);
    this.rows.set(id, row);
    this.bytes += size;
    if (this.bytes > this.maxBytes) this.evict();
  }

  delete(id: string): void {
    const old = this.rows.get(id);
    if (!old) return;
    this.bytes -= (old.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES;
    this.rows.delete(id);
  }

  clear(): void {
    this.rows.clear();
    this.bytes = 0;
  }

  private evict(): void {
    for (const [id, row] of this.rows) {
      if (this.bytes <= this.maxBytes * 0.9) break;
      this.bytes -= (row.value?.length ?? 0) + id.length * 2 + ENTRY_OVERHEAD_BYTES;
      this.rows.delete(id);
    }
  }
}
