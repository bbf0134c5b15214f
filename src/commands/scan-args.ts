/**
 * The arguments every SCAN-family command shares, parsed one way: the cursor (Redis 8's
 * rule) and MATCH / COUNT, plus the options only one command has (SCAN's TYPE, HSCAN's
 * NOVALUES), which the caller names.
 */
import { errors, RespError } from "../errors.ts";
import { equalsToken, integer, parseInt64, text } from "./args.ts";
import { matchesAll } from "./glob.ts";

const U64_MAX = 18446744073709551615n;
const invalidCursor = () => new RespError("ERR", "invalid cursor");

/**
 * A cursor as Redis 8 reads it (string2ull): a canonical integer must not be negative, and
 * anything else goes through C's strtoull (leading spaces, a sign, leading zeros, up to
 * 2^64 - 1; a minus sign there wraps around, as strtoull does). Redis 7.0 let `-1` wrap too.
 */
export function scanCursor(arg: Uint8Array): bigint {
  const v = parseInt64(arg);
  if (v !== null) {
    if (v < 0n) throw invalidCursor();
    return v;
  }
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(text(arg));
  if (m === null) throw invalidCursor();
  const value = BigInt(m[2]!);
  if (value > U64_MAX) throw invalidCursor();
  return m[1] === "-" && value !== 0n ? U64_MAX + 1n - value : value;
}

/** Redis's type names (obj_type_name): a TYPE filter may name any of them. */
const TYPE_NAMES = new Set(["string", "list", "set", "zset", "hash", "stream"]);

export interface ScanOptions {
  count: number;
  /** null when the pattern matches everything (no matching needed). */
  pattern: Uint8Array | null;
  /** SCAN's TYPE, lower case. */
  type: string | null;
  /** HSCAN's NOVALUES. */
  noValues: boolean;
}

/** MATCH, COUNT and the options in `extra`, from `args[from]` on; Redis's errors. */
export function scanOptions(
  args: Uint8Array[],
  from: number,
  extra: { type?: boolean; noValues?: boolean },
): ScanOptions {
  const o: ScanOptions = { count: 10, pattern: null, type: null, noValues: false };
  for (let i = from; i < args.length; i++) {
    const a = args[i]!;
    const hasValue = i + 1 < args.length;
    if (equalsToken(a, "COUNT") && hasValue) {
      o.count = integer(args[++i]!);
      if (o.count < 1) throw errors.syntax();
    } else if (equalsToken(a, "MATCH") && hasValue) {
      const p = args[++i]!;
      o.pattern = matchesAll(p) ? null : p;
    } else if (extra.type && equalsToken(a, "TYPE") && hasValue) {
      const name = text(args[++i]!);
      o.type = name.toLowerCase();
      // Redis 8 refuses a type it doesn't know (7.0 scanned and found nothing).
      if (!TYPE_NAMES.has(o.type)) throw new RespError("ERR", `unknown type name '${name}'`);
    } else if (extra.noValues && equalsToken(a, "NOVALUES")) o.noValues = true;
    else throw errors.syntax();
  }
  return o;
}
