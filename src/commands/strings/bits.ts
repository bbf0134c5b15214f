/**
 * Bit-level primitives shared by the bitmap commands (bitops.ts, bitop.ts, bitfield.ts):
 * argument parsing with Redis's exact rules and error texts, popcount, first-bit search and
 * reading/writing integers at arbitrary bit offsets. Bit 0 is the most significant bit of the
 * first byte, as in Redis. Pure functions over byte arrays; no storage access.
 */
import { RespError } from "../../errors.ts";
import { limits } from "../../limits.ts";
import { parseInt64 } from "../args.ts";

const BULK_MAX = BigInt(limits.bulkBytesMax);

export function bitOffsetError(): RespError {
  return new RespError("ERR", "bit offset is not an integer or out of range");
}

/**
 * Redis's getBitOffsetFromArgument: a non-negative bit offset whose byte lies inside
 * proto-max-bulk-len. With `bits` > 0 (BITFIELD) a leading '#' means "in units of the type's
 * width"; the product wraps as the C multiplication does, and a wrapped negative is refused.
 */
export function bitOffset(arg: Uint8Array, bits = 0): number {
  const hash = bits > 0 && arg.length > 0 && arg[0] === 35;
  let v = parseInt64(hash ? arg.subarray(1) : arg);
  if (v === null) throw bitOffsetError();
  if (hash) v = BigInt.asIntN(64, v * BigInt(bits));
  if (v < 0n || v >> 3n >= BULK_MAX) throw bitOffsetError();
  return Number(v);
}

/**
 * Case-insensitive comparison the way Redis's strcasecmp sees an argument: as a C string,
 * which ends at the first NUL byte ("get\0x" matches GET).
 */
export function cToken(arg: Uint8Array, upper: string): boolean {
  const nul = arg.indexOf(0);
  const n = nul < 0 ? arg.length : nul;
  if (n !== upper.length) return false;
  for (let i = 0; i < n; i++) {
    let c = arg[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

export interface BitfieldType {
  signed: boolean;
  bits: number;
}

/**
 * A BITFIELD type: 'i' or 'u' (lower case only) and a width, i1..i64 or u1..u63 (a u64 could
 * not be returned as a RESP integer). Redis reads the width with strlen, so it ends at a NUL.
 */
export function bitfieldType(arg: Uint8Array): BitfieldType {
  const fail = () =>
    new RespError(
      "ERR",
      "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
    );
  if (arg.length === 0 || (arg[0] !== 105 && arg[0] !== 117)) throw fail();
  const signed = arg[0] === 105;
  const nul = arg.indexOf(0, 1);
  const width = parseInt64(arg.subarray(1, nul < 0 ? arg.length : nul));
  if (width === null || width < 1n || width > (signed ? 64n : 63n)) throw fail();
  return { signed, bits: Number(width) };
}

const BITS_IN_BYTE = (() => {
  const table = new Uint8Array(256);
  for (let i = 1; i < 256; i++) table[i] = (i & 1) + table[i >> 1]!;
  return table;
})();

/** Set bits in bytes [from, to] inclusive. */
export function popcount(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) n += BITS_IN_BYTE[bytes[i]!]!;
  return n;
}

export function popcountByte(b: number): number {
  return BITS_IN_BYTE[b & 0xff]!;
}

/**
 * Redis's redisBitpos over `count` bytes from `from`: the position (relative to `from`) of
 * the first bit equal to `bit`. A missing 1 is -1; a missing 0 is count*8, the first bit of
 * the zero padding Redis imagines to the right of the string.
 */
export function scanBit(bytes: Uint8Array, from: number, count: number, bit: 0 | 1): number {
  const skip = bit ? 0 : 0xff;
  for (let i = 0; i < count; i++) {
    const b = bytes[from + i]!;
    if (b === skip) continue;
    for (let j = 0; j < 8; j++) {
      if (((b >> (7 - j)) & 1) === bit) return i * 8 + j;
    }
  }
  return bit ? -1 : count * 8;
}

/** The bit at `offset`, 0 beyond the end of the string. */
export function bitAt(bytes: Uint8Array, offset: number): 0 | 1 {
  const byte = Math.floor(offset / 8);
  if (byte >= bytes.length) return 0;
  return ((bytes[byte]! >> (7 - (offset % 8))) & 1) as 0 | 1;
}

/** An unsigned integer of `bits` bits read at `offset`, zero-padded beyond the end. */
export function getUnsigned(bytes: Uint8Array, offset: number, bits: number): bigint {
  let v = 0n;
  for (let j = 0; j < bits; j++) v = (v << 1n) | BigInt(bitAt(bytes, offset + j));
  return v;
}

/** The same bits read as two's complement. */
export function getSigned(bytes: Uint8Array, offset: number, bits: number): bigint {
  return BigInt.asIntN(bits, getUnsigned(bytes, offset, bits));
}

/** Writes the low `bits` bits of `value` at `offset`; `bytes` must already be long enough. */
export function setBits(bytes: Uint8Array, offset: number, bits: number, value: bigint): void {
  const v = BigInt.asUintN(bits, value);
  for (let j = 0; j < bits; j++) {
    const on = (v >> BigInt(bits - 1 - j)) & 1n;
    const at = offset + j;
    const byte = Math.floor(at / 8);
    const mask = 1 << (7 - (at % 8));
    bytes[byte] = on ? bytes[byte]! | mask : bytes[byte]! & ~mask;
  }
}
