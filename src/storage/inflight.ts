/**
 * The pending-writes overlay used when `async_write = true`. A write's logic runs at request
 * time against this view, so its reply (NX, GET, DEL counts...) is decided at once; only its
 * physical effect is queued for the next group commit. Until that commit lands, every read
 * and existence check sees the pending value here first. Per key the newest pending write
 * wins (a sequence number decides which commit may remove an entry), a delete is a pending
 * write too, and nothing pending is ever evicted: the writer queue bound limits the overlay.
 * A failed commit is reported and its entry removed, so reads fall back to what is stored.
 *
 * When called inside a writer transaction (the scheduler is flushing), the view reads and
 * writes SQLite directly instead: multi-shard and maintenance operations run there, and at
 * that point SQLite holds exactly the writes queued before them.
 */
import { isLive } from "./cache.ts";
import { type KeyParam, keyId } from "./keys.ts";
import type { ExpiryMs } from "./shard.ts";
import type { KeyTable, LiveEntry, RowTable } from "./store.ts";
import type { ShardWriter, WriteScheduler } from "./writer.ts";

interface Pending {
  /** null = deleted */
  value: Uint8Array | null;
  /** Lossy beyond 2^53, for comparisons; `exact` keeps the stored value. */
  expiresAt: number | null;
  exact: ExpiryMs | null;
  seq: number;
}

export type AsyncFailureSink = (shard: number, error: unknown) => void;

export class PendingTable implements RowTable {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;

  constructor(
    readonly shardIndex: number,
    private readonly table: KeyTable,
    private readonly writer: ShardWriter,
    private readonly scheduler: WriteScheduler,
    private readonly onFailure: AsyncFailureSink,
  ) {}

  /** Keys with a write not yet committed. */
  get size(): number {
    return this.pending.size;
  }

  live(key: KeyParam, now: number): LiveEntry | null {
    // Inside a flush, SQLite holds exactly the writes queued before this point: the overlay
    // may already show later ones, so operations running there must not read it.
    if (this.pending.size > 0 && !this.scheduler.flushing) {
      const p = this.pending.get(keyId(key));
      if (p) {
        return isLive(p, now) ? { value: p.value, expiresAt: p.expiresAt } : null;
      }
    }
    return this.table.live(key, now);
  }

  has(key: KeyParam, now: number): boolean {
    return this.live(key, now) !== null;
  }

  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    if (this.scheduler.flushing) {
      this.table.put(key, value, now, expiresAt);
      return;
    }
    this.record(key, value, expiresAt, (at) => this.table.put(key, value, at, expiresAt));
  }

  remove(key: KeyParam, now: number): boolean {
    if (this.scheduler.flushing) return this.table.remove(key, now);
    const existed = this.live(key, now) !== null;
    this.record(key, null, null, (at) => this.table.remove(key, at));
    return existed;
  }

  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void {
    if (this.scheduler.flushing) {
      this.table.setExpiry(key, expiresAt);
      return;
    }
    const current = this.live(key, Number.NEGATIVE_INFINITY);
    if (current === null) return;
    this.record(key, current.value, expiresAt, () => this.table.setExpiry(key, expiresAt));
  }

  /** Forgets every pending entry (FLUSHDB): their queued commits still run, then get cleared. */
  clearPending(): void {
    this.pending.clear();
  }

  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined {
    const p =
      this.pending.size > 0 && !this.scheduler.flushing ? this.pending.get(keyId(key)) : undefined;
    if (!p) return this.table.exactExpiry(key, now);
    return this.live(key, now) === null ? undefined : p.exact;
  }

  private record(
    key: KeyParam,
    value: Uint8Array | null,
    expiresAt: ExpiryMs | null,
    apply: (now: number) => void,
  ): void {
    const id = keyId(key);
    const seq = ++this.seq;
    this.pending.set(id, {
      value,
      expiresAt: expiresAt === null ? null : Number(expiresAt),
      exact: expiresAt,
      seq,
    });
    this.table.touch(id);
    const settle = () => {
      if (this.pending.get(id)?.seq === seq) this.pending.delete(id);
    };
    this.writer.submit(apply).then(settle, (error: unknown) => {
      settle();
      this.onFailure(this.shardIndex, error);
    });
  }
}
