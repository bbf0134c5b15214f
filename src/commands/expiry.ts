/**
 * Expiry arithmetic and option parsing shared by SET, EXPIRE & co (and later HEXPIRE):
 * Redis's overflow checks and error texts, in milliseconds since the epoch.
 */
import { errors, RespError, sanitizeLine } from "../errors.ts";
import type { ExpiryMs } from "../storage/api.ts";
import { equalsToken, parseInt64, rawText } from "./args.ts";

const INT64_MAX = 9223372036854775807n;

export type ExpireUnit = "s" | "ms";

/** One of the EX | PX | EXAT | PXAT options SET, GETEX, HSETEX and HGETEX share. */
export interface ExpiryOption {
  readonly name: "EX" | "PX" | "EXAT" | "PXAT";
  readonly unit: ExpireUnit;
  /** EX and PX count from now; EXAT and PXAT are absolute. */
  readonly relative: boolean;
}

const EXPIRY_OPTIONS: readonly ExpiryOption[] = [
  { name: "EX", unit: "s", relative: true },
  { name: "PX", unit: "ms", relative: true },
  { name: "EXAT", unit: "s", relative: false },
  { name: "PXAT", unit: "ms", relative: false },
];

/** The expiry option `arg` names (any case), or null: the one reading of these tokens. */
export function expiryOption(arg: Uint8Array): ExpiryOption | null {
  return EXPIRY_OPTIONS.find((o) => equalsToken(arg, o.name)) ?? null;
}

/**
 * Converts a client-supplied expiry into an absolute time in ms, or throws Redis's
 * "invalid expire time in '<cmd>' command". `relative` adds `now`; `positive` refuses <= 0
 * (SET and GETEX do, EXPIRE does not).
 */
export function absoluteExpiry(
  raw: Uint8Array,
  unit: ExpireUnit,
  relative: boolean,
  now: number,
  command: string,
  positive: boolean,
): ExpiryMs {
  const value = parseInt64(raw);
  if (value === null) throw errors.notInteger();
  if (positive && value <= 0n) throw errors.invalidExpire(command);
  let ms = value;
  if (unit === "s") {
    if (value > INT64_MAX / 1000n || value < -INT64_MAX / 1000n)
      throw errors.invalidExpire(command);
    ms = value * 1000n;
  }
  if (relative) {
    if (ms > INT64_MAX - BigInt(now)) throw errors.invalidExpire(command);
    ms += BigInt(now);
  }
  // Exact beyond 2^53 ms, as Redis keeps any 64-bit expiry.
  return ms <= BigInt(Number.MAX_SAFE_INTEGER) && ms >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(ms)
    : ms;
}

export type ExpireCondition = "NX" | "XX" | "GT" | "LT" | null;

/** Parses EXPIRE's trailing NX|XX|GT|LT flags with Redis's compatibility errors. */
export function parseExpireCondition(args: Uint8Array[], from: number): ExpireCondition {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (let i = from; i < args.length; i++) {
    const a = args[i]!;
    if (equalsToken(a, "NX")) nx = true;
    else if (equalsToken(a, "XX")) xx = true;
    else if (equalsToken(a, "GT")) gt = true;
    else if (equalsToken(a, "LT")) lt = true;
    else throw unsupported(a);
  }
  if (nx && (xx || gt || lt)) {
    throw errorText("NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) throw errorText("GT and LT options at the same time are not compatible");
  return nx ? "NX" : xx ? "XX" : gt ? "GT" : lt ? "LT" : null;
}

/** Whether a new expiry may replace `current` (null = no expiry) under the condition. */
export function conditionAllows(
  condition: ExpireCondition,
  current: ExpiryMs | null,
  next: ExpiryMs,
): boolean {
  switch (condition) {
    case "NX":
      return current === null;
    case "XX":
      return current !== null;
    case "GT":
      return current !== null && next > current;
    case "LT":
      return current === null || next < current;
    default:
      return true;
  }
}

/** TTL replies: -2 missing, -1 persistent, else remaining time (seconds rounded like Redis). */
export function ttlReply(
  expiresAt: ExpiryMs | null | undefined,
  now: number,
  unit: ExpireUnit,
): number | bigint {
  if (expiresAt === undefined) return -2;
  if (expiresAt === null) return -1;
  if (typeof expiresAt === "bigint") {
    const left = expiresAt - BigInt(now);
    return unit === "ms" ? left : (left + 500n) / 1000n;
  }
  const left = Math.max(0, expiresAt - now);
  return unit === "ms" ? left : Math.floor((left + 500) / 1000);
}

function errorText(message: string): RespError {
  return new RespError("ERR", message);
}
function unsupported(arg: Uint8Array): RespError {
  return new RespError("ERR", `Unsupported option ${sanitizeLine(rawText(arg))}`);
}
