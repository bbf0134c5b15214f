/**
 * The pending-writes overlay (the "async overlay"), used when `async_write = true` and while
 * EXEC runs. A write's logic runs at request time against this view, so its reply (NX, GET,
 * DEL counts...) is decided at once; only its physical effect is queued for the next group
 * commit. Until that commit lands, every read and existence check sees the pending row here
 * first. Per key the newest pending write wins (a sequence number decides which commit may
 * remove an entry), a delete is a pending write too, and nothing pending is ever evicted: the
 * writer queue bound limits the overlay. A failed commit is reported and its entry removed,
 * so reads fall back to what is stored.
 *
 * Rows of every type pass through here whole (a string, a small hash's serialized fields, a
 * large hash's key row); field-level writes of hashes do not: they are queued on the writer
 * and acknowledged after COMMIT (Keyspace.writeHash), so they never need an overlay of their own.
 *
 * When called inside a writer transaction (the scheduler is flushing), the view reads and
 * writes SQLite directly instead: multi-shard and maintenance operations run there, and at
 * that point SQLite holds exactly the writes queued before them.
 */
import { errors } from "../../errors.ts";
import { isLive } from "../engine/cache.ts";
import type { KeyParam } from "../engine/keys.ts";
import type { ExpiryMs } from "../engine/shard.ts";
import { ROW_HASH_INLINE, ROW_HASH_TABLE, ROW_STRING, type RowType } from "../engine/sql.ts";
import type { WriteScheduler } from "../writes/scheduler.ts";
import type { ShardWriter } from "../writes/shard-writer.ts";
import { InlineHashWriter } from "./hash-rows.ts";
import { inlineHasLive } from "./inline-hash.ts";
import type { KeyTable } from "./key-table.ts";
import type { HashView, KeyEntry, LiveEntry, RowTable } from "./rows.ts";

interface Pending {
  /** null = deleted */
  value: Uint8Array | null;
  type: RowType;
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

  get db(): number {
    return this.table.db;
  }

  /** Keys with a write not yet committed. */
  get size(): number {
    return this.pending.size;
  }

  /** The pending row of a key, when one exists and the overlay is in charge. */
  private peek(key: KeyParam): Pending | undefined {
    // Inside a flush, SQLite holds exactly the writes queued before this point: the overlay
    // may already show later ones, so operations running there must not read it.
    if (this.pending.size === 0 || this.scheduler.flushing) return undefined;
    return this.pending.get(this.table.idOf(key));
  }

  entry(key: KeyParam, now: number): KeyEntry | null {
    const p = this.peek(key);
    if (!p) return this.table.entry(key, now);
    if (!isLive(p, now)) return null;
    if (p.type === ROW_HASH_INLINE && !inlineHasLive(p.value, now)) return null;
    if (p.type === ROW_HASH_TABLE) return this.table.entry(key, now);
    return { value: p.value, expiresAt: p.expiresAt, type: p.type };
  }

  live(key: KeyParam, now: number): LiveEntry | null {
    const row = this.entry(key, now);
    if (row !== null && row.type !== ROW_STRING) throw errors.wrongType();
    return row;
  }

  has(key: KeyParam, now: number): boolean {
    return this.entry(key, now) !== null;
  }

  hash(key: KeyParam, now: number): HashView | null {
    const p = this.peek(key);
    if (!p || p.type === ROW_HASH_TABLE) return this.table.hash(key, now);
    const row = this.entry(key, now);
    if (row === null) return null;
    if (row.type === ROW_STRING) throw errors.wrongType();
    return InlineHashWriter.open(this.table, key, row.value, p.exact, this.table.hashLimits);
  }

  put(key: KeyParam, value: Uint8Array, now: number, expiresAt: ExpiryMs | null): void {
    if (this.scheduler.flushing) {
      this.table.put(key, value, now, expiresAt);
      return;
    }
    this.record(key, value, ROW_STRING, expiresAt, (at) =>
      this.table.put(key, value, at, expiresAt),
    );
  }

  putRow(
    key: KeyParam,
    type: RowType,
    value: Uint8Array,
    now: number,
    expiresAt: ExpiryMs | null,
  ): void {
    if (this.scheduler.flushing) {
      this.table.putRow(key, type, value, now, expiresAt);
      return;
    }
    this.record(key, value, type, expiresAt, (at) =>
      this.table.putRow(key, type, value, at, expiresAt),
    );
  }

  remove(key: KeyParam, now: number): boolean {
    if (this.scheduler.flushing) return this.table.remove(key, now);
    const existed = this.entry(key, now) !== null;
    this.record(key, null, ROW_STRING, null, (at) => this.table.remove(key, at));
    return existed;
  }

  setExpiry(key: KeyParam, expiresAt: ExpiryMs | null): void {
    if (this.scheduler.flushing) {
      this.table.setExpiry(key, expiresAt);
      return;
    }
    const current = this.entry(key, Number.NEGATIVE_INFINITY);
    if (current === null) return;
    this.record(key, current.value, current.type, expiresAt, () =>
      this.table.setExpiry(key, expiresAt),
    );
  }

  /** Forgets every pending entry (FLUSHDB): their queued commits still run, then get cleared. */
  clearPending(): void {
    this.pending.clear();
  }

  exactExpiry(key: KeyParam, now: number): ExpiryMs | null | undefined {
    const p = this.peek(key);
    if (!p) return this.table.exactExpiry(key, now);
    return this.entry(key, now) === null ? undefined : p.exact;
  }

  private record(
    key: KeyParam,
    value: Uint8Array | null,
    type: RowType,
    expiresAt: ExpiryMs | null,
    apply: (now: number) => void,
  ): void {
    const id = this.table.idOf(key);
    const seq = ++this.seq;
    this.pending.set(id, {
      value,
      type,
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
