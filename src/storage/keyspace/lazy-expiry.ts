/**
 * Lazy expiry, for listeners: a read that finds a key past its TTL announces `expired` at
 * once, as Redis's expireIfNeeded does from the lookup, so the event comes before the
 * command's own events and reply; the row's delete is queued like any write. It runs only
 * while someone listens (keyspace notifications, client tracking: the pub/sub room sets
 * `listener`); otherwise expired rows read as absent and the sweep removes them, as before.
 *
 * Exactly once: whoever first sees the row dead announces it. A read records the row's id and
 * the expiry it found until its queued delete has finished; later reads of the same dead row
 * and the sweep (if it deletes the row first) find the record and stay silent. The delete
 * only removes a row that still holds that expiry, so a key rewritten meanwhile stays.
 * INFO expired_keys counts the key when it is announced, as Redis counts it on the lookup.
 */
import { limits } from "../../limits.ts";
import { type KeyParam, keyBytes } from "../engine/keys.ts";
import type { KeyTable } from "./key-table.ts";

export type ExpiredEvent = [db: number, event: "expired" | "hexpired" | "del", key: Uint8Array];

export class LazyExpiry {
  /** Hears the keys found expired; null = nobody listens, and reads do nothing more. */
  listener: ((events: ExpiredEvent[]) => void) | null = null;
  /** Counts keys expired (INFO expired_keys). */
  counted: (rows: number) => void = () => {};
  /** Per shard: cache id → expiry of rows announced whose delete has not finished. */
  private readonly announced: Map<string, number>[] = [];

  /** A read of `table` found `key` dead since `expiresAt`: announce it, queue its delete. */
  seen(
    table: KeyTable,
    key: KeyParam,
    expiresAt: number,
    writeTable: <T>(fn: (t: KeyTable, now: number) => T) => Promise<T>,
  ): void {
    const listener = this.listener;
    if (listener === null) return;
    this.announced[table.shardIndex] ??= new Map();
    const pending = this.announced[table.shardIndex]!;
    const id = table.idOf(key);
    if (pending.get(id) === expiresAt) return;
    // Bounded: past the limit the sweep announces the key when it removes it.
    if (pending.size >= limits.lazyExpiredPendingMax) return;
    // A dead cached row may outlive its row (the sweep deletes rows, not the value cache):
    // a key the sweep removed, and announced, is not announced again.
    if (!table.holdsExpiry(key, expiresAt)) return;
    pending.set(id, expiresAt);
    const done = () => {
      if (pending.get(id) === expiresAt) pending.delete(id);
    };
    // After the current command's synchronous work: the read may sit inside a transaction.
    // A failed delete leaves the row to the sweep, which then announces it a second time.
    queueMicrotask(() => {
      writeTable((t) => t.deleteExpired(key, expiresAt)).then(done, done);
    });
    this.counted(1);
    listener([[table.db, "expired", keyBytes(key)]]);
  }

  /** Whether a read announced rows of `shard` whose delete is pending (the sweep then names keys). */
  pendingOn(shard: number): boolean {
    return (this.announced[shard]?.size ?? 0) > 0;
  }

  /**
   * The sweep removed this row: true when it must announce and count it, false when a read
   * already did (the record is then dropped, its job done).
   */
  sweptUnannounced(shard: number, id: string, expiresAt: number): boolean {
    const pending = this.announced[shard];
    if (pending === undefined || pending.get(id) !== expiresAt) return true;
    pending.delete(id);
    return false;
  }
}
