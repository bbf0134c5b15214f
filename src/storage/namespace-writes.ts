/**
 * How namespace (hash field) writes reach the shard writers: queued until COMMIT, run at once
 * against the pending-fields overlay with async_write, or run jointly over several shards for
 * all-or-nothing commands. Every path re-reads the catalog of a shard whose transaction
 * failed, since a rolled-back transaction may have undone a CREATE or DROP TABLE.
 */
import type { Store } from "./store.ts";

/**
 * Queues a namespace write on one shard. If it fails, a DDL statement of its transaction
 * (CREATE/DROP of a namespace table) may have been rolled back with it, so the shard's
 * catalog is re-read from sqlite_master (the pass is over by then: no transaction is open).
 */
export function writeNamespaceShard<T>(
  store: Store,
  shard: number,
  fn: (now: number) => T,
): Promise<T> {
  return store.writeShard(shard, fn).catch((error: unknown) => {
    store.namespaces.shards[shard]!.reload();
    throw error;
  });
}

/**
 * Runs a field write on one shard. Without async_write it is queued like any write and
 * settles after COMMIT (writeNamespaceShard). With async_write `fn` runs at once against the
 * pending-writes overlay, which queues the physical effect; it waits only for queue room.
 */
export function writeFields<T>(store: Store, shard: number, fn: (now: number) => T): Promise<T> {
  if (!store.namespaces.overlaid) return writeNamespaceShard(store, shard, fn);
  return runNow(store, [shard], fn);
}

function runNow<T>(store: Store, shards: readonly number[], fn: (now: number) => T): Promise<T> {
  const full = shards.find((shard) => !store.writers[shard]!.hasRoom);
  if (full !== undefined) {
    return store.writers[full]!.waitForRoom().then(() => runNow(store, shards, fn));
  }
  try {
    return Promise.resolve(fn(store.now()));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A multi-shard write that must be all-or-nothing (HSETEX FNX/FXX: "none of the fields
 * exist" / "all of them exist"). It runs as one Store.writeMany operation: `fn` runs once
 * with every involved shard inside its own open transaction, after everything queued before
 * it on each of those shards and before everything queued after it, so it reads and writes
 * every shard as of this command's place in each queue, and no client (nor the same
 * client's pipelined commands) can observe some parts applied and others not.
 * What a crash guarantees: each shard commits its own transaction, one after another, so a
 * crash (or a failed COMMIT in one shard) between those commits can leave the command applied
 * in some shards only; the client then never received a success reply. An acknowledged
 * command is committed in every involved shard. On failure the involved shards' catalogs are
 * re-read, as a rolled-back transaction may have undone a CREATE TABLE.
 */
export function writeJointly<R>(
  store: Store,
  shards: readonly number[],
  fn: (now: number) => R,
): Promise<R> {
  // With async_write, `fn` runs at once: one synchronous call over the overlays is atomic.
  if (store.namespaces.overlaid) return runNow(store, shards, fn);
  return store.writeMany(shards, fn).catch((error: unknown) => {
    for (const shard of new Set(shards)) store.namespaces.shards[shard]!.reload();
    throw error;
  });
}
