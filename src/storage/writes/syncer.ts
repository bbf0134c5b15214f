/**
 * Group fsync off the event loop, for `synchronous = FULL`. Shards commit with SQLite's
 * NORMAL setting (no fsync inside COMMIT); the writer then asks this syncer to fdatasync the
 * WAL files it touched and releases the operations' results only when that is done. One
 * sync is in flight at a time; requests arriving meanwhile are merged into the next one, so
 * every fsync covers all the commits made while the previous one ran (group commit).
 * Durability equals SQLite's FULL: nothing is acknowledged before its WAL frames are synced.
 */
import { closeSync, fdatasyncSync, openSync } from "node:fs";
import type { Logger } from "../../log.ts";
import { workerUrl } from "../workers/worker-url.ts";

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WalSyncer {
  private worker: Worker | null = null;
  private nextId = 1;
  private inFlight: { id: number; paths: string[]; waiters: Waiter[] } | null = null;
  /** Set when the Worker failed after starting: fsyncs then run here, blocking, but durable. */
  private inline = false;
  private log: Logger | undefined;
  private queuedPaths = new Set<string>();
  private queuedWaiters: Waiter[] = [];
  syncs = 0;
  /** Called whenever a sync finished and none is in flight (the scheduler commits then). */
  onIdle: (() => void) | null = null;

  /** True while an fsync is running. */
  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Starts the Worker; returns false when it cannot run (the caller keeps SQLite's FULL). */
  start(log?: Logger): boolean {
    this.log = log;
    try {
      this.worker = new Worker(workerUrl("fsync-worker.ts"));
    } catch (error) {
      log?.warn(`fsync worker unavailable, SQLite fsyncs inline: ${(error as Error).message}`);
      return false;
    }
    this.worker.onmessage = (event: MessageEvent<{ id: number; error?: string }>) =>
      this.done(event.data);
    this.worker.onerror = (event) => this.workerFailed(event.message);
    (this.worker as unknown as { unref?: () => void }).unref?.();
    return true;
  }

  /** Resolves once every listed WAL file has been synced after this call. */
  sync(paths: Iterable<string>): Promise<void> {
    for (const p of paths) this.queuedPaths.add(p);
    const promise = new Promise<void>((resolve, reject) =>
      this.queuedWaiters.push({ resolve, reject }),
    );
    if (!this.inFlight) this.flush();
    return promise;
  }

  private flush(): void {
    if (this.queuedWaiters.length === 0) return;
    const id = this.nextId++;
    const paths = [...this.queuedPaths];
    this.inFlight = { id, paths, waiters: this.queuedWaiters };
    this.queuedWaiters = [];
    this.queuedPaths = new Set();
    if (this.inline || !this.worker) this.syncHere(id, paths);
    else this.worker.postMessage({ id, paths });
  }

  /** The Worker died (or never loaded): log it once and finish every sync on this thread. */
  private workerFailed(message: string): void {
    if (this.inline) return;
    this.inline = true;
    this.log?.error(`fsync worker failed (${message}); WAL fsyncs now run on the event loop`);
    this.worker?.terminate();
    this.worker = null;
    const batch = this.inFlight;
    if (batch) queueMicrotask(() => this.syncHere(batch.id, batch.paths));
  }

  private syncHere(id: number, paths: string[]): void {
    let error: string | undefined;
    for (const path of paths) {
      try {
        const fd = openSync(path, "r+");
        try {
          fdatasyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") error = String((e as Error).message);
      }
    }
    queueMicrotask(() => this.done({ id, error }));
  }

  private done(msg: { id: number; error?: string }): void {
    const batch = this.inFlight;
    if (!batch || batch.id !== msg.id) return;
    this.inFlight = null;
    this.syncs++;
    if (msg.error) for (const w of batch.waiters) w.reject(new Error(`fsync failed: ${msg.error}`));
    else for (const w of batch.waiters) w.resolve();
    this.flush();
    if (!this.inFlight) this.onIdle?.();
  }

  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    const error = new Error("fsync worker stopped");
    for (const w of [...(this.inFlight?.waiters ?? []), ...this.queuedWaiters]) w.reject(error);
    this.inFlight = null;
    this.queuedWaiters = [];
  }
}
