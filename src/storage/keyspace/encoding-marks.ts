import { limits } from "../../limits.ts";
/**
 * What OBJECT ENCODING must remember that the stored bytes do not say. Redis picks a string's
 * encoding from its shape (int, embstr up to 44 bytes, raw) when SET stores it, but APPEND and
 * SETRANGE on an existing value leave it `raw` whatever its shape, and INCRBYFLOAT stores its
 * result as a plain string (`embstr`), never `int`. Those commands mark the key here with a
 * fingerprint of the value they wrote; OBJECT ENCODING trusts a mark only while the key still
 * holds those very bytes, so any later write that changes the value makes the mark stale and
 * harmless. SET and its kin clear the mark, for the one case a fingerprint cannot tell apart
 * (storing the same bytes again).
 *
 * Marks are memory-only, like Redis's objects: after a restart every string is judged by its
 * shape, which is also what Redis does when it loads an RDB. Each Keyspace (one Redis
 * database) owns its marks, so they die with their Store and several servers in one process
 * never share them; each database keeps at most `encodingMarksMax`, dropping the oldest first,
 * and keys over `encodingMarkKeyBytesMax` are never marked: memory stays bounded at a few
 * megabytes.
 */

export type ForcedEncoding = "raw" | "embstr";

interface Mark {
  readonly encoding: ForcedEncoding;
  readonly length: number;
  readonly hash: bigint | number;
}

function id(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
}

export class EncodingMarks {
  private readonly marks = new Map<string, Mark>();

  /** Records that `key` now holds `value` with an encoding its shape would not give. */
  mark(key: Uint8Array, value: Uint8Array, encoding: ForcedEncoding): void {
    if (key.length > limits.encodingMarkKeyBytesMax) return;
    this.put(key, { encoding, length: value.length, hash: Bun.hash(value) });
  }

  /** Forgets any mark on `key` (SET and its kin: the new value's shape decides again). */
  clear(key: Uint8Array): void {
    // The common case (no APPEND ever ran here) costs one size check, not a key conversion.
    if (this.marks.size > 0) this.marks.delete(id(key));
  }

  /** The forced encoding of `key` while it still holds the marked bytes, else null. */
  of(key: Uint8Array, value: Uint8Array): ForcedEncoding | null {
    if (this.marks.size === 0) return null;
    const mark = this.marks.get(id(key));
    if (!mark) return null;
    if (mark.length === value.length && mark.hash === Bun.hash(value)) return mark.encoding;
    this.marks.delete(id(key));
    return null;
  }

  /** RENAME and COPY keep the object, so its encoding travels with it (MOVE and COPY DB too). */
  copyTo(src: Uint8Array, to: EncodingMarks, dst: Uint8Array, move: boolean): void {
    const mark = this.marks.size > 0 ? this.marks.get(id(src)) : undefined;
    to.clear(dst);
    if (!mark) return;
    if (move) this.clear(src);
    to.put(dst, mark);
  }

  /** Stores a mark, within the bounds (key length, marks per database). */
  private put(key: Uint8Array, mark: Mark): void {
    if (key.length > limits.encodingMarkKeyBytesMax) return;
    const k = id(key);
    this.marks.delete(k);
    if (this.marks.size >= limits.encodingMarksMax) {
      this.marks.delete(this.marks.keys().next().value as string);
    }
    this.marks.set(k, mark);
  }
}
