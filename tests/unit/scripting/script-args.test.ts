import { describe, expect, test } from "bun:test";
import { numkeysPositions, splitKeys } from "../../../src/commands/scripting/script-args.ts";

const args = (...a: string[]) => a.map((s) => new TextEncoder().encode(s));

describe("numkeys arguments", () => {
  test("keys come after numkeys, the rest are arguments", () => {
    const { keys, argv } = splitKeys(args("EVAL", "body", "2", "k1", "k2", "a1"));
    expect(keys.map((k) => new TextDecoder().decode(k))).toEqual(["k1", "k2"]);
    expect(argv.map((k) => new TextDecoder().decode(k))).toEqual(["a1"]);
  });
  test("Redis's errors for a bad numkeys", () => {
    expect(() => splitKeys(args("EVAL", "b", "-1"))).toThrow("Number of keys can't be negative");
    expect(() => splitKeys(args("EVAL", "b", "2", "k"))).toThrow(
      "Number of keys can't be greater than number of args",
    );
    expect(() => splitKeys(args("EVAL", "b", "x"))).toThrow(
      "value is not an integer or out of range",
    );
  });
  test("key positions for routing follow numkeys and ignore a bad one", () => {
    expect(numkeysPositions(args("EVAL", "b", "2", "k1", "k2", "a"))).toEqual([3, 4]);
    expect(numkeysPositions(args("FCALL", "f", "0", "a"))).toEqual([]);
    expect(numkeysPositions(args("EVAL", "b", "9", "k"))).toEqual([]);
    expect(numkeysPositions(args("EVAL", "b", "x"))).toEqual([]);
  });
});
