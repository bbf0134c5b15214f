import { describe, expect, test } from "bun:test";
import { keySlot, parseSlot, rangesOf, rangeText } from "../../../src/cluster/slots.ts";

const b = (s: string) => new TextEncoder().encode(s);

describe("key slots", () => {
  test("a key's slot is CRC16 of the key modulo 16384, as Redis computes it", () => {
    // Values from redis-server 7.0's CLUSTER KEYSLOT.
    expect(keySlot(b("foo"))).toBe(12182);
    expect(keySlot(b("bar"))).toBe(5061);
    expect(keySlot(b(""))).toBe(0);
    expect(keySlot(b("123456789"))).toBe(12739);
  });

  test("a hash tag picks the slot: only the first non-empty {…} counts", () => {
    expect(keySlot(b("{user1000}.following"))).toBe(keySlot(b("user1000")));
    expect(keySlot(b("foo{}{bar}"))).toBe(keySlot(b("foo{}{bar}")));
    expect(keySlot(b("foo{}{bar}"))).not.toBe(keySlot(b("bar")));
    expect(keySlot(b("foo{{bar}}zap"))).toBe(keySlot(b("{bar")));
    expect(keySlot(b("foo{bar}{zap}"))).toBe(keySlot(b("bar")));
  });

  test("binary keys hash by their bytes", () => {
    expect(keySlot(new Uint8Array([0xff, 0x00, 0x7b, 0x61, 0x7d]))).toBe(keySlot(b("a")));
  });

  test("slot arguments are integers in 0..16383", () => {
    expect(parseSlot("0")).toBe(0);
    expect(parseSlot("16383")).toBe(16383);
    expect(parseSlot("16384")).toBeNull();
    expect(parseSlot("-1")).toBeNull();
    expect(parseSlot("1a")).toBeNull();
  });

  test("ranges are contiguous runs, printed as CLUSTER NODES prints them", () => {
    const owned = new Set([0, 1, 2, 5, 16383]);
    const ranges = rangesOf((s) => owned.has(s));
    expect(ranges).toEqual([
      [0, 2],
      [5, 5],
      [16383, 16383],
    ]);
    expect(ranges.map(rangeText)).toEqual(["0-2", "5", "16383"]);
  });
});
