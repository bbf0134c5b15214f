/**
 * Lazy expiry, for listeners: a read that finds a key past its TTL removes it at once and
 * reports `expired`, as Redis's expireIfNeeded does, instead of leaving it to the sweep
 * (up to a second later). It runs only while someone listens (keyspace notifications, client
 * tracking: the pub/sub room sets `listener`); otherwise expired rows read as absent and the
 * sweep removes them, as before. The delete is queued like any write and only a delete that
 * removed the row is reported, so a key the sweep removed first (or that a later write made
 * live again) is never reported twice.
 */
import { type KeyParam, keyBytes } from "../engine/keys.ts";
import type { KeyTable } from "./key-table.ts";

export type ExpiredEvent = [db: number, event: "expired" | "hexpired" | "del", key: Uint8Array];

export class LazyExpiry {
  /** Hears the keys removed; null = nobody listens, and reads do nothing more. */
  listener: ((events: ExpiredEvent[]) => void) | null = null;
  /** Counts removals (INFO expired_keys). */
  counted: (rows: number) => void = () => {};

  /** A read of `table` found `key` expired: remove it and tell the listener. */
  seen(
    table: KeyTable,
    key: KeyParam,
    writeTable: <T>(fn: (t: KeyTable, now: number) => T) => Promise<T>,
  ): void {
    if (this.listener === null) return;
    // After the current command's synchronous work: the read may sit inside a transaction.
    queueMicrotask(() => {
      writeTable((t, now) => t.deleteExpired(key, now)).then(
        (removed) => {
          if (!removed) return;
          this.counted(1);
          this.listener?.([[table.db, "expired", keyBytes(key)]]);
        },
        () => {
          // A failed delete leaves the row to the sweep, which reports it then.
        },
      );
    });
  }
}
