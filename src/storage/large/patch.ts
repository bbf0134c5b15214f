/**
 * A stored large value changed in place, as a new file (a file is never modified once
 * written): `patch` written at `offset`, the gap between the old end and `offset` reading as
 * NUL bytes (SETRANGE; APPEND is offset = the old size). Chunks the change does not touch
 * are copied frame by frame, still encoded; only the chunks it touches are decoded, changed
 * and encoded again. Memory stays about one chunk, whatever the value's size.
 */
import type { LargeFile } from "./file.ts";
import type { LargeRef } from "./format.ts";
import type { LargeUpload } from "./upload.ts";

/** What patching needs of the large-value directory (files.ts). */
export interface PatchHost {
  readonly chunkBytes: number;
  open(ref: LargeRef): LargeFile;
  upload(size: number): LargeUpload;
}

export function patchValue(
  host: PatchHost,
  ref: LargeRef,
  offset: number,
  patch: Uint8Array,
): LargeRef {
  const size = Math.max(ref.size, offset + patch.length);
  const patchEnd = offset + patch.length;
  const cs = host.chunkBytes;
  const src = host.open(ref);
  try {
    // A file written with another chunk size is rebuilt chunk by chunk from its bytes.
    const sameChunks = src.footer.chunkBytes === cs;
    const up = host.upload(size);
    try {
      for (let i = 0, pos = 0; pos < size; i++) {
        const end = Math.min(pos + cs, size);
        const len = end - pos;
        const touched = end > offset && pos < patchEnd;
        // Bytes of the old value inside [pos, end).
        const oldLen = Math.max(0, Math.min(ref.size, end) - pos);
        if (sameChunks && !touched && oldLen === len) {
          up.copyFrame(src.rawFrame(i), len);
        } else {
          const chunk = new Uint8Array(len); // zero-filled: the gap reads as NUL bytes
          if (oldLen > 0) chunk.set(src.readRange(pos, pos + oldLen), 0);
          if (touched) {
            const from = Math.max(offset, pos);
            const to = Math.min(patchEnd, end);
            chunk.set(patch.subarray(from - offset, to - offset), from - pos);
          }
          up.write(chunk);
        }
        pos = end;
      }
      return up.finish().persistSync();
    } catch (error) {
      up.dispose();
      throw error;
    }
  } finally {
    src.close();
  }
}
