/**
 * Argument parsing shared by every handler: numbers with Redis's strictness, case-insensitive
 * option tokens, and text views of raw bytes. Handlers parse all arguments first, then run.
 */
import { errors } from "../errors.ts";

const decoder = new TextDecoder();
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** The argument as text (UTF-8, lossy only for display purposes). */
export function text(arg: Uint8Array): string {
  return decoder.decode(arg);
}

/**
 * The argument's raw bytes as a one-char-per-byte string, for echoing client input in error
 * replies: the reply writer emits each char as one byte, so the client gets its bytes back.
 */
export function rawText(arg: Uint8Array): string {
  return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength).toString("latin1");
}

/** Upper-cased ASCII token, for matching options like EX / NX. */
export function token(arg: Uint8Array): string {
  if (arg.length > 32) return "";
  let out = "";
  for (let i = 0; i < arg.length; i++) {
    let c = arg[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    out += String.fromCharCode(c);
  }
  return out;
}

/**
 * A signed 64-bit integer written the way Redis's string2ll accepts it: optional '-', no '+',
 * no spaces, no leading zeros. Returns null when the text is not such an integer.
 */
export function parseInt64(arg: Uint8Array): bigint | null {
  const n = arg.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  const negative = arg[0] === 45;
  if (negative) i = 1;
  if (i === n) return null;
  if (arg[i] === 48) return n === i + 1 && !negative ? 0n : null;
  for (let j = i; j < n; j++) {
    const c = arg[j]!;
    if (c < 48 || c > 57) return null;
  }
  const value = BigInt(decoder.decode(arg));
  if (value > INT64_MAX || value < INT64_MIN) return null;
  return value;
}

/** A 64-bit integer as a JS number, or the standard "not an integer" error. */
export function integer(arg: Uint8Array): number {
  const small = fastInt(arg);
  if (small !== null) return small;
  const v = parseInt64(arg);
  if (v === null) throw errors.notInteger();
  return Number(v);
}

/** Same as integer() but keeps full 64-bit precision. */
export function bigInteger(arg: Uint8Array): bigint {
  const v = parseInt64(arg);
  if (v === null) throw errors.notInteger();
  return v;
}

/** Parses short non-negative decimal integers without allocating; null if not one. */
function fastInt(arg: Uint8Array): number | null {
  const n = arg.length;
  if (n === 0 || n > 15) return null;
  if (arg[0] === 48) return n === 1 ? 0 : null;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = arg[i]! - 48;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return v;
}

export function equalsToken(arg: Uint8Array, upper: string): boolean {
  if (arg.length !== upper.length) return false;
  for (let i = 0; i < arg.length; i++) {
    let c = arg[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}
