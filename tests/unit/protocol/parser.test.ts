/**
 * Unit tests for src/protocol/parser.ts: framing, quoting, limits, errors, zero-copy and
 * hostile input. Every table case runs three ways (whole, byte by byte, split at every offset)
 * because chunk boundaries must never change what is parsed. No sockets, no server here.
 */
import { describe, expect, test } from "bun:test";
import { ProtocolError } from "../../../src/errors.ts";
import { limits } from "../../../src/limits.ts";
import { type Command, type ParserOptions, RespParser } from "../../../src/protocol/parser.ts";

/** Latin-1 string to bytes, so tests can spell any byte value. */
function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1(a: Uint8Array): string {
  let s = "";
  for (const b of a) s += String.fromCharCode(b);
  return s;
}

const show = (cmds: Command[]): string[][] => cmds.map((c) => c.map(latin1));

interface Outcome {
  commands: string[][];
  error: string | null;
  buffered: number;
}

/** Feeds the chunks in order; any exception other than ProtocolError fails the test. */
function run(chunks: Uint8Array[], options?: Partial<ParserOptions>): Outcome {
  const parser = new RespParser(options);
  const out: Command[] = [];
  for (const chunk of chunks) {
    try {
      parser.feed(chunk, out);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return { commands: show(out), error: e.message, buffered: -1 };
    }
  }
  return { commands: show(out), error: null, buffered: parser.bufferedBytes };
}

interface Case {
  name: string;
  input: string;
  commands: string[][];
  /** Protocol error expected after `commands` were delivered. */
  error?: string;
  /** bufferedBytes after everything was fed (only without an error); default 0. */
  buffered?: number;
  options?: Partial<ParserOptions>;
}

/** Runs each case whole (as a view inside a larger buffer), byte by byte, and in two chunks. */
function runCases(cases: Case[]): void {
  for (const c of cases) {
    const input = bytes(c.input);
    const expected: Outcome = {
      commands: c.commands,
      error: c.error ?? null,
      buffered: c.error === undefined ? (c.buffered ?? 0) : -1,
    };
    describe(c.name, () => {
      test("when fed whole", () => {
        // A view at a non-zero offset with junk around it, so offsets are exercised too.
        const host = new Uint8Array(input.length + 6).fill(0x2a);
        host.set(input, 3);
        expect(run([host.subarray(3, 3 + input.length)], c.options)).toEqual(expected);
      });
      test("when fed byte by byte", () => {
        const chunks = Array.from(input, (_, i) => input.slice(i, i + 1));
        expect(run(chunks, c.options)).toEqual(expected);
      });
      test("when split into two chunks at every offset", () => {
        for (let k = 1; k < input.length; k++) {
          const got = run([input.slice(0, k), input.slice(k)], c.options);
          expect({ split: k, ...got }).toEqual({ split: k, ...expected });
        }
      });
    });
  }
}

const allBytes = latin1(Uint8Array.from({ length: 256 }, (_, i) => i));
const ping = "*1\r\n$4\r\nPING\r\n";

describe("multibulk requests", () => {
  runCases([
    { name: "a single command is parsed", input: ping, commands: [["PING"]] },
    {
      name: "a SET with key and value is parsed into three args",
      input: "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
      commands: [["SET", "key", "value"]],
    },
    {
      name: "pipelined commands are delivered in order",
      input: `${ping}*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n`,
      commands: [["PING"], ["GET", "k"], ["SET", "k", "vv"]],
    },
    {
      name: "a CRLF embedded in a bulk is kept as data",
      input: "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\r\nb\r\n",
      commands: [["ECHO", "a\r\n\r\nb"]],
    },
    {
      name: "all 256 byte values survive in a bulk",
      input: `*2\r\n$4\r\nECHO\r\n$256\r\n${allBytes}\r\n`,
      commands: [["ECHO", allBytes]],
    },
    {
      name: "bulk payloads that look like headers are just data",
      input: "*3\r\n$1\r\n*\r\n$2\r\n$1\r\n$4\r\n*0\r\n\r\n",
      commands: [["*", "$1", "*0\r\n"]],
    },
    {
      name: "an empty bulk ($0) is an empty arg",
      input: "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n",
      commands: [["SET", "", ""]],
    },
    { name: "*0 is ignored like Redis", input: `*0\r\n${ping}`, commands: [["PING"]] },
    { name: "*-1 is ignored like Redis", input: `*-1\r\n${ping}*-1\r\n`, commands: [["PING"]] },
    {
      name: "multibulk and inline requests can be mixed",
      input: `${ping}PING\r\n${ping}`,
      commands: [["PING"], ["PING"], ["PING"]],
    },
    {
      name: "an incomplete command waits and counts its received bytes",
      input: "*2\r\n$3\r\nGET\r\n$3\r\nke",
      commands: [],
      buffered: 19,
    },
    {
      name: "a payload missing only its LF waits",
      input: "*1\r\n$4\r\nPING\r",
      commands: [],
      buffered: 13,
    },
    {
      name: "a complete command is delivered while the next one waits",
      input: `${ping}*1\r\n$4`,
      commands: [["PING"]],
      buffered: 6,
    },
  ]);
});

