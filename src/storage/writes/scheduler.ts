/**
 * Group commit's pass over every shard: the scheduler flushes all shards' writer queues
 * (shard-writer.ts) in one synchronous pass per event-loop turn or batch window, and with
 * synchronous = FULL holds the results until the WAL syncer's fsync returns.
 */
import { StorageError } from "../../errors.ts";
import type { MultiOp, ShardWriter, WriteFn, WritePass, WriterEvents } from "./shard-writer.ts";
import type { WalSyncer } from "./syncer.ts";

/** Flushes all shards' queues together, once per event-loop turn or batch window. */
export class WriteScheduler implements WritePass {
  readonly writers: ShardWriter[] = [];
  /** True while a flush pass runs: row views then write straight through to SQLite. */
  flushing = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  /** Results of this pass waiting for the WAL syncer, and the WAL files they need synced. */
  private held: { paths: Set<string>; ok: (() => void)[]; failed: ((e: Error) => void)[] } | null =
    null;

  constructor(
    private readonly batchTimeoutMs: number,
    private readonly now: () => number,
    readonly events: WriterEvents = {},
    /** Present when synchronous = FULL is served by fsyncs off the event loop. */
    private readonly syncer: WalSyncer | null = null,
  ) {
    // Group commit around the fsync: while one is in flight, writes accumulate (their results
    // would wait for the next fsync anyway) and are committed together when it returns.
    if (syncer) syncer.onIdle = () => this.afterSync();
  }

  private waitingForSync = false;

  private afterSync(): void {
    if (!this.waitingForSync) return;
    this.waitingForSync = false;
    if (this.batchTimeoutMs > 0) setTimeout(this.run, this.batchTimeoutMs);
    else setImmediate(this.run);
  }

  /**
   * Delivers committed results now, or (with a syncer) once the given shards' WAL files are
   * synced. Everything committed in one pass shares one fsync request.
   */
  release(shardPaths: string[], ok: () => void, failed: (error: Error) => void): void {
    if (!this.syncer) {
      ok();
      return;
    }
    if (!this.held) this.held = { paths: new Set(), ok: [], failed: [] };
    for (const p of shardPaths) this.held.paths.add(`${p}-wal`);
    this.held.ok.push(ok);
    this.held.failed.push(failed);
  }

  /** Waits until every result already released has been synced (shutdown). */
  async synced(): Promise<void> {
    if (this.syncer) await this.syncer.sync([]).catch(() => {});
  }

  add(writer: ShardWriter): void {
    this.writers.push(writer);
  }

  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.syncer?.busy) {
      this.waitingForSync = true;
      return;
    }
    if (this.batchTimeoutMs > 0) setTimeout(this.run, this.batchTimeoutMs);
    else setImmediate(this.run);
  }

  get pendingOps(): number {
    let n = 0;
    for (const w of this.writers) n += w.depth;
    return n;
  }

  /**
   * Queues `fn` to run once inside a transaction on each of `writers` (BEGIN IMMEDIATE on all,
   * fn, COMMIT on all), after everything queued before it on each of those shards. Markers go
   * into every involved queue at once, in one global order, so the scheduler can always find a
   * marker that heads all of its queues: no deadlock, and per-shard FIFO order is kept.
   */
  submitMulti<T>(writers: ShardWriter[], fn: WriteFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op: MultiOp = { fn, writers, resolve: resolve as (v: unknown) => void, reject };
      for (const w of writers) w.enqueueMulti(op);
      this.notify();
    });
  }

  /** Runs queued writes now (used by shutdown and by tests). */
  readonly run = (): void => {
    this.scheduled = false;
    this.flushing = true;
    try {
      this.pass();
    } finally {
      this.flushing = false;
    }
    const held = this.held;
    if (held) {
      this.held = null;
      this.syncer!.sync(held.paths).then(
        () => {
          for (const ok of held.ok) ok();
        },
        (error: Error) => {
          const failure = new StorageError("the WAL could not be synced to disk", -1, "fsync", {
            cause: error,
          });
          for (const failed of held.failed) failed(failure);
        },
      );
    }
    if (this.pendingOps === 0 && this.idleWaiters.length > 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  };

  private pass(): void {
    // Operations queued while flushing (by callbacks of resolved promises) run in a later pass.
    for (;;) {
      for (const writer of this.writers) writer.flush(this.now);
      let ran = false;
      for (const writer of this.writers) {
        const op = writer.headMulti;
        if (op?.writers.every((w) => w.headMulti === op && w.held === null)) {
          this.runMulti(op);
          ran = true;
        }
      }
      if (!ran) break;
    }
  }

  /**
   * Runs one multi-shard operation: every involved shard begins, `fn` runs once, every shard
   * commits. The commits are separate SQLite files: a crash between two of them can leave
   * the operation applied on some shards only (documented in the README).
   */
  private runMulti(op: MultiOp): void {
    for (const w of op.writers) w.shiftMulti();
    const begun: ShardWriter[] = [];
    try {
      for (const w of op.writers) {
        w.shard.beginImmediate();
        begun.push(w);
      }
      const result = op.fn(this.now());
      for (const w of op.writers) w.shard.commitTransaction();
      this.release(
        op.writers.map((w) => w.shard.path),
        () => op.resolve(result),
        (error) => op.reject(error),
      );
    } catch (error) {
      for (const w of begun) w.shard.rollbackTransaction();
      op.reject(error);
    }
  }

  /** Resolves when every queue is empty. */
  async drain(): Promise<void> {
    for (;;) {
      // A shard held by an async barrier (a VACUUM in a Worker) finishes that first.
      const held = this.writers.find((w) => w.held !== null)?.held;
      if (held) {
        await held;
        continue;
      }
      if (this.pendingOps === 0) break;
      // Commit now rather than waiting out batch_timeout_ms (shutdown must not linger).
      this.run();
      await Promise.resolve();
    }
    await this.synced();
  }
}
