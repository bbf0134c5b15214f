/**
 * ON-DISK FORMAT of large values (values above `large_value_threshold_kb`), kept in files
 * beside the shards under `<data_dir>/large/`, one file per value, named by a random id.
 *
 * The key row (type ROW_STRING_FILE, sql.ts) holds a small reference record, never the bytes:
 *   0      u8   tag 0x4C ('L')
 *   1      u8   record version (1)
 *   2..17  16 B file id (the file is `large/<32 hex digits>`)
 *   18     f64  total value size in bytes (exact to 2^53)
 *   26     u32  uncompressed bytes per chunk (every chunk but the last holds exactly this)
 *   30     u8   codec header of the first chunk (informative: each chunk names its own codec)
 * The file is a run of chunk frames, then the chunk index, then a fixed footer:
 *   frame  u32 stored length L, then L bytes = codec header byte + payload (codec.ts format,
 *          so compression is per chunk and each chunk carries its own codec header)
 *   index  f64 per chunk: the file offset of its frame
 *   footer 32 B: magic "BLBLIDX1", f64 index offset, u32 chunk count, u32 chunk size,
 *          f64 total size
 * Knows nothing of SQLite, sockets or commands. All numbers little-endian.
 */
import { randomBytes } from "node:crypto";

export const REF_TAG = 0x4c;
export const REF_VERSION = 1;
export const REF_BYTES = 31;
export const FRAME_HEADER_BYTES = 4;
export const FOOTER_BYTES = 32;
const MAGIC = new TextEncoder().encode("BLBLIDX1");

/** What a key row says about its file. */
export interface LargeRef {
  /** 32 lower-case hex digits: the file name under large/. */
  readonly id: string;
  readonly size: number;
  readonly chunkBytes: number;
  readonly codec: number;
}

/**
 * Whether a stored value is a reference record rather than codec-encoded bytes: a hash field
 * kept in a file (format 4). Encoded values start with a codec header (0–4), never REF_TAG.
 */
export function isFieldRef(stored: Uint8Array): boolean {
  return stored.length === REF_BYTES && stored[0] === REF_TAG;
}

export function newFileId(): string {
  return randomBytes(16).toString("hex");
}

export function encodeRef(ref: LargeRef): Uint8Array {
  const out = new Uint8Array(REF_BYTES);
  const view = new DataView(out.buffer);
  out[0] = REF_TAG;
  out[1] = REF_VERSION;
  out.set(Buffer.from(ref.id, "hex"), 2);
  view.setFloat64(18, ref.size, true);
  view.setUint32(26, ref.chunkBytes, true);
  out[30] = ref.codec;
  return out;
}

/** Reads a reference record; throws (a plain Error) when it is not one this server writes. */
export function decodeRef(bytes: Uint8Array): LargeRef {
  if (bytes.length !== REF_BYTES || bytes[0] !== REF_TAG)
    throw new Error("large value reference record is damaged");
  if (bytes[1] !== REF_VERSION)
    throw new Error(`large value reference record version ${bytes[1]} is not supported`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    id: Buffer.from(bytes.subarray(2, 18)).toString("hex"),
    size: view.getFloat64(18, true),
    chunkBytes: view.getUint32(26, true),
    codec: bytes[30]!,
  };
}

/** The 16 id bytes of a reference record (for the orphan scan), or null if not one. */
export function refIdOf(bytes: Uint8Array): string | null {
  if (bytes.length !== REF_BYTES || bytes[0] !== REF_TAG) return null;
  return Buffer.from(bytes.subarray(2, 18)).toString("hex");
}

export interface Footer {
  indexOffset: number;
  chunks: number;
  chunkBytes: number;
  size: number;
}

export function encodeFooter(f: Footer): Uint8Array {
  const out = new Uint8Array(FOOTER_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setFloat64(8, f.indexOffset, true);
  view.setUint32(16, f.chunks, true);
  view.setUint32(20, f.chunkBytes, true);
  view.setFloat64(24, f.size, true);
  return out;
}

export function decodeFooter(bytes: Uint8Array): Footer {
  for (let i = 0; i < MAGIC.length; i++)
    if (bytes[i] !== MAGIC[i]) throw new Error("large value file has no valid footer");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    indexOffset: view.getFloat64(8, true),
    chunks: view.getUint32(16, true),
    chunkBytes: view.getUint32(20, true),
    size: view.getFloat64(24, true),
  };
}

export function encodeIndex(offsets: readonly number[]): Uint8Array {
  const out = new Uint8Array(offsets.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < offsets.length; i++) view.setFloat64(i * 8, offsets[i]!, true);
  return out;
}

export function decodeIndex(bytes: Uint8Array, chunks: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(chunks);
  for (let i = 0; i < chunks; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

export function frameHeader(storedBytes: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(out.buffer).setUint32(0, storedBytes, true);
  return out;
}
