/**
 * The codecs of the Rust original's stored values (reference §4): bare gzip, zstd, LZ4 frame
 * or raw brotli streams with no header of ours, or identity. import.ts decodes every value
 * through here, naming the codec or detecting it by its magic bytes.
 */
import { brotliDecompressSync } from "node:zlib";

export type LegacyCompression = "none" | "gzip" | "zstd" | "lz4" | "brotli";
export const LEGACY_COMPRESSIONS: readonly LegacyCompression[] = [
  "none",
  "gzip",
  "zstd",
  "lz4",
  "brotli",
];

type Lz4Napi = typeof import("lz4-napi");
const lz4 = (): Lz4Napi => require("lz4-napi");

const decoders: Record<Exclude<LegacyCompression, "none">, (data: Uint8Array) => Uint8Array> = {
  gzip: (d) => Bun.gunzipSync(d as Uint8Array<ArrayBuffer>),
  zstd: (d) => Bun.zstdDecompressSync(d as Uint8Array<ArrayBuffer>),
  lz4: (d) => lz4().decompressFrameSync(Buffer.from(d.buffer, d.byteOffset, d.byteLength)),
  brotli: (d) => brotliDecompressSync(d),
};

/** The codec whose magic bytes open `data` (brotli has none, so it is never sniffed). */
export function sniffCodec(data: Uint8Array): "gzip" | "zstd" | "lz4" | null {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return "gzip";
  const magic =
    data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) : 0;
  if (magic === 0xfd2fb528) return "zstd";
  if (magic === 0x184d2204) return "lz4";
  return null;
}

/**
 * Decodes one stored value. With an explicit algorithm every value must decode (the Rust
 * server compressed every value); with null the magic bytes decide and a value that does not
 * decode is taken as raw (data written before compression was turned on).
 */
export function decodeLegacy(
  data: Uint8Array,
  compression: LegacyCompression | null,
): { value: Uint8Array; as: LegacyCompression } {
  if (compression === "none") return { value: data, as: "none" };
  if (compression !== null) return { value: decoders[compression](data), as: compression };
  const sniffed = sniffCodec(data);
  if (sniffed !== null) {
    try {
      return { value: decoders[sniffed](data), as: sniffed };
    } catch {
      // Raw bytes that happen to start with a magic number.
    }
  }
  return { value: data, as: "none" };
}
