/**
 * Group commit, one shard's side (the pass over every shard is scheduler.ts). Each shard has
 * one writer queue; the scheduler flushes every shard's queue in
 * one synchronous pass per event-loop turn (or after batch_timeout_ms), each shard in
 * `BEGIN IMMEDIATE` transactions of at most batch_size operations. Every operation gets its
 * own result, delivered only after its transaction commits. Because the pass is synchronous
 * and reads run on the same thread, no client can observe a multi-shard command half applied.
 * Maintenance work (vacuum) runs as a barrier between transactions.
 */
import { StorageError } from "../../errors.ts";
import { limits } from "../../limits.ts";
import type { Shard } from "../engine/shard.ts";

export type WriteFn<T> = (now: number) => T;

interface QueuedOp {
  fn: WriteFn<unknown>;
  barrier: boolean;
  /** For an async barrier: work that runs elsewhere (a Worker) while this queue is held. */
  hold?: () => Promise<unknown>;
  /** Set for a multi-shard operation: the same marker sits in every involved shard's queue. */
  multi?: MultiOp;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One operation that must commit on several shards, run once all of them reach it. */
export interface MultiOp {
  fn: WriteFn<unknown>;
  writers: ShardWriter[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What a shard's writer needs of the pass over every shard (scheduler.ts implements it). */
export interface WritePass {
  readonly events: WriterEvents;
  /** Asks for a flush pass (this queue got work). */
  notify(): void;
  /** Delivers results once the WAL files of these shards are synced (at once without a syncer). */
  release(shardPaths: string[], ok: () => void, failed: (error: Error) => void): void;
}

export interface WriterEvents {
  /** A transaction failed as a whole (BEGIN or COMMIT). */
  onCommitError?(shard: number, error: unknown, ops: number): void;
  /** A transaction committed. */
  onCommit?(shard: number, ops: number, durationMs: number): void;
}

export class ShardWriter {
  private queue: QueuedOp[] = [];
  private waitingForRoom: (() => void)[] = [];
  lastCommitError: string | null = null;
  /**
   * Operations queued that read and write SQL directly (hash field writes, multi-shard
   * commands) and have not settled yet. While any is queued, an async-mode overlay write to
   * this shard must not decide its reply from SQL that lacks them (Keyspace.writeRows).
   */
  directOps = 0;

  constructor(
    readonly shard: Shard,
    private readonly scheduler: WritePass,
    private readonly batchSize: number,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /** False when the queue is at its bound; new async writes then wait for room. */
  get hasRoom(): boolean {
    return this.queue.length < limits.writerQueueOpsMax;
  }

  waitForRoom(): Promise<void> {
    return new Promise<void>((r) => {
      this.waitingForRoom.push(r);
      this.scheduler.notify();
    });
  }

  /** Queues `fn` to run inside the next transaction; resolves with its result after COMMIT. */
  submit<T>(fn: WriteFn<T>): Promise<T> {
    if (this.queue.length >= limits.writerQueueOpsMax) {
      return new Promise<void>((r) => this.waitingForRoom.push(r)).then(() => this.submit(fn));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, barrier: false, resolve: resolve as (v: unknown) => void, reject });
      this.scheduler.notify();
    });
  }

