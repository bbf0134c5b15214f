/**
 * LZ4 codec (header byte 3), on lz4-napi (Rust lz4_flex, prebuilt N-API addon; it is embedded
 * and works in `bun build --compile` binaries, unlike lz4-wasm-nodejs, which reads its .wasm
 * from node_modules at run time). The payload is lz4_flex's "size prepended" block format:
 * u32 little-endian uncompressed length, then one LZ4 block.
 *
 * Levels: lz4_flex has a single compression mode (LZ4's fast mode, acceleration 1), so every
 * level gives the same bytes. 1-16 is accepted only so configs written for upstream Blobasaur
 * (which validates lz4 1-16) keep loading; the default is reported as 1.
 *
 * The addon is required on first use, not at import: a compiled binary extracts the .node file
 * to $TMPDIR when it is loaded, and a server that never touches lz4 should not fail to start
 * because TMPDIR is unusable. `require` caches the module, so later calls are a lookup.
 *
 * Corruption: the block format has no checksum. The decoder rejects out-of-range offsets and
 * overruns, and the length check below rejects truncation, but a flipped literal byte decodes
 * to different bytes silently.
 */
import type { CodecImpl } from "./impl.ts";

type Lz4Napi = typeof import("lz4-napi");
const lib = (): Lz4Napi => require("lz4-napi");

const SIZE_PREFIX_BYTES = 4;
/** LZ4 cannot expand a block by more than ~255x; anything claiming more is corrupt. */
const MAX_EXPANSION = 256;

export const lz4: CodecImpl = {
  levels: { min: 1, max: 16, default: 1 },

  compress(value) {
    return lib().compressSync(value as Buffer);
  },

  decompress(payload) {
    if (payload.length < SIZE_PREFIX_BYTES) throw new Error("lz4 payload shorter than its header");
    const view = new DataView(payload.buffer, payload.byteOffset, SIZE_PREFIX_BYTES);
    const expected = view.getUint32(0, true);
    if (expected > (payload.length - SIZE_PREFIX_BYTES) * MAX_EXPANSION + 64) {
      throw new Error("lz4 length prefix exceeds what the block can hold");
    }
    const out = lib().uncompressSync(payload);
    if (out.length !== expected) throw new Error("lz4 block decoded to the wrong length");
    return out;
  },
};
