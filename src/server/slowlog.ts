/**
 * The slow log: a bounded ring of the commands that took at least `thresholdUsec`. Dispatch
 * times every command anyway (INFO commandstats) and hands a slow one to record(), which
 * copies its arguments (views of the receive buffer). With no slow commands the cost is one
 * comparison per command. Defaults, entry format and argument truncation follow Redis
 * (slowlog-log-slower-than 10000 µs, slowlog-max-len 128); SLOWLOG is commands/server/observability.ts.
 */
import { limits } from "../limits.ts";

const ARGS_MAX = limits.slowlogArgsShown;
const ARG_BYTES_MAX = limits.slowlogArgBytesShown;
const decoder = new TextDecoder();

export interface SlowlogEntry {
  readonly id: number;
  /** Unix time in seconds when the command finished. */
  readonly time: number;
  readonly durationUsec: number;
  readonly args: readonly string[];
  readonly addr: string;
  readonly name: string;
}

export class SlowLog {
  /** Commands taking at least this long are logged; negative disables, 0 logs everything. */
  thresholdUsec = 10_000;
  /** Entries kept; the oldest is dropped first. */
  maxLen = 128;
  private entries: SlowlogEntry[] = [];
  private nextId = 0;

  /** True when a command that took `usec` belongs in the log (the hot-path check). */
  wants(usec: number): boolean {
    return this.thresholdUsec >= 0 && usec >= this.thresholdUsec && this.maxLen > 0;
  }

  record(
    args: readonly Uint8Array[],
    usec: number,
    client: { readonly addr: string; readonly name: string | null },
  ): void {
    const shown: string[] = [];
    const n = Math.min(args.length, ARGS_MAX);
    for (let i = 0; i < n; i++) {
      if (i === ARGS_MAX - 1 && args.length > ARGS_MAX) {
        shown.push(`... (${args.length - ARGS_MAX + 1} more arguments)`);
        break;
      }
      const a = args[i]!;
      shown.push(
        a.length > ARG_BYTES_MAX
          ? `${decoder.decode(a.subarray(0, ARG_BYTES_MAX))}... (${a.length - ARG_BYTES_MAX} more bytes)`
          : decoder.decode(a),
      );
    }
    this.entries.push({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      durationUsec: Math.round(usec),
      args: shown,
      addr: client.addr,
      name: client.name ?? "",
    });
    this.trim();
  }

  /** Newest first; `count` < 0 means all. */
  newest(count: number): SlowlogEntry[] {
    const n = count < 0 ? this.entries.length : Math.min(count, this.entries.length);
    return this.entries.slice(this.entries.length - n).reverse();
  }

  get length(): number {
    return this.entries.length;
  }

  reset(): void {
    this.entries = [];
  }

  /** Applies a lowered maxLen at once, as Redis does. */
  trim(): void {
    const excess = this.entries.length - Math.max(0, this.maxLen);
    if (excess > 0) this.entries.splice(0, excess);
  }
}
