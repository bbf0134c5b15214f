/**
 * The background expiry sweep, over every database's keys and the fields of large hashes.
 * Reads already hide expired rows; the sweep only reclaims their space. Each round deletes at
 * most limits.sweepRowsPerBatch rows per shard, through the shard's writer, so it shares group
 * commits with client writes and never holds a shard's write lock for long. A round that found
 * a full batch is followed by another one soon.
 * After every round each shard's freelist is checked and, past a threshold, a small
 * incremental vacuum is queued (storage/maintenance/vacuum.ts: maybeAutoVacuum, thresholds in limits.ts:
 * autoVacuumFreelistPagesMin = 2048 pages, autoVacuumPagesPerRun = 1024 pages), so space
 * freed by expiry and by deletes goes back to the filesystem without an operator.
 */
import { limits } from "../../limits.ts";
import type { Logger } from "../../log.ts";
import type { Store } from "../store.ts";
import { maybeAutoVacuum } from "./auto-vacuum.ts";

/** A key as SQLite hands it back (TEXT when valid UTF-8, BLOB otherwise) as bytes. */
function keyBytes(key: unknown): Uint8Array {
  return typeof key === "string" ? new TextEncoder().encode(key) : (key as Uint8Array);
}

export class ExpirySweeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private stopped = false;
  /** Pages the background incremental vacuum freed since start (all shards). */
  autoVacuumPages = 0;
  /** Background incremental vacuums run (all shards). */
  autoVacuumRuns = 0;

  /**
   * Hears which keys the sweep removed (keyspace notifications `expired` / `hexpired`, client
   * tracking). While null the sweep deletes without naming keys, as cheap as before.
   */
  keyListener:
    | ((events: [db: number, event: "expired" | "hexpired" | "del", key: Uint8Array][]) => void)
    | null = null;

  constructor(
    private readonly store: Store,
    private readonly onExpired: (rows: number) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(limits.sweepIdleIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round over every shard; resolves with the number of rows removed. */
  async sweepOnce(): Promise<number> {
    const removed = (await this.sweepRound()).removed;
    await this.reclaim();
    return removed;
  }

  /**
   * Per shard, a small incremental vacuum when its freelist passed the threshold (see the
   * file comment). A failure is logged and retried at the next round.
   */
  async reclaim(): Promise<void> {
    const store = this.store;
    await Promise.all(
      store.shards.map(async (shard, i) => {
        try {
          const pages = await maybeAutoVacuum(shard, store.writers[i]!);
          if (pages > 0) {
            this.autoVacuumRuns++;
            this.autoVacuumPages += pages;
            this.log.debug(`shard ${i}: background incremental vacuum freed ${pages} page(s)`);
          }
        } catch (error) {
          this.log.warn(
            `shard ${i}: background incremental vacuum failed: ${(error as Error).message}`,
          );
        }
      }),
    );
  }

  /**
   * One round: per shard and database, up to sweepRowsPerBatch expired keys (a large hash's
   * fields go with its key row), then, with what is left of that budget, expired fields of
   * large hashes; a hash left without fields is deleted. Small hashes drop expired fields
   * whenever they are rewritten, and read as absent once every field has expired.
   * `more` says a shard used its whole budget, so expired rows probably remain.
   */
  private async sweepRound(): Promise<{ removed: number; more: boolean }> {
    const batch = limits.sweepRowsPerBatch;
    const keyspaces = this.store.openKeyspaces();
    const results = await Promise.all(
      this.store.shards.map((_, i) =>
        this.store.writeShard(i, (now) => {
          let budget = batch;
          const expired: [number, "expired" | "hexpired" | "del", Uint8Array][] = [];
          let removed = 0;
          // Keys removed that no read announced first (lazy-expiry.ts): INFO expired_keys.
          let fresh = 0;
          const lazy = this.store.lazyExpiry;
          for (const ks of keyspaces) {
            if (budget <= 0) break;
            const table = ks.keyTables[i]!;
            const s = table.statements;
            const listener = this.keyListener;
            let keys: number;
            if (listener === null && !lazy.pendingOn(i)) {
              keys = s.sweepStmt.run(now, budget).changes;
              fresh += keys;
            } else {
              // Someone listens (keyspace notifications, tracking), or listened while a read
              // announced a key: name the keys removed, and skip those a read announced.
              const rows = s.sweepKeysStmt.all(now, budget);
              keys = rows.length;
              for (const { key, expires_at } of rows) {
                if (!lazy.sweptUnannounced(i, table.idOf(key), expires_at)) continue;
                fresh++;
                if (listener !== null) expired.push([ks.index, "expired", keyBytes(key)]);
              }
            }
            removed += keys;
            budget -= keys;
            if (budget <= 0) break;
            const hashes = new Map<number, number>();
            for (const { hash_id } of s.fieldSweepStmt.all(now, budget)) {
              hashes.set(hash_id, (hashes.get(hash_id) ?? 0) + 1);
              budget--;
            }
            for (const [id, n] of hashes) {
              s.addFieldsStmt.run(id, -n);
              if (listener !== null) {
                const row = s.keyOfIdStmt.get(id);
                if (row) expired.push([ks.index, "hexpired", keyBytes(row.key)]);
              }
              const dropped = s.dropIfEmptyStmt.get(id);
              if (dropped) {
                const id = table.idOf(dropped.key);
                table.cache.delete(id);
                table.touch(id);
              }
              if (dropped && listener !== null)
                expired.push([ks.index, "del", keyBytes(dropped.key)]);
            }
          }
          return { removed, fresh, more: budget <= 0, expired };
        }),
      ),
    );
    let removed = 0;
    let fresh = 0;
    let more = false;
    for (const r of results) {
      removed += r.removed;
      fresh += r.fresh;
      more ||= r.more;
      // After COMMIT: listeners only hear of removals that happened.
      if (r.expired.length > 0) this.keyListener?.(r.expired);
    }
    if (fresh > 0) this.onExpired(fresh);
    return { removed, more };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.round(), delayMs);
    // The sweep alone must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let full = false;
    try {
      full = (await this.sweepRound()).more;
      await this.reclaim();
    } catch (error) {
      this.log.warn(`expiry sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
    this.schedule(full ? 10 : limits.sweepIdleIntervalMs);
  }
}
