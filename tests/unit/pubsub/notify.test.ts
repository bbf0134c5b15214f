/** notify-keyspace-events flags: parsed and printed as Redis 7's keyspaceEventsFlagsToString. */
import { describe, expect, test } from "bun:test";
import { formatFlags, N, parseFlags } from "../../../src/pubsub/notify.ts";

describe("notify-keyspace-events flags", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["KEA", "AKE"],
    ["Ex", "xE"],
    ["AKEmn", "AKEm"],
    ["g$hxn", "g$hxn"],
    ["KEg$lshzxetdn", "AKE"],
    ["Kh", "hK"],
  ];
  for (const [given, shown] of cases) {
    test(`"${given}" reads back as "${shown}"`, () => {
      expect(formatFlags(parseFlags(given)!)).toBe(shown);
    });
  }

  test("an unknown character is refused", () => {
    expect(parseFlags("KEq")).toBeNull();
  });

  test("A covers every class but key-miss and new-key", () => {
    const all = parseFlags("A")!;
    expect(all & N.generic && all & N.expired && all & N.hash).toBeTruthy();
    expect(all & N.keyMiss).toBe(0);
    expect(all & N.newKey).toBe(0);
  });
});
