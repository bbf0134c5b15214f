/**
 * One Redis database (SELECT n) across every shard: the per-shard key tables of that database,
 * their async overlays, and the vocabulary commands use on keys (read live rows, queue writes,
 * walk hashes). Shards, writers, the codec and the value caches belong to the Store and are
 * shared by every database; cache and WATCH ids carry the database (key-table.ts).
 * It must not import protocol, commands or cluster code.
 */
import type { ValueCodec } from "../codecs/codec.ts";
import { type KeyParam, keyParam } from "../engine/keys.ts";
import type { Router } from "../engine/routing.ts";
import type { Shard } from "../engine/shard.ts";
import type { KeyWatches } from "../engine/watch.ts";
import type { WriteScheduler } from "../writes/scheduler.ts";
import type { ShardWriter, WriteFn } from "../writes/shard-writer.ts";
import { EncodingMarks } from "./encoding-marks.ts";
import { KeyTable } from "./key-table.ts";
import type { LazyExpiry } from "./lazy-expiry.ts";
import { PendingTable } from "./overlay.ts";
import type { HashLimits, KeyEntry, KeyRows, LiveEntry, RowTable } from "./rows.ts";

/** What a Keyspace needs from its Store. */
export interface KeyspaceHost {
  readonly shards: readonly Shard[];
  readonly writers: readonly ShardWriter[];
  readonly scheduler: WriteScheduler;
  readonly router: Router;
  readonly codec: ValueCodec;
  readonly watches: KeyWatches;
  readonly lazyExpiry: LazyExpiry;
  readonly hashLimits: HashLimits;
  readonly asyncWrite: boolean;
  /** True while EXEC runs: writes then go through the overlay (Store.exclusive). */
  readonly inExclusive: boolean;
  now(): number;
  asyncFailure(shard: number, error: unknown): void;
  writeMany<T>(shards: readonly number[], fn: WriteFn<T>): Promise<T>;
}

export class Keyspace {
  /** Per shard: the SQL-backed table, whatever the mode. */
  readonly keyTables: KeyTable[] = [];
  /** Per shard: the pending-writes overlay (used always in async mode, and during EXEC). */
  readonly pendingTables: PendingTable[] = [];
  /** OBJECT ENCODING's memory of APPEND/SETRANGE/INCRBYFLOAT results (encoding-marks.ts). */
  readonly encodingMarks = new EncodingMarks();

  constructor(
    readonly index: number,
    private readonly host: KeyspaceHost,
  ) {
    host.shards.forEach((shard, i) => {
      const statements = shard.createKeyspace(index);
      const table = new KeyTable(
        i,
        index,
        statements,
        host.codec,
        shard.cache!,
        host.watches,
        host.hashLimits,
      );
      table.onExpiredRead = (key, expiresAt) =>
        host.lazyExpiry.seen(table, key, expiresAt, (fn) =>
          this.writeTable(i, (_, now) => fn(table, now)),
        );
      this.keyTables.push(table);
      this.pendingTables.push(
        new PendingTable(i, table, host.writers[i]!, host.scheduler, (s, e) =>
          host.asyncFailure(s, e),
        ),
      );
    });
  }

  /** Per shard: the view reads and write closures use (the overlay in async mode and EXEC). */
  get tables(): readonly RowTable[] {
    return this.host.asyncWrite || this.host.inExclusive ? this.pendingTables : this.keyTables;
  }

  get shardCount(): number {
    return this.host.shards.length;
  }

  now(): number {
    return this.host.now();
  }

  shardOf(key: Uint8Array): number {
    return this.host.router.shardOf(key);
  }

  /**
   * One shard's keys for commands: scanning (SCAN, KEYS, RANDOMKEY), or writing into this
   * database from another's writer transaction on the same shard file (MOVE, COPY … DB).
   */
  rowsOf(shard: number): KeyRows {
    return this.keyTables[shard]!;
  }

  /** The WATCH id of `key` in this database, as the writes that touch it use (key-table.ts). */
  watchId(key: Uint8Array): string {
    return this.keyTables[this.shardOf(key)]!.idOf(keyParam(key));
  }

  /** `bytes` through the codec of `key`'s shard, as a stored value would be (DUMP, MIGRATE). */
  encodeValue(key: Uint8Array, bytes: Uint8Array): Uint8Array {
    return this.keyTables[this.shardOf(key)]!.encode(bytes);
  }

  /** The view of the shard that owns `key`. */
  tableFor(key: Uint8Array): RowTable {
    return this.tables[this.host.router.shardOf(key)]!;
  }

  /** The live string at `key`; WRONGTYPE for a hash. */
  get(key: Uint8Array): LiveEntry | null {
    return this.tableFor(key).live(keyParam(key), this.host.now());
  }

  /** The live key of any type. */
  entry(key: Uint8Array): KeyEntry | null {
    return this.tableFor(key).entry(keyParam(key), this.host.now());
  }

  /**
   * Runs a row-level write on `key`'s shard. Default mode: inside the next group commit,
   * resolving after COMMIT. Async mode and EXEC: at once against the overlay, resolving
   * immediately, with the physical writes queued (it waits only when the queue is full).
   */
  write<T>(key: Uint8Array, fn: (table: RowTable, now: number) => T): Promise<T> {
    return this.writeRows(this.host.router.shardOf(key), fn);
  }

