/**
 * Value codecs: the 1-byte header that starts every value stored in SQLite, the registry of
 * compression algorithms behind it, and ValueCodec, which storage calls on every write and read.
 * Writing follows the configured settings; reading follows only the header byte, so changing
 * algorithm, level or `enabled` never makes stored data unreadable. Each algorithm lives in its
 * own file (zstd.ts, gzip.ts, lz4.ts, brotli.ts) and knows nothing of headers or settings.
 */
import { brotli } from "./brotli.ts";
import { gzip } from "./gzip.ts";
import type { CodecImpl } from "./impl.ts";
import { lz4 } from "./lz4.ts";
import { zstd } from "./zstd.ts";

export type Algorithm = "none" | "gzip" | "zstd" | "lz4" | "brotli";

export interface CompressionSettings {
  enabled: boolean;
  algorithm: Algorithm;
  /** null = the algorithm's default level (see DEFAULT_LEVELS). */
  level: number | null;
  /** Values shorter than this are stored raw without trying to compress them. */
  minSizeBytes: number;
}

export interface EncodeStats {
  /** What the stored value actually holds: "raw" when compression was off or did not pay. */
  algorithm: Algorithm | "raw";
  inputBytes: number;
  /** Bytes handed to SQLite, header included. */
  storedBytes: number;
}

/**
 * ON-DISK FORMAT. The first byte of every stored value names the codec that wrote the rest.
 * These numbers are persisted in every database: NEVER change or reuse one. A new codec gets
 * a new, unused number; a retired codec keeps its number reserved so old rows stay readable.
 */
export const CODEC_HEADER = Object.freeze({
  raw: 0,
  zstd: 1,
  gzip: 2,
  lz4: 3,
  brotli: 4,
} as const);

export type StoredAs = keyof typeof CODEC_HEADER;

/** A stored value that cannot be decoded. The message never contains value bytes. */
export class CodecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CodecError";
  }
}

type CompressingAlgorithm = Exclude<Algorithm, "none">;

const IMPLS: Readonly<Record<CompressingAlgorithm, CodecImpl>> = Object.freeze({
  zstd,
  gzip,
  lz4,
  brotli,
});

/** Header byte → [name, implementation]; holes are unknown bytes. Built once, never mutated. */
const BY_HEADER = buildHeaderTable();

function buildHeaderTable(): ReadonlyArray<readonly [CompressingAlgorithm, CodecImpl] | undefined> {
  const table: Array<readonly [CompressingAlgorithm, CodecImpl] | undefined> = [];
  for (const name of Object.keys(IMPLS) as CompressingAlgorithm[]) {
    table[CODEC_HEADER[name]] = [name, IMPLS[name]];
  }
  return Object.freeze(table);
}

/** The implementation of one algorithm, for tests and benchmarks. */
export function codecFor(algorithm: CompressingAlgorithm): CodecImpl {
  return IMPLS[algorithm];
}

/** Accepted level range and default of an algorithm; null for "none", which has no levels. */
export function levelRange(algorithm: Algorithm): CodecImpl["levels"] | null {
  return algorithm === "none" ? null : IMPLS[algorithm].levels;
}

/**
 * Header 0 followed by the value's bytes: one allocation, one copy. Except when the value
 * sits at offset 1 of a buffer exactly one byte longer, as the parser lays out a payload it
 * assembled from several chunks (protocol/parser.ts): the header then goes into that spare
 * byte and the stored form is a view, with no copy. The only other values with that layout
 * are raw values decoded by decodeValue(), whose spare byte already holds header 0, so the
 * write never changes a byte anyone else reads.
 */
export function rawEncode(value: Uint8Array): Uint8Array {
  if (value.byteOffset === 1 && value.buffer.byteLength === value.length + 1) {
    const stored = new Uint8Array(value.buffer, 0, value.length + 1);
    stored[0] = CODEC_HEADER.raw;
    return stored;
  }
  const out = new Uint8Array(value.length + 1);
  out[0] = CODEC_HEADER.raw;
  out.set(value, 1);
  return out;
}

/**
 * Decodes a stored value by its header byte, whatever the current configuration says.
 * Raw values come back as a zero-copy view into `stored`.
 */
export function decodeValue(stored: Uint8Array): Uint8Array {
  if (stored.length === 0) throw new CodecError("stored value is empty: missing codec header");
  const header = stored[0]!;
  const payload = stored.subarray(1);
  if (header === CODEC_HEADER.raw) return payload;
  const entry = BY_HEADER[header];
  if (entry === undefined) throw new CodecError(`unknown codec header byte ${header}`);
  try {
    return entry[1].decompress(payload);
  } catch (error) {
    throw new CodecError(`${entry[0]} value is corrupt (${payload.length} payload bytes)`, {
      cause: error,
    });
  }
}

