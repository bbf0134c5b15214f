/**
 * INFO's instantaneous_* fields, computed as Redis does: every 100 ms the cumulative counters
 * are sampled, and the rate is the mean over the last 16 samples (1.6 s). One unref'd timer
 * per server; nothing on the request path.
 */
import type { ServerStats } from "../commands/spec.ts";

const SAMPLE_MS = 100;
const SAMPLES = 16;

interface Series {
  last: number;
  lastAt: number;
  rates: number[];
  next: number;
}

export class InstantRates {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly series: Record<"ops" | "input" | "output", Series>;

  constructor(private readonly stats: ServerStats) {
    const fresh = (): Series => ({
      last: 0,
      lastAt: performance.now(),
      rates: new Array(SAMPLES).fill(0),
      next: 0,
    });
    this.series = { ops: fresh(), input: fresh(), output: fresh() };
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Commands per second, and input/output kilobytes per second. */
  get opsPerSec(): number {
    return Math.round(mean(this.series.ops));
  }
  get inputKbps(): number {
    return mean(this.series.input) / 1024;
  }
  get outputKbps(): number {
    return mean(this.series.output) / 1024;
  }

  private sample(): void {
    const now = performance.now();
    record(this.series.ops, this.stats.commandsProcessed, now);
    record(this.series.input, this.stats.netInputBytes, now);
    record(this.series.output, this.stats.netOutputBytes, now);
  }
}

function record(s: Series, value: number, now: number): void {
  const elapsed = (now - s.lastAt) / 1000;
  // A counter reset (CONFIG RESETSTAT) must not produce a negative rate.
  s.rates[s.next] = elapsed > 0 && value >= s.last ? (value - s.last) / elapsed : 0;
  s.next = (s.next + 1) % SAMPLES;
  s.last = value;
  s.lastAt = now;
}

function mean(s: Series): number {
  let total = 0;
  for (const r of s.rates) total += r;
  return total / SAMPLES;
}
