/**
 * The DUMP/RESTORE payload (also what MIGRATE sends): our own format, documented in
 * docs/cluster.md ("DUMP payload"). Layout:
 *
 *   stored   the body, encoded by the source's value codec: one codec header byte (raw, zstd,
 *            gzip, lz4, brotli — codecs/codec.ts) then the (maybe compressed) body
 *   "BL"     two marker bytes
 *   version  u16 little endian, 1
 *   crc      u32 little endian, CRC32 of everything before it
 *
 *   body     type byte 0 = string: the value bytes follow
 *            type byte 1 = hash: the fields in insertion order, as an inline hash
 *                          (storage/keyspace/inline-hash.ts: varint lengths, f64 field expiries in ms)
 *
 * The key's own TTL is not in the payload (RESTORE and MIGRATE carry it, as in Redis). A
 * payload that fails the marker, version or CRC check — a Redis RDB payload, say — is refused
 * with Redis's `ERR DUMP payload version or checksum are wrong`.
 */
import { RespError } from "../../errors.ts";
import {
  decodeInline,
  decodeValue,
  type ExpiryMs,
  encodeInline,
  type FieldItem,
  type KeyParam,
  type KeyRows,
  ROW_STRING,
  type RowTable,
} from "../../storage/api.ts";

export const DUMP_VERSION = 1;
const TRAILER_BYTES = 8;
const TYPE_STRING = 0;
const TYPE_HASH = 1;
/** Fields read per page while dumping a large hash. */
const PAGE_FIELDS = 1_000;

export const payloadError = () =>
  new RespError("ERR", "DUMP payload version or checksum are wrong");

export interface DumpedKey {
  body: Uint8Array;
  /** The key's TTL as an absolute time (ms), null = none. */
  expiresAt: ExpiryMs | null;
}

/** The body of the live key `key` of `table`, or null when absent. */
export function dumpBody(table: RowTable, key: KeyParam, now: number): DumpedKey | null {
  const entry = table.entry(key, now);
  if (entry === null) return null;
  const expiresAt = entry.expiresAt === null ? null : (table.exactExpiry(key, now) ?? null);
  if (entry.type === ROW_STRING) {
    const body = new Uint8Array(entry.value.length + 1);
    body[0] = TYPE_STRING;
    body.set(entry.value, 1);
    return { body, expiresAt };
  }
  const view = table.hash(key, now);
  if (view === null) return null;
  const items: FieldItem[] = [];
  let after = 0;
  do {
    const page = view.page(after, PAGE_FIELDS, now);
    for (const item of page.items) items.push(item);
    after = page.next;
  } while (after !== 0);
  if (items.length === 0) return null;
  const inline = encodeInline(items);
  const body = new Uint8Array(inline.length + 1);
  body[0] = TYPE_HASH;
  body.set(inline, 1);
  return { body, expiresAt };
}

/** Wraps a codec-encoded body into a payload. */
export function sealPayload(stored: Uint8Array): Uint8Array {
  const out = new Uint8Array(stored.length + TRAILER_BYTES);
  out.set(stored, 0);
  const view = new DataView(out.buffer);
  const at = stored.length;
  out[at] = 0x42; // B
  out[at + 1] = 0x4c; // L
  view.setUint16(at + 2, DUMP_VERSION, true);
  view.setUint32(at + 4, Bun.hash.crc32(out.subarray(0, at + 4)) >>> 0, true);
  return out;
}

/** Checks a payload and returns its body (a copy: the argument may be a receive buffer). */
export function openPayload(payload: Uint8Array): Uint8Array {
  if (payload.length < TRAILER_BYTES + 2) throw payloadError();
  const at = payload.length - TRAILER_BYTES;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload[at] !== 0x42 || payload[at + 1] !== 0x4c) throw payloadError();
  if (view.getUint16(at + 2, true) !== DUMP_VERSION) throw payloadError();
  if (view.getUint32(at + 4, true) !== Bun.hash.crc32(payload.subarray(0, at + 4)) >>> 0)
    throw payloadError();
  let body: Uint8Array;
  try {
    body = decodeValue(payload.subarray(0, at)).slice();
  } catch {
    throw payloadError();
  }
  if (body.length === 0 || (body[0] !== TYPE_STRING && body[0] !== TYPE_HASH)) throw payloadError();
  if (body[0] === TYPE_HASH) {
    try {
      decodeInline(body.subarray(1));
    } catch {
      throw payloadError();
    }
  }
  return body;
}

/**
 * Writes a checked body as `key` of `table` (inside its writer transaction), replacing what
 * was there. A hash whose fields have all expired is not created, like any empty hash.
 */
export function restoreBody(
  table: KeyRows,
  key: KeyParam,
  body: Uint8Array,
  expiresAt: ExpiryMs | null,
  now: number,
): void {
  table.remove(key, now);
  if (body[0] === TYPE_STRING) {
    table.put(key, body.subarray(1), now, expiresAt);
    return;
  }
  const h = table.hashWriter(key, now);
  for (const item of decodeInline(body.subarray(1))) {
    if (item.expiresAt !== null && item.expiresAt <= now) continue;
    h.set(item.field, item.value, item.expiresAt, now);
  }
  h.save(now);
  if (expiresAt !== null && table.has(key, now)) table.setExpiry(key, expiresAt);
}

export function sameDump(a: DumpedKey | null, b: DumpedKey | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.expiresAt !== b.expiresAt || a.body.length !== b.body.length) return false;
  return Buffer.from(a.body.buffer, a.body.byteOffset, a.body.length).equals(b.body);
}
