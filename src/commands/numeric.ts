/**
 * The arithmetic of INCR-style commands, shared by strings (INCRBY, INCRBYFLOAT) and hash
 * fields (HINCRBY, HINCRBYFLOAT): 64-bit integers with Redis's overflow refusal, and 80-bit
 * long doubles formatted exactly as Redis prints them. Pure: no storage access.
 */
import { RespError } from "../errors.ts";
import { parseInt64 } from "./args.ts";
import { addLongDouble, formatLongDouble, type LongDouble, parseLongDouble } from "./longdouble.ts";

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const ZERO: LongDouble = { neg: false, mant: 0n, exp: 0 };

/** `old + delta`, or `notInteger()` when old isn't an integer, or Redis's overflow error. */
export function addInteger(
  old: Uint8Array | null,
  delta: bigint,
  notInteger: () => RespError,
): bigint {
  const current = old === null ? 0n : parseInt64(old);
  if (current === null) throw notInteger();
  if (
    (delta < 0n && current < 0n && delta < INT64_MIN - current) ||
    (delta > 0n && current > 0n && delta > INT64_MAX - current)
  ) {
    throw new RespError("ERR", "increment or decrement would overflow");
  }
  return current + delta;
}

/** Parses an INCRBYFLOAT-style increment; null when it isn't a valid float. */
export function parseIncrement(arg: Uint8Array): LongDouble | "inf" | null {
  return parseLongDouble(arg);
}

/** `old + increment` as Redis renders it, or `notFloat()` / the NaN-or-Infinity error. */
export function addFloat(
  old: Uint8Array | null,
  increment: LongDouble | "inf",
  notFloat: () => RespError,
): string {
  const current = old === null ? ZERO : parseLongDouble(old);
  if (current === null) throw notFloat();
  const sum = current === "inf" || increment === "inf" ? null : addLongDouble(current, increment);
  if (sum === null) throw new RespError("ERR", "increment would produce NaN or Infinity");
  return formatLongDouble(sum);
}