/** Cumulative encode counters for one stored form; read by metrics at scrape time. */
export interface EncodeTotals {
  values: number;
  inputBytes: number;
  storedBytes: number;
}

/** Compression a value must reach (input / stored) to be kept compressed. */
export const MIN_RATIO = 1.1;

function checkLevel(algorithm: Algorithm, level: number | null): number | null {
  const range = levelRange(algorithm);
  if (range === null) return null; // "none": any configured level is ignored, as upstream does
  if (level === null) return range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new RangeError(
      `${algorithm} compression level must be an integer between ${range.min} and ${range.max}, got ${level}`,
    );
  }
  return level;
}

/** Encodes values with the configured settings and decodes any stored value. */
export class ValueCodec {
  readonly settings: Readonly<CompressionSettings>;
  /** The level in effect (default applied); null when the algorithm is "none". */
  readonly level: number | null;
  /**
   * Stats of the latest encode(). The same object is overwritten by every call (no allocation
   * per call): read it right after encode() and copy it if you need to keep it.
   */
  lastEncode: EncodeStats | null = null;
  /** Running totals per stored form since construction; the objects are updated in place. */
  readonly totals: Readonly<Record<StoredAs, EncodeTotals>> = {
    raw: { values: 0, inputBytes: 0, storedBytes: 0 },
    zstd: { values: 0, inputBytes: 0, storedBytes: 0 },
    gzip: { values: 0, inputBytes: 0, storedBytes: 0 },
    lz4: { values: 0, inputBytes: 0, storedBytes: 0 },
    brotli: { values: 0, inputBytes: 0, storedBytes: 0 },
  };
  private readonly impl: CodecImpl | null;
  private readonly stats: EncodeStats = { algorithm: "raw", inputBytes: 0, storedBytes: 0 };

  /** Throws RangeError for a level outside the algorithm's range (checked even when disabled). */
  constructor(settings: CompressionSettings) {
    const level = checkLevel(settings.algorithm, settings.level);
    if (!Number.isInteger(settings.minSizeBytes) || settings.minSizeBytes < 0) {
      throw new RangeError(
        `compression minSizeBytes must be a non-negative integer, got ${settings.minSizeBytes}`,
      );
    }
    this.settings = Object.freeze({ ...settings });
    this.level = level;
    this.impl =
      settings.enabled && settings.algorithm !== "none" ? IMPLS[settings.algorithm] : null;
    // One tiny round trip, so a codec whose library cannot load fails at startup instead of
    // on the first write.
    try {
      this.impl?.decompress(this.impl.compress(new Uint8Array(1), level!));
    } catch (error) {
      throw new Error(`${settings.algorithm} codec is unavailable`, { cause: error });
    }
  }

  /**
   * Header byte + payload. Stored raw when compression is off, the value is shorter than
   * minSizeBytes, or compressing it would not reach MIN_RATIO.
   */
  encode(value: Uint8Array): Uint8Array {
    const impl = this.impl;
    if (impl === null || value.length < this.settings.minSizeBytes) return this.raw(value);
    const algorithm = this.settings.algorithm as CompressingAlgorithm;
    const payload = impl.compress(value, this.level!);
    if (value.length < (payload.length + 1) * MIN_RATIO) return this.raw(value);
    const out = new Uint8Array(payload.length + 1);
    out[0] = CODEC_HEADER[algorithm];
    out.set(payload, 1);
    this.record(algorithm, value.length, out.length);
    return out;
  }

  /** The original bytes; raw values are a zero-copy view into `stored`. Throws CodecError. */
  decode(stored: Uint8Array): Uint8Array {
    return decodeValue(stored);
  }

  private raw(value: Uint8Array): Uint8Array {
    const out = rawEncode(value);
    this.record("raw", value.length, out.length);
    return out;
  }

  private record(algorithm: StoredAs, inputBytes: number, storedBytes: number): void {
    const stats = this.stats;
    stats.algorithm = algorithm;
    stats.inputBytes = inputBytes;
    stats.storedBytes = storedBytes;
    this.lastEncode = stats;
    const total = this.totals[algorithm];
    total.values++;
    total.inputBytes += inputBytes;
    total.storedBytes += storedBytes;
  }
}
