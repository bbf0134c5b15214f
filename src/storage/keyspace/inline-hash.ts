/**
 * The inline encoding of a small hash: its fields, in insertion order, serialized into the
 * value of its key row (row type 1, sql.ts), the way Redis keeps small hashes in a listpack.
 * A one-field hash then costs one row, and HSET/HGET on it cost what SET/GET cost. This file
 * owns the byte layout only; when a hash outgrows it is decided by hash-rows.ts.
 *
 * Layout (before the value codec, which wraps the whole thing like any value):
 *   byte 0        layout tag: 1 = no field carries an expiry, 2 = every entry has one
 *   varint        number of entries
 *   per entry     varint field length, field bytes, varint value length, value bytes,
 *                 and with tag 2 an f64 (little endian) expiry in ms, NaN when none
 * Expiries are kept as doubles: exact for every time a client can set (below 2^53 ms).
 */
import type { LargeRef } from "../large/format.ts";

export interface FieldItem {
  field: Uint8Array;
  /** For a field kept in a file (a large hash's, format 4), reading this reads the file. */
  value: Uint8Array;
  /** ms since the epoch, null = no expiry. */
  expiresAt: number | null;
  /** Set when the value lives in a file: COPY links it instead of reading it. */
  large?: LargeRef;
}

const TAG_PLAIN = 1;
const TAG_EXPIRY = 2;

export class InlineFormatError extends Error {}

/** A cursor over the bytes: the one varint reader both parsers use. */
class Cursor {
  at = 1;
  constructor(readonly bytes: Uint8Array) {}

  varint(): number {
    const bytes = this.bytes;
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= bytes.length) throw new InlineFormatError("truncated inline hash");
      const b = bytes[this.at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
  }
}

function checkTag(bytes: Uint8Array): number {
  const tag = bytes[0];
  if (tag !== TAG_PLAIN && tag !== TAG_EXPIRY) throw new InlineFormatError("bad inline hash tag");
  return tag;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** Serializes entries in the given order. */
export function encodeInline(entries: readonly FieldItem[]): Uint8Array {
  let withExpiry = false;
  let size = 1 + varintSize(entries.length);
  for (const e of entries) {
    if (e.expiresAt !== null) withExpiry = true;
    size +=
      varintSize(e.field.length) + e.field.length + varintSize(e.value.length) + e.value.length;
  }
  if (withExpiry) size += 8 * entries.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = withExpiry ? TAG_EXPIRY : TAG_PLAIN;
  let at = writeVarint(out, 1, entries.length);
  for (const e of entries) {
    at = writeVarint(out, at, e.field.length);
    out.set(e.field, at);
    at += e.field.length;
    at = writeVarint(out, at, e.value.length);
    out.set(e.value, at);
    at += e.value.length;
    if (withExpiry) {
      view.setFloat64(at, e.expiresAt ?? Number.NaN, true);
      at += 8;
    }
  }
  return out;
}

/**
 * Parses an inline hash. Fields and values are views into `bytes` (callers that keep them
 * past the bytes' lifetime copy them). A malformed blob throws InlineFormatError.
 */
export function decodeInline(bytes: Uint8Array): FieldItem[] {
  const tag = checkTag(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = new Cursor(bytes);
  const count = c.varint();
  const out: FieldItem[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const flen = c.varint();
    const field = bytes.subarray(c.at, c.at + flen);
    c.at += flen;
    const vlen = c.varint();
    const value = bytes.subarray(c.at, c.at + vlen);
    c.at += vlen;
    let expiresAt: number | null = null;
    if (tag === TAG_EXPIRY) {
      if (c.at + 8 > bytes.length) throw new InlineFormatError("truncated inline hash");
      const e = view.getFloat64(c.at, true);
      c.at += 8;
      expiresAt = Number.isNaN(e) ? null : e;
    }
    if (c.at > bytes.length) throw new InlineFormatError("truncated inline hash");
    out[i] = { field, value, expiresAt };
  }
  return out;
}

/**
 * The entry for `field`, scanning the bytes without decoding the rest (HGET's path): fields
 * are compared by length first, so most entries cost two varint reads.
 */
export function inlineFind(bytes: Uint8Array, field: Uint8Array): FieldItem | null {
  const stride = checkTag(bytes) === TAG_EXPIRY ? 8 : 0;
  const c = new Cursor(bytes);
  const count = c.varint();
  for (let i = 0; i < count; i++) {
    const flen = c.varint();
    const fieldAt = c.at;
    c.at += flen;
    const vlen = c.varint();
    const valueAt = c.at;
    c.at += vlen + stride;
    if (c.at > bytes.length) throw new InlineFormatError("truncated inline hash");
    if (flen !== field.length) continue;
    let same = true;
    for (let j = 0; j < flen; j++) {
      if (bytes[fieldAt + j] !== field[j]) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    let expiresAt: number | null = null;
    if (stride > 0) {
      const e = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(
        valueAt + vlen,
        true,
      );
      expiresAt = Number.isNaN(e) ? null : e;
    }
    return {
      field: bytes.subarray(fieldAt, fieldAt + flen),
      value: bytes.subarray(valueAt, valueAt + vlen),
      expiresAt,
    };
  }
  return null;
}

/** True when at least one field of the inline hash is live at `now` (a quick check for EXISTS). */
export function inlineHasLive(bytes: Uint8Array, now: number): boolean {
  if (bytes[0] === TAG_PLAIN) return bytes.length > 1 && bytes[1] !== 0;
  for (const e of decodeInline(bytes)) if (e.expiresAt === null || e.expiresAt > now) return true;
  return false;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
