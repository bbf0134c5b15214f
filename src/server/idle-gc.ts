/**
 * Returns memory after a burst. JavaScriptCore collects garbage when JavaScript allocates, so
 * a server that goes quiet right after heavy traffic keeps the buffers that traffic left
 * behind (values read from SQLite and evicted from the value cache, receive buffers) for as
 * long as it stays quiet. Measured: 1 GiB of 16 KiB values written and read back left RSS at
 * ~350 MiB for as long as the server idled. When a whole interval passed without a command
 * and enough bytes moved since the last collection, this runs one full collection.
 */
import type { ServerStats } from "../commands/spec.ts";
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";

export class IdleCollector {
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastCommands = -1;
  private trafficAtCollect = 0;
  /** Full collections run so far. */
  collections = 0;

  constructor(
    private readonly stats: ServerStats,
    private readonly collect: () => void = () => Bun.gc(true),
    private readonly log?: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), limits.idleGcIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; public so tests can drive it without waiting for the timer. */
  tick(): void {
    const { commandsProcessed, netInputBytes, netOutputBytes } = this.stats;
    const traffic = netInputBytes + netOutputBytes;
    const quiet = commandsProcessed === this.lastCommands;
    this.lastCommands = commandsProcessed;
    if (!quiet || traffic - this.trafficAtCollect < limits.idleGcTrafficBytesMin) return;
    this.trafficAtCollect = traffic;
    this.collections++;
    const started = performance.now();
    this.collect();
    this.log?.debug(`idle collection took ${(performance.now() - started).toFixed(1)} ms`);
  }
}
