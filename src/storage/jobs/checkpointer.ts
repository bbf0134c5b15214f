/**
 * Owns the checkpoint Worker (checkpoint-worker.ts) for one store: starts it with the shard
 * paths, logs failures, and stops it before the databases close. If the Worker cannot start,
 * SQLite's own automatic checkpoint (left on at a higher threshold as a safety net) keeps
 * the WAL bounded anyway, only on the request path.
 */
import type { Logger } from "../../log.ts";
import { workerUrl } from "../workers/worker-url.ts";

export interface CheckpointerOptions {
  paths: string[];
  walBytesThreshold: number;
  intervalMs: number;
  busyTimeoutMs: number;
  log?: Logger;
}

export class Checkpointer {
  private worker: Worker | null = null;
  checkpoints = 0;
  failures = 0;

  constructor(private readonly options: CheckpointerOptions) {}

  start(): void {
    try {
      this.worker = new Worker(workerUrl("checkpoint-worker.ts"));
    } catch (error) {
      this.options.log?.warn(
        `checkpoint worker unavailable, SQLite checkpoints inline: ${(error as Error).message}`,
      );
      return;
    }
    this.worker.onmessage = (event: MessageEvent) => {
      const msg = event.data as { type: string; shard?: number; ok?: boolean; error?: string };
      if (msg.type !== "checkpoint") return;
      if (msg.ok) this.checkpoints++;
      else {
        this.failures++;
        this.options.log?.warn(`shard ${msg.shard}: background checkpoint failed: ${msg.error}`);
      }
    };
    this.worker.onerror = (event) => {
      // SQLite's own automatic checkpoint (a higher threshold) keeps the WAL bounded instead.
      this.options.log?.error(
        `checkpoint worker failed (${event.message}); SQLite checkpoints inline from now on`,
      );
      this.worker?.terminate();
      this.worker = null;
    };
    (this.worker as unknown as { unref?: () => void }).unref?.();
    this.worker.postMessage({
      type: "start",
      paths: this.options.paths,
      walBytesThreshold: this.options.walBytesThreshold,
      intervalMs: this.options.intervalMs,
      busyTimeoutMs: this.options.busyTimeoutMs,
    });
  }

  /** Stops the Worker and waits until it closed its connections. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await new Promise<void>((resolve) => {
      const timeout = setTimeout(resolve, 2000);
      worker.onmessage = (event: MessageEvent) => {
        if ((event.data as { type: string }).type === "stopped") {
          clearTimeout(timeout);
          resolve();
        }
      };
      worker.postMessage({ type: "stop" });
    });
    worker.terminate();
  }
}
