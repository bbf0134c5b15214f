/**
 * Brotli codec (header byte 4), on node:zlib. The payload is a raw brotli stream (RFC 7932).
 * Brotli has no checksum: truncation and most structural damage are rejected, but a flipped
 * bit inside literal data can decode to different bytes without any error.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import type { CodecImpl } from "./impl.ts";

export const brotli: CodecImpl = {
  levels: { min: 0, max: 11, default: 4 },

  compress(value, level) {
    return brotliCompressSync(value, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: level,
        [constants.BROTLI_PARAM_SIZE_HINT]: value.length,
      },
    });
  },

  decompress(payload) {
    return brotliDecompressSync(payload);
  },
};
