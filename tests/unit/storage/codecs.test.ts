/**
 * Conformance suite for src/storage/codecs: one set of checks run against every algorithm
 * (and "none") at a couple of levels: round trips, raw fallbacks, reading across codecs,
 * corruption handling and level validation.
 */
import { describe, expect, test } from "bun:test";
import {
  type Algorithm,
  CODEC_HEADER,
  CodecError,
  type CompressionSettings,
  codecFor,
  decodeValue,
  levelRange,
  rawEncode,
  ValueCodec,
} from "../../../src/storage/codecs/codec.ts";

/** Deterministic generator (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  return out;
}

function jsonLike(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const words = ["alpha", "beta", "gamma", "delta", "omega", "user", "order", "paid", "open"];
  const pick = () => words[(next() * words.length) | 0]!;
  let text = "[";
  while (text.length < n) {
    const created = new Date(1.6e12 + Math.floor(next() * 1e10)).toISOString();
    const id = Math.floor(next() * 1e9).toString(16);
    text += `{"id":"${id}","name":"${pick()} ${pick()}","email":"${pick()}@example.com",`;
    text += `"created":"${created}","tags":["${pick()}","${pick()}"]},`;
  }
  return new TextEncoder().encode(text.slice(0, n));
}

function compressible(n: number): Uint8Array {
  const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog; ");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = text[i % text.length]! ^ (i % 1000 === 0 ? 1 : 0);
  return out;
}

const MiB = 1024 * 1024;
const RANDOM_1M = randomBytes(MiB, 1);
const COMPRESSIBLE_1M = compressible(MiB);
const JSON_16K = jsonLike(16 * 1024, 2);

const settings = (algorithm: Algorithm, level: number | null, minSizeBytes = 0) =>
  ({ enabled: true, algorithm, level, minSizeBytes }) satisfies CompressionSettings;

const CASES = (
  [
    ["none", null],
    ["zstd", 1],
    ["zstd", 9],
    ["gzip", 1],
    ["gzip", 9],
    ["lz4", null],
    ["lz4", 16],
    ["brotli", 0],
    ["brotli", 6],
  ] as const
).map(([algorithm, level]) => ({ algorithm, level, label: `${algorithm} level ${level}` }));

const expectedHeader = (algorithm: Algorithm) =>
  algorithm === "none" ? CODEC_HEADER.raw : CODEC_HEADER[algorithm];

function expectCodecError(stored: Uint8Array): void {
  expect(() => decodeValue(stored)).toThrow(CodecError);
}

/** Decodes, returning (not throwing) a CodecError; any other error fails the test. */
function decodeOrCodecError(stored: Uint8Array): Uint8Array | CodecError {
  try {
    return decodeValue(stored);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return error;
  }
}

