/**
 * BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
 * OVERFLOW WRAP|SAT|FAIL ...] and BITFIELD_RO (GET only). Every operation is parsed first,
 * as in Redis, so a bad one fails the command before anything runs. A command with a write
 * grows the string to its farthest written bit (even when every write fails under OVERFLOW
 * FAIL, as Redis does) and keeps the key's TTL. Arithmetic is 64-bit and reproduces Redis's
 * checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow with C's wrapping.
 */
import { errors, RespError } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import { keyParam } from "../../storage/api.ts";
import { parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import type { KeyCtx } from "../spec.ts";
import { bitfieldType, bitOffset, cToken, getSigned, getUnsigned, setBits } from "./bits.ts";

type Overflow = "WRAP" | "SAT" | "FAIL";

interface FieldOp {
  kind: "GET" | "SET" | "INCRBY";
  signed: boolean;
  bits: number;
  offset: number;
  /** SET value or INCRBY increment (int64). */
  value: bigint;
  overflow: Overflow;
}

interface Parsed {
  ops: FieldOp[];
  readonly: boolean;
  /** The farthest bit a SET or INCRBY touches. */
  highest: number;
}

function parse(args: Uint8Array[]): Parsed {
  const ops: FieldOp[] = [];
  let overflow: Overflow = "WRAP";
  let readonly = true;
  let highest = 0;
  for (let j = 2; j < args.length; j++) {
    const remaining = args.length - j - 1;
    const sub = args[j]!;
    let kind: FieldOp["kind"];
    if (cToken(sub, "GET") && remaining >= 2) kind = "GET";
    else if (cToken(sub, "SET") && remaining >= 3) kind = "SET";
    else if (cToken(sub, "INCRBY") && remaining >= 3) kind = "INCRBY";
    else if (cToken(sub, "OVERFLOW") && remaining >= 1) {
      const mode = args[++j]!;
      const found = (["WRAP", "SAT", "FAIL"] as const).find((m) => cToken(mode, m));
      if (!found) throw new RespError("ERR", "Invalid OVERFLOW type specified");
      overflow = found;
      continue;
    } else throw errors.syntax();
    const { signed, bits } = bitfieldType(args[j + 1]!);
    const offset = bitOffset(args[j + 2]!, bits);
    let value = 0n;
    if (kind !== "GET") {
      readonly = false;
      highest = Math.max(highest, offset + bits - 1);
      const v = parseInt64(args[j + 3]!);
      if (v === null) throw errors.notInteger();
      value = v;
    }
    ops.push({ kind, signed, bits, offset, value, overflow });
    j += kind === "GET" ? 2 : 3;
  }
  return { ops, readonly, highest };
}

const U64 = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/** Outcome of a checked store: overflow 0 = fits; otherwise `limit` is what WRAP/SAT store. */
interface Checked {
  overflow: -1 | 0 | 1;
  limit: bigint;
}

/** Redis's checkUnsignedBitfieldOverflow; `value` is a uint64, `incr` an int64. */
function checkUnsigned(value: bigint, incr: bigint, bits: number, mode: Overflow): Checked {
  const max = bits === 64 ? U64 : (1n << BigInt(bits)) - 1n;
  const maxincr = BigInt.asIntN(64, max - value);
  const minincr = BigInt.asIntN(64, -value);
  const wrapped = () => BigInt.asUintN(64, value + incr) & max;
  if (value > max || (incr > 0n && incr > maxincr))
    return { overflow: 1, limit: mode === "WRAP" ? wrapped() : max };
  if (incr < 0n && incr < minincr) return { overflow: -1, limit: mode === "WRAP" ? wrapped() : 0n };
  return { overflow: 0, limit: 0n };
}

/** Redis's checkSignedBitfieldOverflow; `value` and `incr` are int64. */
function checkSigned(value: bigint, incr: bigint, bits: number, mode: Overflow): Checked {
  const max = bits === 64 ? I64_MAX : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  const maxincr = BigInt.asIntN(64, max - value);
  const minincr = BigInt.asIntN(64, min - value);
  // WRAP keeps the low `bits` bits of the 64-bit sum, sign-extended.
  const wrapped = () => BigInt.asIntN(bits, BigInt.asUintN(64, value + incr));
  if (
    value > max ||
    (bits !== 64 && incr > maxincr) ||
    (value >= 0n && incr > 0n && incr > maxincr)
  )
    return { overflow: 1, limit: mode === "WRAP" ? wrapped() : max };
  if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr))
    return { overflow: -1, limit: mode === "WRAP" ? wrapped() : min };
  return { overflow: 0, limit: 0n };
}

