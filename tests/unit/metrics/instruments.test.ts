/**
 * The metric primitives and the text exposition: bucket boundaries (le is inclusive),
 * cumulative rendering, label escaping and number formatting, and the registry's hot-path
 * recording calls.
 */
import { describe, expect, test } from "bun:test";
import {
  BATCH_SIZE_BUCKETS,
  DURATION_BUCKETS_SECONDS,
  escapeLabel,
  formatValue,
  Histogram,
  labelText,
  TextExposition,
} from "../../../src/metrics/instruments.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";

describe("Histogram", () => {
  test("an observation equal to a bound lands in that bound's bucket (le is inclusive)", () => {
    const h = new Histogram([1, 2, 5]);
    for (const v of [0, 1, 1.5, 2, 5, 5.0001, 100]) h.observe(v);
    expect([...h.counts]).toEqual([2, 2, 1, 2]);
    expect(h.count).toBe(7);
    expect(h.sum).toBeCloseTo(114.5001, 6);
  });

  test("bounds must increase", () => {
    expect(() => new Histogram([1, 1])).toThrow("increase");
    expect(() => new Histogram([2, 1])).toThrow("increase");
  });

  test("the shipped bucket sets are valid and span 50µs..1s and 1..4096 operations", () => {
    expect(() => new Histogram(DURATION_BUCKETS_SECONDS)).not.toThrow();
    expect(() => new Histogram(BATCH_SIZE_BUCKETS)).not.toThrow();
    expect(DURATION_BUCKETS_SECONDS[0]).toBe(0.00005);
    expect(DURATION_BUCKETS_SECONDS.at(-1)).toBe(1);
    expect(BATCH_SIZE_BUCKETS[0]).toBe(1);
  });
});

describe("text exposition", () => {
  test("label values escape backslash, double quote and newline", () => {
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(labelText([])).toBe("");
    expect(
      labelText([
        ["k", 'v"'],
        ["z", "1"],
      ]),
    ).toBe('{k="v\\"",z="1"}');
  });

  test("values are formatted as Prometheus expects", () => {
    expect(formatValue(3)).toBe("3");
    expect(formatValue(0.25)).toBe("0.25");
    expect(formatValue(Number.NaN)).toBe("NaN");
    expect(formatValue(Number.POSITIVE_INFINITY)).toBe("+Inf");
    expect(formatValue(Number.NEGATIVE_INFINITY)).toBe("-Inf");
  });

  test("a histogram renders cumulative buckets ending in +Inf, then _sum and _count", () => {
    const h = new Histogram([0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(3);
    const text = new TextExposition()
      .family("x_seconds", "histogram", "Help text.")
      .histogram("x_seconds", h, [["op", "get"]])
      .toString();
    expect(text).toBe(
      [
        "# HELP x_seconds Help text.",
        "# TYPE x_seconds histogram",
        'x_seconds_bucket{op="get",le="0.1"} 1',
        'x_seconds_bucket{op="get",le="1"} 2',
        'x_seconds_bucket{op="get",le="+Inf"} 3',
        'x_seconds_sum{op="get"} 3.55',
        'x_seconds_count{op="get"} 3',
        "",
      ].join("\n"),
    );
  });

  test("help text escapes backslashes and newlines", () => {
    const text = new TextExposition().family("a_total", "counter", "x\\y\nz").toString();
    expect(text).toStartWith("# HELP a_total x\\\\y\\nz\n");
  });
});

describe("MetricsRegistry recording", () => {
  test("onCommit adds up operations per shard and observes batch size and duration", () => {
    const registry = new MetricsRegistry();
    registry.onCommit(1, 10, 2);
    registry.onCommit(1, 5, 1);
    registry.onCommit(0, 1, 0.01);
    const internals = registry as unknown as {
      batches: number;
      storageOps: number[];
      batchSize: Histogram;
      batchDuration: Histogram;
    };
    expect(internals.batches).toBe(3);
    expect(internals.storageOps).toEqual([1, 15]);
    expect(internals.batchSize.sum).toBe(16);
    expect(internals.batchDuration.sum).toBeCloseTo(0.00301, 8);
  });

  test("a command series is created once per name; rejected calls count but are not timed", () => {
    const registry = new MetricsRegistry();
    registry.commandDone("get", 0.0001);
    registry.commandDone("get", 0.002);
    registry.commandRejected("get");
    const series = (
      registry as unknown as { commands: Map<string, { total: number; duration: Histogram }> }
    ).commands;
    expect(series.size).toBe(1);
    expect(series.get("get")!.total).toBe(3);
    expect(series.get("get")!.duration.count).toBe(2);
  });
});