  /** Queues `fn` to run outside any transaction, after everything queued before it. */
  barrier<T>(fn: WriteFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, barrier: true, resolve: resolve as (v: unknown) => void, reject });
      this.scheduler.notify();
    });
  }

  /**
   * Queues `work` after everything queued before it, then holds this shard's queue until the
   * promise it returns settles: writes queued after it wait, reads go on. Maintenance that
   * runs on another connection (a Worker's VACUUM) uses it, so this thread keeps serving.
   */
  barrierAsync<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        fn: () => undefined,
        barrier: true,
        hold: work,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.scheduler.notify();
    });
  }

  /** Settles when the current async barrier is done; null while none holds this queue. */
  held: Promise<void> | null = null;

  /** The multi-shard operation waiting at the head of this queue, if any. */
  get headMulti(): MultiOp | undefined {
    return this.queue[0]?.multi;
  }

  /** Queues the marker of a multi-shard operation (the scheduler runs it). */
  enqueueMulti(op: MultiOp): void {
    this.queue.push({
      fn: op.fn,
      barrier: false,
      multi: op,
      resolve: op.resolve,
      reject: op.reject,
    });
  }

  /** Removes the multi-shard marker at the head once the scheduler ran it. */
  shiftMulti(): void {
    this.queue.shift();
  }

  /**
   * Runs queued operations up to the first multi-shard marker (or all of them).
   * Called only by the scheduler.
   */
  flush(now: () => number): void {
    while (this.queue.length > 0 && this.held === null) {
      const first = this.queue[0]!;
      if (first.multi) break;
      if (first.hold) {
        this.queue.shift();
        this.startHold(first);
        break;
      }
      if (first.barrier) {
        this.queue.shift();
        settle(first, now);
        continue;
      }
      let end = 0;
      while (
        end < this.queue.length &&
        end < this.batchSize &&
        !this.queue[end]!.barrier &&
        !this.queue[end]!.multi
      ) {
        end++;
      }
      const batch = this.queue.splice(0, end);
      this.runTransaction(batch, now);
    }
    if (this.waitingForRoom.length > 0) {
      for (const wake of this.waitingForRoom.splice(0)) wake();
    }
  }

  private startHold(op: QueuedOp): void {
    let work: Promise<unknown>;
    try {
      work = op.hold!();
    } catch (error) {
      op.reject(error);
      return;
    }
    this.held = work
      .then(
        (value) => op.resolve(value),
        (error) => op.reject(error),
      )
      .finally(() => {
        this.held = null;
        this.scheduler.notify();
      });
  }

  private runTransaction(batch: QueuedOp[], now: () => number): void {
    const shard = this.shard;
    const started = performance.now();
    const results: { ok: boolean; value: unknown }[] = new Array(batch.length);
    let committedFrom = 0;
    try {
      shard.beginImmediate();
    } catch (error) {
      this.fail(batch, error);
      return;
    }
    const at = now();
    for (let i = 0; i < batch.length; i++) {
      try {
        shard.savepoint();
        results[i] = { ok: true, value: batch[i]!.fn(at) };
        shard.releaseSavepoint();
      } catch (error) {
        results[i] = { ok: false, value: error };
        // What this operation wrote before it threw (half a hash conversion, the statements
        // before one that met a full disk) must not commit with the others.
        if (shard.inTransaction) {
          try {
            shard.rollbackToSavepoint();
          } catch {
            shard.rollbackTransaction();
          }
        }
        if (!shard.inTransaction) {
          // SQLite rolled the whole transaction back (disk full, I/O error): everything before
          // this operation in the batch is lost too, so those operations fail as well.
          const lost = new StorageError("transaction rolled back", shard.index, "write", {
            cause: error,
          });
          for (let j = committedFrom; j < i; j++) results[j] = { ok: false, value: lost };
          try {
            shard.beginImmediate();
            committedFrom = i + 1;
          } catch (beginError) {
            for (let j = i + 1; j < batch.length; j++)
              results[j] = { ok: false, value: beginError };
            this.deliver(batch, results);
            this.scheduler.events.onCommitError?.(shard.index, beginError, batch.length);
            return;
          }
        }
      }
    }
    try {
      shard.commitTransaction();
      this.lastCommitError = null;
    } catch (error) {
      shard.rollbackTransaction();
      const failed = new StorageError("commit failed", shard.index, "commit", { cause: error });
      for (let j = committedFrom; j < batch.length; j++) {
        if (results[j]!.ok) results[j] = { ok: false, value: failed };
      }
      this.lastCommitError = String((error as Error)?.message ?? error);
      this.scheduler.events.onCommitError?.(shard.index, error, batch.length);
    }
    this.scheduler.events.onCommit?.(shard.index, batch.length, performance.now() - started);
    if (this.lastCommitError !== null) this.deliver(batch, results);
    else {
      // With a WAL syncer, results wait until this shard's WAL is on disk.
      this.scheduler.release(
        [this.shard.path],
        () => this.deliver(batch, results),
        (error) =>
          this.deliver(
            batch,
            results.map((r) => (r.ok ? { ok: false, value: error } : r)),
          ),
      );
    }
  }

  private deliver(batch: QueuedOp[], results: { ok: boolean; value: unknown }[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      if (r.ok) batch[i]!.resolve(r.value);
      else batch[i]!.reject(r.value);
    }
  }

  private fail(batch: QueuedOp[], error: unknown): void {
    this.lastCommitError = String((error as Error)?.message ?? error);
    this.scheduler.events.onCommitError?.(this.shard.index, error, batch.length);
    const wrapped = new StorageError("could not start a transaction", this.shard.index, "begin", {
      cause: error,
    });
    for (const op of batch) op.reject(wrapped);
  }
}

function settle(op: QueuedOp, now: () => number): void {
  try {
    op.resolve(op.fn(now()));
  } catch (error) {
    op.reject(error);
  }
}