describe.each(CASES)("codec $label", ({ algorithm, level }) => {
  const codec = new ValueCodec(settings(algorithm, level));
  const header = expectedHeader(algorithm);

  test("empty and 1-byte inputs are stored raw and round-trip", () => {
    for (const bytes of [[], [42]]) {
      const stored = codec.encode(new Uint8Array(bytes));
      expect(Array.from(stored)).toEqual([CODEC_HEADER.raw, ...bytes]);
      expect(Array.from(codec.decode(stored))).toEqual(bytes);
    }
  });

  test("1 MiB random is stored raw (header 0) and decodes zero-copy", () => {
    const stored = codec.encode(RANDOM_1M);
    expect(stored[0]).toBe(CODEC_HEADER.raw);
    expect(stored.length).toBe(MiB + 1);
    expect(codec.lastEncode).toEqual({ algorithm: "raw", inputBytes: MiB, storedBytes: MiB + 1 });
    const decoded = codec.decode(stored);
    expect(decoded.buffer).toBe(stored.buffer);
    expect(decoded.byteOffset).toBe(stored.byteOffset + 1);
    expect(decoded).toEqual(RANDOM_1M);
  });

  test("1 MiB compressible round-trips byte for byte", () => {
    const stored = codec.encode(COMPRESSIBLE_1M);
    expect(stored[0]).toBe(header);
    if (algorithm !== "none") expect(stored.length * 1.1).toBeLessThan(MiB);
    expect(codec.decode(stored)).toEqual(COMPRESSIBLE_1M);
  });

  test("16 KB JSON-like round-trips and reports stats", () => {
    const stored = codec.encode(JSON_16K);
    expect(stored[0]).toBe(header);
    expect(codec.lastEncode).toEqual({
      algorithm: algorithm === "none" ? "raw" : algorithm,
      inputBytes: JSON_16K.length,
      storedBytes: stored.length,
    });
    expect(codec.decode(stored)).toEqual(JSON_16K);
  });

  test("values below minSizeBytes are stored raw", () => {
    const small = new ValueCodec(settings(algorithm, level, 4096));
    const below = compressible(4095);
    expect(small.encode(below)).toEqual(rawEncode(below));
    const atLimit = small.encode(compressible(4096));
    expect(atLimit[0]).toBe(header);
    expect(small.decode(atLimit)).toEqual(compressible(4096));
  });

  test("values written by every other codec configuration are readable", () => {
    for (const other of CASES) {
      const writer = new ValueCodec(settings(other.algorithm, other.level));
      const stored = writer.encode(JSON_16K);
      expect(stored[0]).toBe(expectedHeader(other.algorithm));
      expect(codec.decode(stored)).toEqual(JSON_16K);
    }
  });

  test("input views with a byte offset are encoded from the view only", () => {
    const host = compressible(64 * 1024);
    const view = host.subarray(1001, 33001);
    expect(codec.decode(codec.encode(view))).toEqual(view);
  });

  test("unknown header bytes and empty stored values throw CodecError", () => {
    expectCodecError(new Uint8Array(0));
    for (const bad of [5, 6, 127, 255]) {
      const stored = codec.encode(JSON_16K).slice();
      stored[0] = bad;
      expectCodecError(stored);
    }
  });

  if (algorithm === "none") return;

  test("truncated streams throw CodecError, whose message holds no value bytes", () => {
    const stored = codec.encode(JSON_16K);
    for (const keep of [1, 2, 5, 9, 17, stored.length >> 1, stored.length - 4, stored.length - 1]) {
      expectCodecError(stored.subarray(0, keep));
    }
    const error = decodeOrCodecError(stored.subarray(0, stored.length - 3)) as CodecError;
    expect(error.message).not.toContain("example.com");
    expect(error.message.length).toBeLessThan(120);
  });

  const checksummed = algorithm === "zstd" || algorithm === "gzip";
  test(`flipped payload bytes ${checksummed ? "always throw CodecError" : "never throw anything but CodecError"}`, () => {
    const stored = codec.encode(JSON_16K);
    let rejected = 0;
    for (let pos = 1; pos < stored.length; pos++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = stored.slice();
        bad[pos]! ^= mask;
        const result = decodeOrCodecError(bad);
        if (result instanceof CodecError) rejected++;
        else if (checksummed) expect(result).toEqual(JSON_16K);
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });

  test("disabled compression writes raw but still reads compressed values", () => {
    const disabled = new ValueCodec({ ...settings(algorithm, level), enabled: false });
    expect(disabled.encode(JSON_16K)).toEqual(rawEncode(JSON_16K));
    expect(disabled.decode(codec.encode(JSON_16K))).toEqual(JSON_16K);
  });

  test("the payload codec round-trips empty and 1-byte inputs directly", () => {
    const impl = codecFor(algorithm);
    const lvl = codec.level!;
    expect(impl.decompress(impl.compress(new Uint8Array(0), lvl)).length).toBe(0);
    expect(Array.from(impl.decompress(impl.compress(new Uint8Array([9]), lvl)))).toEqual([9]);
  });
});

describe("levels", () => {
  const ranges: Array<[Exclude<Algorithm, "none">, number, number, number]> = [
    ["gzip", 1, 9, 6],
    ["zstd", 1, 22, 1],
    ["lz4", 1, 16, 1],
    ["brotli", 0, 11, 4],
  ];

  test.each(ranges)("%s accepts %d..%d and defaults to %d", (algorithm, min, max, def) => {
    expect(levelRange(algorithm)).toEqual({ min, max, default: def });
    expect(new ValueCodec(settings(algorithm, null)).level).toBe(def);
    expect(new ValueCodec(settings(algorithm, min)).level).toBe(min);
    expect(new ValueCodec(settings(algorithm, max)).level).toBe(max);
    for (const bad of [min - 1, max + 1, min + 0.5, Number.NaN]) {
      const make = () => new ValueCodec(settings(algorithm, bad));
      expect(make).toThrow(RangeError);
      expect(make).toThrow(`between ${min} and ${max}`);
    }
  });

  test.each(ranges)("%s levels are validated even when disabled", (algorithm, _min, max) => {
    const make = () => new ValueCodec({ ...settings(algorithm, max + 1), enabled: false });
    expect(make).toThrow(RangeError);
  });

  test("none has no levels and ignores a configured one", () => {
    expect(levelRange("none")).toBeNull();
    expect(new ValueCodec(settings("none", 99)).level).toBeNull();
  });

  test("minSizeBytes must be a non-negative integer", () => {
    expect(() => new ValueCodec(settings("zstd", null, -1))).toThrow(RangeError);
    expect(() => new ValueCodec(settings("zstd", null, 1.5))).toThrow(RangeError);
  });
});

describe("format", () => {
  test("header numbers are the on-disk format", () => {
    expect(CODEC_HEADER).toEqual({ raw: 0, zstd: 1, gzip: 2, lz4: 3, brotli: 4 });
    expect(Object.isFrozen(CODEC_HEADER)).toBe(true);
    expect(Array.from(rawEncode(new Uint8Array([1, 2, 3])))).toEqual([0, 1, 2, 3]);
  });

  test("a value with a spare byte in front is stored without a copy; others are copied", () => {
    // The parser's layout for a payload split across chunks (protocol/parser.ts).
    const value = new Uint8Array(5).subarray(1);
    value.set([7, 8, 9, 10]);
    const stored = rawEncode(value);
    expect(stored.buffer).toBe(value.buffer);
    expect(Array.from(stored)).toEqual([0, 7, 8, 9, 10]);
    expect(Array.from(value)).toEqual([7, 8, 9, 10]);
    expect(Array.from(decodeValue(stored))).toEqual([7, 8, 9, 10]);
    // Any other layout is copied, so the caller's buffer is never written.
    const wider = new Uint8Array(6);
    const view = wider.subarray(1, 5);
    view.set([1, 2, 3, 4]);
    const copied = rawEncode(view);
    expect(copied.buffer).not.toBe(wider.buffer);
    expect(Array.from(wider)).toEqual([0, 1, 2, 3, 4, 0]);
    expect(Array.from(copied)).toEqual([0, 1, 2, 3, 4]);
    // A raw value read back (a view at offset 1 behind its own header 0) re-encodes to itself.
    const reread = decodeValue(Uint8Array.from([0, 5, 6]));
    expect(Array.from(rawEncode(reread))).toEqual([0, 5, 6]);
  });

  test("payloads are the standard streams", () => {
    const magic = (algorithm: Exclude<Algorithm, "none">) =>
      Array.from(new ValueCodec(settings(algorithm, null)).encode(JSON_16K).subarray(1, 5));
    expect(magic("zstd")).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(magic("gzip").slice(0, 2)).toEqual([0x1f, 0x8b]);
    const zstdFrame = new ValueCodec(settings("zstd", null)).encode(JSON_16K);
    expect(zstdFrame[5]! & 0x04).toBe(0x04); // Content_Checksum_flag
    const lz4Stored = new ValueCodec(settings("lz4", null)).encode(JSON_16K);
    expect(new DataView(lz4Stored.buffer, 1, 4).getUint32(0, true)).toBe(JSON_16K.length);
  });

  test("lz4 rejects a length prefix the block cannot hold without allocating it", () => {
    const stored = new ValueCodec(settings("lz4", null)).encode(JSON_16K).slice();
    new DataView(stored.buffer, 1, 4).setUint32(0, 0xffffffff, true);
    expectCodecError(stored);
  });

  test("totals count values and bytes per stored form", () => {
    const codec = new ValueCodec(settings("zstd", null, 0));
    codec.encode(JSON_16K);
    codec.encode(JSON_16K);
    codec.encode(RANDOM_1M);
    expect(codec.totals.zstd.values).toBe(2);
    expect(codec.totals.zstd.inputBytes).toBe(2 * JSON_16K.length);
    expect(codec.totals.zstd.storedBytes).toBeLessThan(JSON_16K.length);
    expect(codec.totals.raw).toEqual({ values: 1, inputBytes: MiB, storedBytes: MiB + 1 });
  });
});
