/**
 * The background expiry sweep, over `blobs` and every namespace table of the hash commands.
 * Reads already hide expired rows; the sweep only reclaims their space. Each round deletes at
 * most limits.sweepRowsPerBatch rows per shard, through the shard's writer, so it shares group
 * commits with client writes and never holds a shard's write lock for long. A round that found
 * a full batch is followed by another one soon.
 * After every round each shard's freelist is checked and, past a threshold, a small
 * incremental vacuum is queued (storage/vacuum.ts: maybeAutoVacuum, thresholds in limits.ts:
 * autoVacuumFreelistPagesMin = 2048 pages, autoVacuumPagesPerRun = 1024 pages), so space
 * freed by expiry and by deletes goes back to the filesystem without an operator.
 */
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import type { Store } from "./store.ts";
import { maybeAutoVacuum } from "./vacuum.ts";

export class ExpirySweeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private stopped = false;
  /** Pages the background incremental vacuum freed since start (all shards). */
  autoVacuumPages = 0;
  /** Background incremental vacuums run (all shards). */
  autoVacuumRuns = 0;

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
   * One round: per shard, up to sweepRowsPerBatch expired rows of `blobs`, then, with what is
   * left of that budget, of the namespace tables (at most sweepRowsPerBatch tables visited,
   * resuming where the previous round stopped, so every table is reached eventually).
   * `more` says a shard used its whole budget, so expired rows probably remain.
   */
  private async sweepRound(): Promise<{ removed: number; more: boolean }> {
    const batch = limits.sweepRowsPerBatch;
    const namespaces = this.store.namespaces.shards;
    const results = await Promise.all(
      this.store.shards.map((shard, i) =>
        this.store.writeShard(i, (now) => {
          const plain = shard.blobs.sweepStmt.run(now, batch).changes;
          if (plain >= batch) return { removed: plain, more: true };
          const hashes = namespaces[i]!.sweep(now, batch - plain, batch);
          return { removed: plain + hashes.removed, more: hashes.more };
        }),
      ),
    );
    let removed = 0;
    let more = false;
    for (const r of results) {
      removed += r.removed;
      more ||= r.more;
    }
    if (removed > 0) this.onExpired(removed);
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