/**
 * Runs one SET or INCRBY on `bytes` (long enough already): the reply (old value for SET, new
 * value for INCRBY, nil when OVERFLOW FAIL refuses) and whether the stored bits changed.
 */
function applyWrite(bytes: Uint8Array, op: FieldOp): { reply: Reply; changed: boolean } {
  const old = op.signed
    ? getSigned(bytes, op.offset, op.bits)
    : getUnsigned(bytes, op.offset, op.bits);
  let next: bigint;
  let checked: Checked;
  if (op.kind === "INCRBY") {
    checked = op.signed
      ? checkSigned(old, op.value, op.bits, op.overflow)
      : checkUnsigned(old, op.value, op.bits, op.overflow);
    next = checked.overflow ? checked.limit : old + op.value;
  } else {
    // An unsigned field sees the SET value as C's uint64 cast: -1 is 2^64-1, an overflow.
    const value = op.signed ? op.value : BigInt.asUintN(64, op.value);
    checked = op.signed
      ? checkSigned(value, 0n, op.bits, op.overflow)
      : checkUnsigned(value, 0n, op.bits, op.overflow);
    next = checked.overflow ? checked.limit : value;
  }
  if (checked.overflow && op.overflow === "FAIL") return { reply: null, changed: false };
  setBits(bytes, op.offset, op.bits, next);
  return { reply: op.kind === "INCRBY" ? next : old, changed: old !== next };
}

function readField(bytes: Uint8Array, op: FieldOp): bigint {
  return op.signed ? getSigned(bytes, op.offset, op.bits) : getUnsigned(bytes, op.offset, op.bits);
}

function bitfieldGeneric(
  ctx: KeyCtx,
  args: Uint8Array[],
  readonlyCommand: boolean,
): Reply | Promise<Reply> {
  const { ops, readonly, highest } = parse(args);
  const key = keyParam(args[1]!);
  if (readonly) {
    const readAll = (value: Uint8Array) => ops.map((op) => readField(value, op));
    if (readonlyCommand) return readAll(ks(ctx).get(args[1]!)?.value ?? new Uint8Array(0));
    // BITFIELD is a write command, so the connection does not wait for this client's earlier
    // writes before running it: reading through the shard's write queue orders the GETs after
    // them (BITFIELD_RO, a read, is only run once they settled).
    return ks(ctx).write(args[1]!, (table, now) =>
      readAll(table.live(key, now)?.value ?? new Uint8Array(0)),
    );
  }
  if (readonlyCommand) throw new RespError("ERR", "BITFIELD_RO only supports the GET subcommand");
  return ks(ctx).write(args[1]!, (table, now) => {
    const cur = table.live(key, now);
    const old = cur?.value ?? new Uint8Array(0);
    const length = Math.max(old.length, Math.floor(highest / 8) + 1);
    const bytes = new Uint8Array(length);
    bytes.set(old);
    let changed = cur === null || length > old.length;
    const replies: Reply[] = [];
    for (const op of ops) {
      if (op.kind === "GET") {
        replies.push(readField(bytes, op));
        continue;
      }
      const done = applyWrite(bytes, op);
      replies.push(done.reply);
      changed ||= done.changed;
    }
    if (changed) table.put(key, bytes, now, cur?.expiresAt ?? null);
    // Any SET or INCRBY unshares the string into a raw one in Redis, changed or not.
    if (ops.some((op) => op.kind !== "GET")) ks(ctx).encodingMarks.mark(args[1]!, bytes, "raw");
    return replies;
  });
}

export function bitfieldCommand(ctx: KeyCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  return bitfieldGeneric(ctx, args, false);
}

export function bitfieldRoCommand(ctx: KeyCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  return bitfieldGeneric(ctx, args, true);
}
