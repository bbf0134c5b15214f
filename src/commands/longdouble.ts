/**
 * INCRBYFLOAT's arithmetic, exactly as Redis does it on x86-64 Linux: the operands are C
 * `long double` (x87 80-bit extended precision: a 64-bit significand, exponents down to
 * subnormals at 2^-16445, overflow at 2^16384), parsed by glibc's strtold (correctly rounded,
 * ties to even), added with one rounding, and printed with "%.17Lf" (exact decimal value
 * rounded to 17 fraction digits, ties to even) before trailing zeros are trimmed.
 * Doubles cannot reproduce that, so values are kept exact as sign × integer × 2^exp with
 * BigInt. Owns only this number format; it knows nothing of keys or replies.
 */

/** A finite extended-precision value: (neg ? -1 : 1) × mant × 2^exp, with mant < 2^64. */
export interface LongDouble {
  readonly neg: boolean;
  readonly mant: bigint;
  readonly exp: number;
}

const SIGNIFICAND_BITS = 64;
/** Exponent of the lowest significand bit of the smallest subnormal (2^-16445). */
const LSB_EXP_MIN = -16445;
/** Every finite value is below 2^16384. */
const MAGNITUDE_EXP_LIMIT = 16384;
/** Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses inputs this long or longer. */
const INPUT_CHARS_LIMIT = 5 * 1024;
/** Fraction digits of "%.17Lf". */
const FRACTION_DIGITS = 17;
const SCALE = 10n ** BigInt(FRACTION_DIGITS);

const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const HEX =
  /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** A zero of the given sign. */
function zero(neg: boolean): LongDouble {
  return { neg, mant: 0n, exp: 0 };
}

/**
 * Rounds (s + a fraction below one unit if `sticky`) × 2^e to 64 significant bits, ties to
 * even, honouring the subnormal range. Returns null on overflow (the result is infinite).
 * Callers pass `sticky` only with at least 66 bits in `s`, so the rounding bits are real.
 */
function round(neg: boolean, s: bigint, e: number, sticky: boolean): LongDouble | null {
  if (s === 0n) return zero(neg);
  const len = bitLength(s);
  const shift = Math.max(len - SIGNIFICAND_BITS, LSB_EXP_MIN - e);
  let mant = s;
  let exp = e;
  if (shift > 0) {
    // Everything below half of the smallest unit rounds to zero.
    if (shift > len) return zero(neg);
    const big = BigInt(shift);
    mant = s >> big;
    const rest = s - (mant << big);
    const half = 1n << (big - 1n);
    if (rest > half || (rest === half && (sticky || (mant & 1n) === 1n))) mant += 1n;
    exp += shift;
    if (mant === 1n << 64n) {
      mant >>= 1n;
      exp += 1;
    }
  }
  if (mant !== 0n && bitLength(mant) + exp > MAGNITUDE_EXP_LIMIT) return null;
  return { neg, mant, exp };
}

/** num / den rounded to a long double (num > 0, den > 0). */
function roundQuotient(neg: boolean, num: bigint, den: bigint): LongDouble | null {
  // Scale so the integer quotient has at least 66 bits: 64 kept, one rounding bit, one spare.
  const k = bitLength(den) - bitLength(num) + 66;
  const n = k >= 0 ? num << BigInt(k) : num;
  const d = k >= 0 ? den : den << BigInt(-k);
  const q = n / d;
  return round(neg, q, -k, q * d !== n);
}

/**
 * string2ld: the whole argument must be a number strtold accepts (C locale), with no leading
 * white space; NaN, and overflow or underflow to zero (ERANGE), are refused. Returns null when
 * the text is not such a number, `"inf"` for an explicit infinity.
 */
export function parseLongDouble(bytes: Uint8Array): LongDouble | "inf" | null {
  if (bytes.length === 0 || bytes.length >= INPUT_CHARS_LIMIT) return null;
  // strtold stops at a NUL byte, and Redis refuses any input it did not read to the end.
  if (bytes.includes(0)) return null;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
  if (/^[ \t\n\v\f\r]/.test(text)) return null;
  if (INFINITY.test(text)) return "inf";
  const dec = DECIMAL.exec(text);
  if (dec) return parseDecimal(dec);
  const hex = HEX.exec(text);
  if (hex) return parseHex(hex);
  return null;
}

/** Clamps a written exponent: beyond a million, any non-zero input over- or underflows. */
function exponentOf(written: string | undefined): number {
  if (!written) return 0;
  const digits = written.replace(/^[+-]/, "").replace(/^0+/, "");
  const magnitude = digits.length > 7 ? 10_000_000 : Number(digits || "0");
  return written.startsWith("-") ? -magnitude : magnitude;
}

function parseDecimal(m: RegExpExecArray): LongDouble | null {
  const neg = m[1] === "-";
  const whole = m[2] ?? "";
  const fraction = m[3] ?? m[4] ?? "";
  const digits = (whole + fraction).replace(/^0+/, "");
  if (digits.length === 0) return zero(neg);
  const e10 = exponentOf(m[5]) - fraction.length;
  // The value lies in [10^(len+e10-1), 10^(len+e10)): refuse clear overflow and underflow.
  if (digits.length + e10 - 1 > 4933) return null;
  if (digits.length + e10 < -4952) return null;
  const d = BigInt(digits);
  const result =
    e10 >= 0
      ? roundQuotient(neg, d * 10n ** BigInt(e10), 1n)
      : roundQuotient(neg, d, 10n ** BigInt(-e10));
  return result === null || result.mant === 0n ? null : result;
}

function parseHex(m: RegExpExecArray): LongDouble | null {
  const neg = m[1] === "-";
  const whole = m[2] ?? "";
  const fraction = m[3] ?? m[4] ?? "";
  const digits = (whole + fraction).replace(/^0+/, "");
  if (digits.length === 0) return zero(neg);
  // round() only shifts right, so even a clamped huge exponent costs nothing here.
  const e2 = exponentOf(m[5]) - 4 * fraction.length;
  const result = round(neg, BigInt(`0x${digits}`), e2, false);
  return result === null || result.mant === 0n ? null : result;
}

/** a + b with one rounding; null when the sum is infinite. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.mant === 0n && b.mant === 0n) return zero(a.neg && b.neg);
  if (a.mant === 0n) return b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const av = a.mant << BigInt(a.exp - e);
  const bv = b.mant << BigInt(b.exp - e);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  // An exact zero sum is +0 when rounding to nearest.
  if (sum === 0n) return zero(false);
  return round(sum < 0n, sum < 0n ? -sum : sum, e, false);
}

/**
 * Redis's ld2string(LD_STR_HUMAN): "%.17Lf", then trailing zeros and a bare '.' removed,
 * and "-0" written as "0".
 */
export function formatLongDouble(v: LongDouble): string {
  let scaled: bigint;
  if (v.exp >= 0) scaled = (v.mant << BigInt(v.exp)) * SCALE;
  else {
    const n = v.mant * SCALE;
    const shift = BigInt(-v.exp);
    scaled = n >> shift;
    const rest = n - (scaled << shift);
    const half = 1n << (shift - 1n);
    if (rest > half || (rest === half && (scaled & 1n) === 1n)) scaled += 1n;
  }
  const digits = scaled.toString().padStart(FRACTION_DIGITS + 1, "0");
  const whole = digits.slice(0, -FRACTION_DIGITS);
  const fraction = digits.slice(-FRACTION_DIGITS).replace(/0+$/, "");
  const text = `${v.neg ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
  return text === "-0" ? "0" : text;
}