describe("inline requests", () => {
  runCases([
    { name: "a line ending in CRLF is a command", input: "PING\r\n", commands: [["PING"]] },
    {
      name: "a line ending in bare LF is a command",
      input: "SET a b\n",
      commands: [["SET", "a", "b"]],
    },
    {
      name: "args are split on runs of spaces and tabs",
      input: "  SET \t a   b  \r\n",
      commands: [["SET", "a", "b"]],
    },
    {
      name: "empty and blank lines yield no command",
      input: "\r\n\n   \r\n\t\nPING\n",
      commands: [["PING"]],
    },
    { name: "only one CR before LF is stripped", input: "ECHO a\r\r\n", commands: [["ECHO", "a"]] },
    {
      name: "a CR inside the line separates args like Redis",
      input: "ECHO a\rb\r\n",
      commands: [["ECHO", "a", "b"]],
    },
    {
      name: "double quotes support the sdssplitargs escapes",
      input: 'ECHO "a\\x41\\xff\\n\\t\\r\\b\\a\\\\\\"z q"\r\n',
      commands: [["ECHO", 'aA\xff\n\t\r\b\x07\\"z q']],
    },
    {
      name: "invalid or uppercase hex escapes are kept literally",
      input: 'ECHO "\\x4g" "\\X41" "\\x4"\r\n',
      commands: [["ECHO", "x4g", "X41", "x4"]],
    },
    {
      name: "single quotes only unescape \\'",
      input: "ECHO 'a\\'b\\n\"'\r\n",
      commands: [["ECHO", "a'b\\n\""]],
    },
    {
      name: "empty quoted args are empty args",
      input: "ECHO \"\" ''\r\n",
      commands: [["ECHO", "", ""]],
    },
    {
      name: "a quote may start in the middle of an arg",
      input: "ECHO a\"b c\" x'y'\r\n",
      commands: [["ECHO", "ab c", "xy"]],
    },
    {
      name: "a closing quote may be followed by a tab or vertical tab",
      input: 'ECHO "a"\tb "c"\v\r\n',
      commands: [["ECHO", "a", "b", "c"]],
    },
    { name: "a star after the start is ordinary", input: "PING *\r\n", commands: [["PING", "*"]] },
    {
      name: "a leading vertical tab is skipped but an inner one is kept like Redis",
      input: "\vECHO\va\r\n",
      commands: [["ECHO\va"]],
    },
    {
      name: "a NUL byte is an ordinary byte (Redis would stall)",
      input: "ECHO a\x00b\r\n",
      commands: [["ECHO", "a\x00b"]],
    },
    { name: "a line without newline waits", input: "PING", commands: [], buffered: 4 },
  ]);
});

