/**
 * The pending-writes overlay for hash fields (namespace tables), used when
 * `async_write = true`; the counterpart of inflight.ts for plain keys. A hash write's logic
 * runs at request time against this view, so its reply (fields added, removed, per-field
 * codes) is decided at once and the client is acknowledged; only the physical effect is
 * queued on the shard's writer. Until it commits, HGET, HMGET, HEXISTS, HSTRLEN, HTTL and the
 * read side of every write see the pending value first. Per field the newest pending write
 * wins (a sequence number decides which commit may remove an entry), a delete is a pending
 * write too, and nothing pending is evicted: the writer queue bound limits the overlay.
 * Commands that walk a whole namespace (HLEN, HGETALL, HSCAN, ...) first commit everything
 * pending, then read SQLite. A failed commit is reported and its entry removed.
 *
 * Inside a writer flush (the scheduler is running queued operations) the view goes straight
 * to the namespace table: SQLite then holds exactly the writes queued before that point.
 */
import { isLive } from "./cache.ts";
import type { ValueCodec } from "./codecs/codec.ts";
import type { AsyncFailureSink } from "./inflight.ts";
import { type KeyParam, keyId } from "./keys.ts";
import type { FieldEntry, FieldRow, NamespaceTable, ShardNamespaces } from "./namespaces.ts";
import type { ShardWriter, WriteScheduler } from "./writer.ts";

/** What hash commands use of one namespace in one shard: the table itself or this overlay. */
export type FieldRows = Pick<
  NamespaceTable,
  | "live"
  | "has"
  | "putEncoded"
  | "putEncodedIsNew"
  | "remove"
  | "setExpiry"
  | "countLive"
  | "page"
  | "decode"
>;

interface Pending {
  /** null = deleted */
  value: Uint8Array | null;
  expiresAt: number | null;
  seq: number;
}

/** Pending field writes of one shard, by namespace, then by field id. */
export class PendingFields {
  private readonly pending = new Map<string, Map<string, Pending>>();
  private seq = 0;

  constructor(
    readonly shardIndex: number,
    readonly catalog: ShardNamespaces,
    readonly codec: ValueCodec,
    private readonly writer: ShardWriter,
    readonly scheduler: WriteScheduler,
    private readonly onFailure: AsyncFailureSink,
  ) {}

  /** Fields with a write not yet committed, over all namespaces. */
  get size(): number {
    let n = 0;
    for (const fields of this.pending.values()) n += fields.size;
    return n;
  }

  hasPending(ns: string): boolean {
    return (this.pending.get(ns)?.size ?? 0) > 0;
  }

  /** A view is two fields: made per call rather than kept for every namespace ever used. */
  view(ns: string): FieldView {
    return new FieldView(this, ns);
  }

  get(ns: string, id: string): Pending | undefined {
    return this.pending.get(ns)?.get(id);
  }

  /** Forgets every pending entry (FLUSHDB): their queued commits still run, then get cleared. */
  clear(): void {
    this.pending.clear();
  }

  /** Commits everything queued on every shard now (before a walk over SQLite). */
  settle(): void {
    if (this.scheduler.pendingOps > 0) this.scheduler.run();
  }

  record(
    ns: string,
    field: KeyParam,
    value: Uint8Array | null,
    expiresAt: number | null,
    apply: (now: number) => void,
  ): void {
    const id = keyId(field);
    let fields = this.pending.get(ns);
    if (!fields) {
      fields = new Map();
      this.pending.set(ns, fields);
    }
    const seq = ++this.seq;
    fields.set(id, { value, expiresAt, seq });
    const settle = () => {
      const current = this.pending.get(ns);
      if (current?.get(id)?.seq !== seq) return;
      current.delete(id);
      if (current.size === 0) this.pending.delete(ns);
    };
    this.writer.submit(apply).then(settle, (error: unknown) => {
      settle();
      // The failed transaction may have rolled back a CREATE TABLE: re-read the catalog.
      this.catalog.reload();
      this.onFailure(this.shardIndex, error);
    });
  }
}

/** One namespace of one shard as async-mode hash commands see it. */
export class FieldView implements FieldRows {
  constructor(
    private readonly owner: PendingFields,
    private readonly ns: string,
  ) {}

  private get table(): NamespaceTable | null {
    return this.owner.catalog.table(this.ns);
  }

  private get flushing(): boolean {
    return this.owner.scheduler.flushing;
  }

  live(field: KeyParam, now: number): FieldEntry | null {
    if (!this.flushing) {
      const p = this.owner.get(this.ns, keyId(field));
      if (p) {
        return isLive(p, now) ? { value: p.value, expiresAt: p.expiresAt } : null;
      }
    }
    return this.table?.live(field, now) ?? null;
  }

  has(field: KeyParam, now: number): boolean {
    return this.live(field, now) !== null;
  }

  putEncoded(
    field: KeyParam,
    value: Uint8Array,
    stored: Uint8Array,
    now: number,
    expiresAt: number | null,
  ): void {
    const ns = this.ns;
    const catalog = this.owner.catalog;
    if (this.flushing) {
      catalog.ensure(ns).putEncoded(field, value, stored, now, expiresAt);
      return;
    }
    // The argument is a view into the received chunk: keep a copy of our own while pending.
    this.owner.record(ns, field, value.slice(), expiresAt, (at) =>
      catalog.ensure(ns).putEncoded(field, value, stored, at, expiresAt),
    );
  }

  putEncodedIsNew(
    field: KeyParam,
    value: Uint8Array,
    stored: Uint8Array,
    now: number,
    expiresAt: number | null,
  ): boolean {
    if (this.flushing)
      return this.owner.catalog
        .ensure(this.ns)
        .putEncodedIsNew(field, value, stored, now, expiresAt);
    const isNew = this.live(field, now) === null;
    this.putEncoded(field, value, stored, now, expiresAt);
    return isNew;
  }

  remove(field: KeyParam, now: number): boolean {
    if (this.flushing) return this.table?.remove(field, now) ?? false;
    const existed = this.live(field, now) !== null;
    this.owner.record(this.ns, field, null, null, (at) => {
      this.table?.remove(field, at);
    });
    return existed;
  }

  setExpiry(field: KeyParam, expiresAt: number | null): void {
    if (this.flushing) {
      this.table?.setExpiry(field, expiresAt);
      return;
    }
    const current = this.live(field, Number.NEGATIVE_INFINITY);
    if (current === null) return;
    this.owner.record(this.ns, field, current.value, expiresAt, () =>
      this.table?.setExpiry(field, expiresAt),
    );
  }

  countLive(now: number): number {
    this.owner.settle();
    return this.table?.countLive(now) ?? 0;
  }

  page(afterRowid: number, limit: number): FieldRow[] {
    this.owner.settle();
    return this.table?.page(afterRowid, limit) ?? [];
  }

  decode(stored: Uint8Array): Uint8Array {
    return this.owner.codec.decode(stored);
  }
}
