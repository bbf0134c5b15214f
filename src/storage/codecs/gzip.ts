/**
 * gzip codec (header byte 2), on Bun's built-in zlib. The payload is one standard gzip member
 * (RFC 1952), whose CRC-32 and length trailer make zlib reject corrupted or truncated data.
 */
import type { CodecImpl } from "./impl.ts";

type GzipLevel = NonNullable<Parameters<typeof Bun.gzipSync>[1]>["level"];

export const gzip: CodecImpl = {
  levels: { min: 1, max: 9, default: 6 },

  compress(value, level) {
    return Bun.gzipSync(value as Uint8Array<ArrayBuffer>, { level: level as GzipLevel });
  },

  decompress(payload) {
    return Bun.gunzipSync(payload as Uint8Array<ArrayBuffer>);
  },
};