describe("protocol errors", () => {
  const mb = "invalid multibulk length";
  const bl = "invalid bulk length";
  const crlf = "expected CRLF after bulk data";
  const uq = "unbalanced quotes in request";
  runCases([
    {
      name: "a non-numeric multibulk count is rejected",
      input: "*abc\r\n",
      commands: [],
      error: mb,
    },
    { name: "an empty multibulk count is rejected", input: "*\r\n", commands: [], error: mb },
    { name: "a count with a plus sign is rejected", input: "*+1\r\n", commands: [], error: mb },
    { name: "a count with a leading zero is rejected", input: "*01\r\n", commands: [], error: mb },
    { name: "a count of -0 is rejected", input: "*-0\r\n", commands: [], error: mb },
    {
      name: "a count of -2 is skipped like Redis, and the next command runs",
      input: "*-2\r\n*1\r\n$4\r\nPING\r\n",
      commands: [["PING"]],
    },
    {
      name: "a very negative count is skipped like Redis",
      input: "*-9999999999\r\n*1\r\n$4\r\nPING\r\n",
      commands: [["PING"]],
    },
    {
      name: "a negative count beyond int64 is rejected",
      input: "*-99999999999999999999\r\n",
      commands: [],
      error: mb,
    },
    { name: "a count over 2^31 is rejected", input: "*2147483648\r\n", commands: [], error: mb },
    {
      name: "a count line ended by bare LF is rejected like Redis",
      input: "*1\n$4\r\nPING\r\n",
      commands: [],
      error: mb,
    },
    { name: "a count CR not followed by LF is rejected", input: "*1\rX", commands: [], error: mb },
    {
      name: "an element not starting with $ is rejected with the byte shown",
      input: "*1\r\n+PING\r\n",
      commands: [],
      error: "expected '$', got '+'",
    },
    {
      name: "a second element not starting with $ is rejected",
      input: "*2\r\n$4\r\nECHO\r\n:1\r\n",
      commands: [],
      error: "expected '$', got ':'",
    },
    {
      name: "a nested array is rejected instead of recursing",
      input: "*1\r\n*1\r\n*1\r\n",
      commands: [],
      error: "expected '$', got '*'",
    },
    { name: "a bulk length of -1 is rejected", input: "*1\r\n$-1\r\n", commands: [], error: bl },
    {
      name: "a bulk length with a leading zero is rejected",
      input: "*1\r\n$04\r\n",
      commands: [],
      error: bl,
    },
    {
      name: "a bulk length with a plus is rejected",
      input: "*1\r\n$+4\r\n",
      commands: [],
      error: bl,
    },
    { name: "an empty bulk length is rejected", input: "*1\r\n$\r\n", commands: [], error: bl },
    {
      name: "a bulk length with junk is rejected",
      input: "*1\r\n$4x\r\n",
      commands: [],
      error: bl,
    },
    {
      name: "a huge declared bulk length is rejected",
      input: "*1\r\n$999999999999\r\n",
      commands: [],
      error: bl,
    },
    {
      name: "a bulk length over the default limit is rejected",
      input: `*1\r\n$${limits.bulkBytesMax + 1}\r\n`,
      commands: [],
      error: bl,
    },
    {
      name: "a bulk length CR not followed by LF is rejected",
      input: "*1\r\n$4\rX",
      commands: [],
      error: bl,
    },
    {
      name: "a payload followed by other bytes than CRLF is rejected",
      input: "*1\r\n$4\r\nPINGxy",
      commands: [],
      error: crlf,
    },
    {
      name: "a payload followed by CR and a non-LF byte is rejected",
      input: "*1\r\n$4\r\nPING\rx",
      commands: [],
      error: crlf,
    },
    {
      name: "an unterminated double quote is rejected",
      input: 'ECHO "abc\r\n',
      commands: [],
      error: uq,
    },
    {
      name: "a closing quote followed by a letter is rejected",
      input: 'ECHO "abc"x\r\n',
      commands: [],
      error: uq,
    },
    {
      name: "an escaped closing single quote leaves it unterminated",
      input: "ECHO 'a\\'\r\n",
      commands: [],
      error: uq,
    },
    {
      name: "a trailing backslash in double quotes leaves it unterminated",
      input: 'ECHO "ab\\"\r\n',
      commands: [],
      error: uq,
    },
    {
      name: "commands completed before a bad frame are delivered before the error",
      input: `${ping}PING\r\n${ping}*x\r\n`,
      commands: [["PING"], ["PING"], ["PING"]],
      error: mb,
    },
    {
      name: "commands before a bad inline line are delivered before the error",
      input: `${ping}ECHO "x\n`,
      commands: [["PING"]],
      error: uq,
    },
  ]);
});

