/**
 * One compression algorithm, the shape brotli.ts, gzip.ts, lz4.ts and zstd.ts export.
 * Implementations may throw anything; ValueCodec (codec.ts) wraps it.
 */
export interface CodecImpl {
  /** Inclusive range of accepted levels and the level used when the setting is null. */
  readonly levels: { readonly min: number; readonly max: number; readonly default: number };
  /** Compresses `value` into a self-contained payload (no header byte). */
  compress(value: Uint8Array, level: number): Uint8Array;
  /** Inverse of compress; must throw when the payload is not a valid stream. */
  decompress(payload: Uint8Array): Uint8Array;
}
