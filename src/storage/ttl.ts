/**
 * The background expiry sweep. Reads already hide expired rows; the sweep only reclaims their
 * space. Each round deletes at most limits.sweepRowsPerBatch rows per shard, through the
 * shard's writer, so it shares group commits with client writes and never holds a shard's
 * write lock for long. A round that found a full batch is followed by another one soon.
 */
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import type { Store } from "./store.ts";

export class ExpirySweeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private stopped = false;

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
    const batch = limits.sweepRowsPerBatch;
    const counts = await Promise.all(
      this.store.shards.map((shard, i) =>
        this.store.writeShard(i, (now) => shard.blobs.sweepStmt.run(now, batch).changes),
      ),
    );
    const removed = counts.reduce((a, b) => a + b, 0);
    if (removed > 0) this.onExpired(removed);
    return removed;
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
      const removed = await this.sweepOnce();
      full = removed >= limits.sweepRowsPerBatch;
    } catch (error) {
      this.log.warn(`expiry sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
    this.schedule(full ? 10 : limits.sweepIdleIntervalMs);
  }
}