describe("limits at and one past the boundary", () => {
  const h = limits.headerLineBytesMax;
  const digits = (n: number) => "1".repeat(n);
  runCases([
    {
      name: "a count equal to argsCountMax is accepted",
      input: "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
      commands: [["a", "b", "c"]],
      options: { argsCountMax: 3 },
    },
    {
      name: "a count one over argsCountMax is rejected",
      input: "*4\r\n",
      commands: [],
      error: "invalid multibulk length",
      options: { argsCountMax: 3 },
    },
    {
      name: "a bulk equal to bulkBytesMax is accepted",
      input: "*1\r\n$5\r\nhello\r\n",
      commands: [["hello"]],
      options: { bulkBytesMax: 5 },
    },
    {
      name: "a bulk one over bulkBytesMax is rejected",
      input: "*1\r\n$6\r\n",
      commands: [],
      error: "invalid bulk length",
      options: { bulkBytesMax: 5 },
    },
    {
      name: "an inline line of exactly inlineBytesMax with CRLF is accepted",
      input: "12345678\r\n",
      commands: [["12345678"]],
      options: { inlineBytesMax: 8 },
    },
    {
      name: "an inline line of exactly inlineBytesMax with LF is accepted",
      input: "1234 678\n",
      commands: [["1234", "678"]],
      options: { inlineBytesMax: 8 },
    },
    {
      name: "an inline line one over inlineBytesMax with CRLF is rejected",
      input: "123456789\r\n",
      commands: [],
      error: "too big inline request",
      options: { inlineBytesMax: 8 },
    },
    {
      name: "an inline line one over inlineBytesMax with LF is rejected",
      input: "123456789\n",
      commands: [],
      error: "too big inline request",
      options: { inlineBytesMax: 8 },
    },
    {
      name: "an unterminated inline line one over inlineBytesMax is rejected",
      input: "123456789",
      commands: [],
      error: "too big inline request",
      options: { inlineBytesMax: 8 },
    },
    {
      name: "an unterminated inline line at inlineBytesMax plus its CR waits",
      input: "12345678\r",
      commands: [],
      buffered: 9,
      options: { inlineBytesMax: 8 },
    },
    {
      name: "a count line of exactly headerLineBytesMax without CR waits",
      input: `*${digits(h - 1)}`,
      commands: [],
      buffered: h,
    },
    {
      name: "a count line at headerLineBytesMax plus its CR waits",
      input: `*${digits(h - 1)}\r`,
      commands: [],
      buffered: h + 1,
    },
    {
      name: "a count line one over headerLineBytesMax is too big",
      input: `*${digits(h)}`,
      commands: [],
      error: "too big mbulk count string",
    },
    {
      name: "a count line of exactly headerLineBytesMax with CRLF is judged as a number",
      input: `*${digits(h - 1)}\r\n`,
      commands: [],
      error: "invalid multibulk length",
    },
    {
      name: "a bulk length line of exactly headerLineBytesMax without CR waits",
      input: `*1\r\n$${digits(h - 1)}`,
      commands: [],
      buffered: h + 4,
    },
    {
      name: "a bulk length line one over headerLineBytesMax is too big",
      input: `*1\r\n$${digits(h)}`,
      commands: [],
      error: "too big bulk count string",
    },
    {
      name: "a bulk length line of exactly headerLineBytesMax with CRLF is judged as a number",
      input: `*1\r\n$${digits(h - 1)}\r\n`,
      commands: [],
      error: "invalid bulk length",
    },
  ]);
});

describe("buffers and copying", () => {
  test("args of a command wholly inside one chunk are views of that chunk", () => {
    const host = bytes(`xx*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\nPING\r\nyy`);
    const chunk = host.subarray(2, host.length - 2);
    const out: Command[] = [];
    new RespParser().feed(chunk, out);
    expect(show(out)).toEqual([["SET", "k", "value"], ["PING"]]);
    for (const arg of out.flat()) expect(arg.buffer).toBe(chunk.buffer);
  });

  test("a bulk split across chunks lands in one buffer with one spare byte in front", () => {
    const parser = new RespParser();
    const out: Command[] = [];
    parser.feed(bytes("*2\r\n$4\r\nECHO\r\n$10\r\n0123"), out);
    parser.feed(bytes("456"), out);
    parser.feed(bytes("789\r\n"), out);
    const value = out[0]![1]!;
    expect(latin1(value)).toBe("0123456789");
    // The spare byte is where the storage codec writes its header (codecs/codec.ts rawEncode).
    expect(value.byteOffset).toBe(1);
    expect(value.buffer.byteLength).toBe(11);
  });

  test("the parser never writes into the chunks it is given", () => {
    const input = bytes(`${ping}*2\r\n$4\r\nECHO\r\n$5\r\nab"cd\r\nECHO "a\\x41" b\r\n`);
    const copy = input.slice();
    const parser = new RespParser();
    const out: Command[] = [];
    for (let i = 0; i < input.length; i += 7) parser.feed(input.subarray(i, i + 7), out);
    expect(input).toEqual(copy);
    expect(show(out)).toEqual([["PING"], ["ECHO", 'ab"cd'], ["ECHO", "aA", "b"]]);
  });

  test("a 64 MiB value fed in 64 KiB chunks is parsed quickly and intact", () => {
    const size = 64 * 1024 * 1024;
    const value = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) value[i] = (i >>> 12) & 0xff;
    value[size - 1] = 0x7f;
    const head = bytes(`*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$${size}\r\n`);
    const input = new Uint8Array(head.length + size + 2);
    input.set(head);
    input.set(value, head.length);
    input.set(bytes("\r\n"), head.length + size);
    const parser = new RespParser();
    const out: Command[] = [];
    const started = performance.now();
    const step = 64 * 1024;
    for (let i = 0; i < input.length; i += step) {
      parser.feed(input.slice(i, i + step), out);
      if (i + step < input.length) expect(out.length).toBe(0);
    }
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeLessThan(3000);
    expect(out.length).toBe(1);
    expect(parser.bufferedBytes).toBe(0);
    const got = out[0]![2]!;
    expect(got.length).toBe(size);
    expect(Buffer.from(got).equals(Buffer.from(value))).toBe(true);
  });

  test("bufferedBytes counts every received byte of the command in progress", () => {
    const parser = new RespParser();
    const out: Command[] = [];
    parser.feed(bytes("*2\r\n$4\r\nECHO\r\n$1000\r\n"), out);
    expect(parser.bufferedBytes).toBe(21);
    parser.feed(new Uint8Array(300), out);
    expect(parser.bufferedBytes).toBe(321);
    parser.feed(new Uint8Array(700), out);
    parser.feed(bytes("\r\n*1"), out);
    expect(out.length).toBe(1);
    expect(parser.bufferedBytes).toBe(2);
  });
});

