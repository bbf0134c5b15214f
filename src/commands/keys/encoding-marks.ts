import { limits } from "../../limits.ts";
import type { Keyspace } from "../../storage/api.ts";
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
 * shape, which is also what Redis does when it loads an RDB. They are kept per Keyspace (one
 * Redis database) in a WeakMap, so they die with their Store and several servers in one process
 * never share them; each database keeps at most MARKS_MAX, dropping the oldest first, and keys
 * over MARK_KEY_BYTES_MAX are never marked: memory stays bounded at a few megabytes.
 */

export type ForcedEncoding = "raw" | "embstr";

interface Mark {
  readonly encoding: ForcedEncoding;
  readonly length: number;
  readonly hash: bigint | number;
}

const MARKS_MAX = limits.encodingMarksMax;
const MARK_KEY_BYTES_MAX = limits.encodingMarkKeyBytesMax;

const byKeyspace = new WeakMap<Keyspace, Map<string, Mark>>();

function id(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
}

/** Stores a mark, within the bounds (key length, marks per database). */
function setMark(keys: Keyspace, key: Uint8Array, mark: Mark): void {
  if (key.length > MARK_KEY_BYTES_MAX) return;
  let marks = byKeyspace.get(keys);
  if (!marks) {
    marks = new Map();
    byKeyspace.set(keys, marks);
  }
  const k = id(key);
  marks.delete(k);
  if (marks.size >= MARKS_MAX) marks.delete(marks.keys().next().value as string);
  marks.set(k, mark);
}

/** Records that `key` now holds `value` with an encoding its shape would not give. */
export function markEncoding(
  keys: Keyspace,
  key: Uint8Array,
  value: Uint8Array,
  encoding: ForcedEncoding,
): void {
  if (key.length > MARK_KEY_BYTES_MAX) return;
  setMark(keys, key, { encoding, length: value.length, hash: Bun.hash(value) });
}

/** Forgets any mark on `key` (SET and its kin: the new value's shape decides again). */
export function clearEncodingMark(keys: Keyspace, key: Uint8Array): void {
  const marks = byKeyspace.get(keys);
  // The common case (no APPEND ever ran here) costs one lookup, not a key conversion.
  if (marks !== undefined && marks.size > 0) marks.delete(id(key));
}

/** The forced encoding of `key` while it still holds the marked bytes, else null. */
export function markedEncoding(
  keys: Keyspace,
  key: Uint8Array,
  value: Uint8Array,
): ForcedEncoding | null {
  const marks = byKeyspace.get(keys);
  if (marks === undefined || marks.size === 0) return null;
  const mark = marks.get(id(key));
  if (!mark) return null;
  if (mark.length === value.length && mark.hash === Bun.hash(value)) return mark.encoding;
  marks.delete(id(key));
  return null;
}

/** RENAME and COPY keep the object, so its encoding travels with it (MOVE and COPY DB too). */
export function copyEncodingMark(
  from: Keyspace,
  src: Uint8Array,
  to: Keyspace,
  dst: Uint8Array,
  move: boolean,
): void {
  const marks = byKeyspace.get(from);
  const mark = marks !== undefined && marks.size > 0 ? marks.get(id(src)) : undefined;
  clearEncodingMark(to, dst);
  if (!mark) return;
  if (move) clearEncodingMark(from, src);
  setMark(to, dst, mark);
}
