/**
 * src/commands/glob.ts: Redis-style glob matching on raw bytes, as KEYS and SCAN MATCH use it.
 * Unit cases first, then a parity check: the same keys and patterns through KEYS on our
 * server and on a real Redis 7 must select the same keys.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { globMatch, matchesAll } from "../../../src/commands/glob.ts";
import { RawClient, type RedisRef, startRedisRef } from "../../helpers/redis-ref.ts";
import { resp, startTestServer, type TestServer } from "../../helpers/server.ts";

const b = (s: string) => Buffer.from(s, "latin1");
const match = (pattern: string, subject: string) => globMatch(b(pattern), b(subject));

describe("globMatch", () => {
  const cases: [string, string, boolean][] = [
    ["*", "", true],
    ["*", "anything", true],
    ["", "", true],
    ["", "a", false],
    ["a", "", false],
    ["hello", "hello", true],
    ["hello", "Hello", false],
    ["h?llo", "hello", true],
    ["h?llo", "hllo", false],
    ["h?llo", "heello", false],
    ["h*llo", "hllo", true],
    ["h*llo", "heeeello", true],
    ["h*llo", "hello world", false],
    ["h[ae]llo", "hello", true],
    ["h[ae]llo", "hallo", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[^e]llo", "hllo", false],
    ["h[a-b]llo", "hallo", true],
    ["h[a-b]llo", "hbllo", true],
    ["h[a-b]llo", "hcllo", false],
    ["h[b-a]llo", "hallo", true],
    ["h\\*llo", "h*llo", true],
    ["h\\*llo", "hello", false],
    ["\\?", "?", true],
    ["\\?", "a", false],
    ["[\\]]", "]", true],
    ["[\\-]", "-", true],
    ["[\\-]", "a", false],
    ["a\\", "a\\", true],
    ["*a", "bba", true],
    ["*a", "bbab", false],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXcYYb", false],
    ["**", "x", true],
    ["*?", "", false],
    ["*?", "x", true],
    ["h[ab", "ha", true],
    ["h[ab", "hc", false],
    ["[]", "a", false],
    ["[^]", "a", true],
  ];
  for (const [pattern, subject, expected] of cases) {
    test(`${JSON.stringify(pattern)} ${expected ? "matches" : "does not match"} ${JSON.stringify(subject)}`, () => {
      expect(match(pattern, subject)).toBe(expected);
    });
  }

  test("matching works on raw bytes, including NUL and bytes above 127", () => {
    const subject = new Uint8Array([0, 255, 128, 10]);
    expect(globMatch(new Uint8Array([0, 63, 42]), subject)).toBe(true);
    expect(globMatch(new Uint8Array([42, 10]), subject)).toBe(true);
    expect(globMatch(new Uint8Array([91, 200, 45, 255, 93, 42]), subject.subarray(1))).toBe(true);
    expect(globMatch(new Uint8Array([1, 42]), subject)).toBe(false);
  });

  test("a hostile pattern with many stars runs in linear-ish time", () => {
    const pattern = b(`${"a*".repeat(200)}b`);
    const subject = b("a".repeat(20_000));
    const started = performance.now();
    expect(globMatch(pattern, subject)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("matchesAll", () => {
  test("only a single star matches everything without matching", () => {
    expect(matchesAll(b("*"))).toBe(true);
    expect(matchesAll(b("**"))).toBe(false);
    expect(matchesAll(b("a*"))).toBe(false);
    expect(matchesAll(b(""))).toBe(false);
  });
});

describe("KEYS selects the same keys as Redis", () => {
  let server: TestServer;
  let redis: RedisRef;
  let ours: RawClient;
  let theirs: RawClient;

  const keys = [
    "hello",
    "hallo",
    "hbllo",
    "hcllo",
    "hxllo",
    "hllo",
    "heeeello",
    "hello world",
    "h*llo",
    "h?llo",
    "h]llo",
    "h-llo",
    "h^llo",
    "h\\llo",
    "h[llo",
    "*",
    "?",
    "[",
    "]",
    "\\",
    "a",
    "ab",
    "abc",
    "ABC",
    "a-b",
    "user:1",
    "user:12",
    "user:123",
    "x\ny",
    "\u00ff\u0080",
  ];
  const patterns = [
    "*",
    "h?llo",
    "h*llo",
    "h[ae]llo",
    "h[^e]llo",
    "h[a-b]llo",
    "h[b-a]llo",
    "h\\*llo",
    "\\*",
    "\\?",
    "?",
    "??",
    "???",
    "a*",
    "*b*",
    "A*",
    "[a-c]*",
    "[^a]*",
    "user:?",
    "user:*3",
    "h[\\]]llo",
    "h[\\-]llo",
    "h[-]llo",
    "h[]]llo",
    "h[]llo",
    "h[llo",
    "[",
    "]",
    "\\\\",
    "h[a-]llo",
    "h[-a]llo",
    "h[^]llo",
    "x?y",
    "\u00ff*",
    "[\u0080-\u00ff]*",
    "h[ab",
    "*\\",
    "hello*",
    "*o",
    "**",
    "",
  ];

  beforeAll(async () => {
    [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
    ours = await RawClient.connect({ port: server.port });
    theirs = await RawClient.connect({ unix: redis.socket });
    const mset = resp("MSET", ...keys.flatMap((k) => [b(k), "1"]));
    expect((await ours.send(mset)).toString()).toBe("+OK\r\n");
    expect((await theirs.send(mset)).toString()).toBe("+OK\r\n");
  });
  afterAll(async () => {
    ours?.close();
    theirs?.close();
    await server?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  /** The keys of a KEYS reply, sorted, as latin-1 strings. */
  function keysOf(reply: Buffer): string[] {
    const out: string[] = [];
    let at = reply.indexOf("\r\n") + 2;
    while (at < reply.length) {
      const eol = reply.indexOf("\r\n", at);
      const len = Number(reply.toString("latin1", at + 1, eol));
      out.push(reply.toString("latin1", eol + 2, eol + 2 + len));
      at = eol + 2 + len + 2;
    }
    return out.sort();
  }

  for (const pattern of patterns) {
    test(`KEYS ${JSON.stringify(pattern)} selects the same keys as Redis and as globMatch`, async () => {
      const [a, r] = await Promise.all([
        ours.command("KEYS", b(pattern)),
        theirs.command("KEYS", b(pattern)),
      ]);
      expect(keysOf(a)).toEqual(keysOf(r));
      // Unit and wire agree: the server's answer is exactly what globMatch selects.
      expect(keysOf(a)).toEqual(keys.filter((k) => match(pattern, k)).sort());
    });
  }
});

test("a pattern with more than 1000 star groups matches nothing, as Redis's nesting guard decides", () => {
  const enc = new TextEncoder();
  const subject = enc.encode("a".repeat(5000));
  expect(globMatch(enc.encode("*?".repeat(1000)), subject)).toBe(true);
  expect(globMatch(enc.encode("*?".repeat(1001)), subject)).toBe(false);
  // A trailing star and runs of stars count once or not at all.
  expect(globMatch(enc.encode(`${"**?".repeat(1000)}*`), subject)).toBe(true);
});