describe("failure handling", () => {
  test("after a protocol error every later feed throws the same error", () => {
    const parser = new RespParser();
    const out: Command[] = [];
    expect(() => parser.feed(bytes("*x\r\n"), out)).toThrow(ProtocolError);
    expect(() => parser.feed(bytes(ping), out)).toThrow("invalid multibulk length");
    expect(out).toEqual([]);
  });

  test("options left out fall back to the limits in limits.ts", () => {
    const out: Command[] = [];
    const over = `*${limits.argsCountMax + 1}\r\n`;
    expect(() => new RespParser().feed(bytes(over), out)).toThrow("invalid multibulk length");
    expect(() => new RespParser({ bulkBytesMax: 3 }).feed(bytes(over), out)).toThrow(
      "invalid multibulk length",
    );
  });
});

describe("hostile input", () => {
  /** Small deterministic PRNG (mulberry32) so a failing input can be reproduced by seed. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const pieces = "*|$|\r|\n|\r\n|0|1|2|9|-| |\"|'|\\|x|a".split("|");
  const seeds = [
    "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "*1\r\n$0\r\n\r\n",
    "SET \"a b\" 'c'\r\n",
    "*0\r\n",
  ];

  function randomInput(rand: () => number): Uint8Array {
    const kind = rand();
    if (kind < 0.3) {
      // Uniform garbage.
      return Uint8Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256));
    }
    // Protocol-shaped text: valid frames with insertions, deletions and flips.
    let s = "";
    while (s.length < 60 && rand() < 0.9) {
      if (rand() < 0.5) s += seeds[Math.floor(rand() * seeds.length)];
      else s += pieces[Math.floor(rand() * pieces.length)];
    }
    const b = bytes(s);
    for (let m = Math.floor(rand() * 4); m > 0 && b.length > 0; m--) {
      b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    }
    return b;
  }

  test("thousands of random inputs either parse or throw ProtocolError, whatever the chunking", () => {
    const rand = prng(0xb10b);
    const options = { bulkBytesMax: 64, argsCountMax: 8, inlineBytesMax: 32 };
    for (let n = 0; n < 4000; n++) {
      const input = randomInput(rand);
      const whole = run([input], options);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < input.length; ) {
        const len = 1 + Math.floor(rand() * 7);
        chunks.push(input.slice(i, i + len));
        i += len;
      }
      expect({ n, ...run(chunks, options) }).toEqual({ n, ...whole });
    }
  });

  test("a declared count of a million args with no data allocates nothing large and waits", () => {
    const parser = new RespParser();
    const out: Command[] = [];
    parser.feed(bytes(`*${limits.argsCountMax}\r\n$1\r\na\r\n`), out);
    expect(out).toEqual([]);
    expect(parser.bufferedBytes).toBe(17);
  });
});