  /** Like write(), for a shard chosen by the caller (multi-key commands group keys by shard). */
  writeRows<T>(shard: number, fn: (table: RowTable, now: number) => T): Promise<T> {
    const host = this.host;
    const writer = host.writers[shard]!;
    if (!host.asyncWrite && !host.inExclusive) {
      const table = this.keyTables[shard]!;
      return writer.submit((now) => fn(table, now));
    }
    if (!writer.hasRoom) {
      // Inside EXEC nothing may wait for the event loop: commit what is queued right now.
      if (host.inExclusive) host.scheduler.run();
      else return writer.waitForRoom().then(() => this.writeRows(shard, fn));
    }
    // A queued direct write (HSET, RENAME…) has not reached SQL yet: run the queue now, so
    // this write's reply is decided on the state those writes leave.
    if (writer.directOps > 0) host.scheduler.run();
    try {
      return Promise.resolve(fn(this.pendingTables[shard]!, host.now()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a write that edits a hash's fields (or anything needing the SQL table itself) on
   * `key`'s shard, inside a writer transaction, acknowledged after COMMIT in every mode. With
   * async_write the overlay's earlier writes to the shard run first (the queue is FIFO); in
   * EXEC the queue is flushed at once so the next queued command reads the result.
   */
  writeHash<T>(key: Uint8Array, fn: (table: KeyRows, now: number) => T): Promise<T> {
    return this.writeTable(this.host.router.shardOf(key), fn);
  }

  /** writeHash() for a shard chosen by the caller. */
  writeTable<T>(shard: number, fn: (table: KeyRows, now: number) => T): Promise<T> {
    const table = this.keyTables[shard]!;
    return this.direct(
      [shard],
      this.host.writers[shard]!.submit((now) => fn(table, now)),
    );
  }

  /**
   * Runs `fn` once with every listed shard inside its own open transaction (RENAME, MSETNX,
   * COPY across shards): see Store.writeMany. `fn` reads and writes the SQL tables.
   */
  writeMany<T>(
    shards: readonly number[],
    fn: (tables: readonly KeyRows[], now: number) => T,
  ): Promise<T> {
    return this.direct(
      shards,
      this.host.writeMany(shards, (now) => fn(this.keyTables, now)),
    );
  }

  /**
   * Bookkeeping for a queued direct write on `shards`: counted on their writers until it
   * settles (see writeRows), and run at once inside EXEC so the next command reads it.
   */
  private direct<T>(shards: readonly number[], done: Promise<T>): Promise<T> {
    // Only the overlay (async mode, EXEC) can decide a reply ahead of the queue.
    if (!this.host.asyncWrite && !this.host.inExclusive) return done;
    const writers = [...new Set(shards)].map((i) => this.host.writers[i]!);
    for (const w of writers) w.directOps++;
    const release = () => {
      for (const w of writers) w.directOps--;
    };
    done.then(release, release);
    if (this.host.inExclusive) this.host.scheduler.run();
    return done;
  }

  /** Groups keys by shard, preserving each key's position, for multi-key commands. */
  groupByShard(keys: Uint8Array[]): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const s = this.host.router.shardOf(keys[i]!);
      const list = groups.get(s);
      if (list) list.push(i);
      else groups.set(s, [i]);
    }
    return groups;
  }

  /** Live keys in this database (all shards), counted in SQL after pending writes commit. */
  countKeys(now: number): number {
    let n = 0;
    for (const t of this.keyTables) n += t.statements.countLiveStmt.get(now)!.n;
    return n;
  }

  /**
   * Whether the slot index answers for every shard file: each has the back-fill marker
   * (jobs/slot-backfill.ts). Until then slot queries must scan.
   */
  slotIndexReady(): boolean {
    return this.host.shards.every((s) => s.slotsComplete);
  }

  /**
   * Up to `count` keys of cluster slot `slot` whose expiry has not passed, through the slot
   * index (only once slotIndexReady()); a large hash the sweep has not emptied yet is checked.
   */
  keysInSlot(slot: number, count: number, now: number): KeyParam[] {
    const out: KeyParam[] = [];
    for (const t of this.keyTables) {
      if (out.length >= count) break;
      // No LIMIT (-1): a row has() refuses must not cost a key that follows it; the loop
      // stops reading once `count` keys are found.
      for (const { key } of t.statements.slotKeysStmt.iterate(slot, now, -1)) {
        if (!t.has(key, now)) continue;
        out.push(key);
        if (out.length >= count) break;
      }
    }
    return out;
  }

  /** Keys of slot `slot` whose expiry has not passed, counted in the slot index. */
  countKeysInSlot(slot: number, now: number): number {
    let n = 0;
    for (const t of this.keyTables) n += t.statements.slotCountStmt.get(slot, now)!.n;
    return n;
  }

  /** Keys with an expiry, as INFO keyspace reports them. */
  countExpiring(now: number): number {
    let n = 0;
    for (const t of this.keyTables) n += t.statements.countExpiringStmt.get(now)!.n;
    return n;
  }

  /** Removes every key of this database on every shard (FLUSHDB), after queued writes. */
  async clear(): Promise<void> {
    this.host.watches.touchAll();
    for (const t of this.pendingTables) t.clearPending();
    await Promise.all(
      this.keyTables.map((table, i) =>
        this.direct(
          [i],
          this.host.writers[i]!.submit(() => {
            table.cache.clear();
            table.statements.fieldClearStmt.run();
            table.statements.clearStmt.run();
          }),
        ),
      ),
    );
  }
}
