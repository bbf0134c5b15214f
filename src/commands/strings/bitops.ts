/**
 * Redis's bitmap commands on string keys: SETBIT, GETBIT, BITCOUNT and BITPOS here, BITOP in
 * bitop.ts, BITFIELD and BITFIELD_RO in bitfield.ts; this file also holds every bitmap row.
 * Behaviour follows Redis 8's bitops.c step by step, including the order in which arguments
 * are checked (Redis 8 validates BITCOUNT/BITPOS ranges before looking the key up, unlike 7).
 * SETBIT keeps the key's TTL, as Redis does. Reads of a hash get WRONGTYPE from the storage.
 */
import { errors, RespError } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import { keyParam } from "../../storage/api.ts";
import { bigInteger } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { bitfieldCommand, bitfieldRoCommand } from "./bitfield.ts";
import { bitopCommand } from "./bitop.ts";
import { bitAt, bitOffset, cToken, popcount, popcountByte, scanBit } from "./bits.ts";

const EMPTY = new Uint8Array(0);

function setbit(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const offset = bitOffset(args[2]!);
  const bitError = () => new RespError("ERR", "bit is not an integer or out of range");
  let on: bigint;
  try {
    on = bigInteger(args[3]!);
  } catch {
    throw bitError();
  }
  if (on !== 0n && on !== 1n) throw bitError();
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const cur = table.live(key, now);
    const old = cur?.value ?? EMPTY;
    const byte = Math.floor(offset / 8);
    const previous = bitAt(old, offset);
    const grows = cur === null || byte >= old.length;
    // Like Redis, an unchanged bit in a string long enough is not a write at all.
    if (grows || BigInt(previous) !== on) {
      const next = new Uint8Array(Math.max(old.length, byte + 1));
      next.set(old);
      const mask = 1 << (7 - (offset % 8));
      next[byte] = on ? next[byte]! | mask : next[byte]! & ~mask;
      table.put(key, next, now, cur?.expiresAt ?? null);
      // Redis unshares the string into a raw one before flipping a bit.
      ks(ctx).encodingMarks.mark(args[1]!, next, "raw");
    }
    return previous;
  });
}

function getbit(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const offset = bitOffset(args[2]!);
  const entry = ks(ctx).get(args[1]!);
  return entry === null ? 0 : bitAt(entry.value, offset);
}

/** A BIT|BYTE unit argument: true for BIT. */
function isBitUnit(arg: Uint8Array): boolean {
  if (cToken(arg, "BIT")) return true;
  if (cToken(arg, "BYTE")) return false;
  throw errors.syntax();
}

interface ByteRange {
  start: number;
  end: number;
  /** Bits of the first byte before the range (BIT unit only). */
  firstMask: number;
  /** Bits of the last byte after the range (BIT unit only). */
  lastMask: number;
}

/**
 * Redis's range normalisation shared by BITCOUNT and BITPOS: negative indexes count from the
 * end, both ends are clamped into the string, and a BIT range becomes a byte range plus
 * masks for the partial edge bytes. start > end means an empty range.
 */
function normalise(start: bigint, end: bigint, length: number, isBit: boolean): ByteRange {
  const total = BigInt(length) * (isBit ? 8n : 1n);
  if (start < 0n) start += total;
  if (end < 0n) end += total;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= total) end = total - 1n;
  if (!isBit || start > end)
    return { start: Number(start), end: Number(end), firstMask: 0, lastMask: 0 };
  const s = Number(start);
  const e = Number(end);
  return {
    start: Math.floor(s / 8),
    end: Math.floor(e / 8),
    firstMask: ~((1 << (8 - (s % 8))) - 1) & 0xff,
    lastMask: (1 << (7 - (e % 8))) - 1,
  };
}

function bitcount(ctx: KeyCtx, args: Uint8Array[]): Reply {
  let value: Uint8Array | null;
  let range: ByteRange;
  if (args.length === 4 || args.length === 5) {
    const start = bigInteger(args[2]!);
    const end = bigInteger(args[3]!);
    const isBit = args.length === 5 && isBitUnit(args[4]!);
    value = ks(ctx).get(args[1]!)?.value ?? null;
    if (start < 0n && end < 0n && start > end) return 0;
    range = normalise(start, end, value?.length ?? 0, isBit);
  } else if (args.length === 2) {
    value = ks(ctx).get(args[1]!)?.value ?? null;
    range = { start: 0, end: (value?.length ?? 0) - 1, firstMask: 0, lastMask: 0 };
  } else throw errors.syntax();
  if (value === null || range.start > range.end) return 0;
  let count = popcount(value, range.start, range.end);
  count -= popcountByte(value[range.start]! & range.firstMask);
  count -= popcountByte(value[range.end]! & range.lastMask);
  return count;
}

function bitpos(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const bit = bigInteger(args[2]!);
  if (bit !== 0n && bit !== 1n) throw new RespError("ERR", "The bit argument must be 1 or 0.");
  const b = Number(bit) as 0 | 1;
  let value: Uint8Array | null;
  let range: ByteRange;
  let endGiven = false;
  if (args.length >= 4 && args.length <= 6) {
    const start = bigInteger(args[3]!);
    const isBit = args.length === 6 && isBitUnit(args[5]!);
    let end = 0n;
    if (args.length >= 5) {
      end = bigInteger(args[4]!);
      endGiven = true;
    }
    value = ks(ctx).get(args[1]!)?.value ?? null;
    const length = value?.length ?? 0;
    if (!endGiven) end = BigInt(length) - 1n;
    range = normalise(start, end, length, isBit);
  } else if (args.length === 3) {
    value = ks(ctx).get(args[1]!)?.value ?? null;
    range = { start: 0, end: (value?.length ?? 0) - 1, firstMask: 0, lastMask: 0 };
  } else throw errors.syntax();
  // A missing key is an endless run of zeros.
  if (value === null) return b ? -1 : 0;
  if (range.start > range.end) return -1;
  return searchRange(value, range, b, endGiven);
}

/**
 * The search of Redis's bitposCommand over a non-empty range: the masked first byte, the
 * whole middle bytes, the masked last byte. `start` and `bytes` move as the search goes,
 * exactly as in Redis, because the final "no 0 inside an explicit range" test uses them.
 */
function searchRange(value: Uint8Array, range: ByteRange, bit: 0 | 1, endGiven: boolean): number {
  const { pos, start, bytes } = locate(value, range, bit);
  // Beyond an explicit end the string is not zero-padded: no 0 in the range is -1.
  if (endGiven && bit === 0 && pos === bytes * 8) return -1;
  return pos === -1 ? -1 : pos + start * 8;
}

/** Where the search stopped: `pos` relative to byte `start`, `bytes` left to search. */
function locate(
  value: Uint8Array,
  range: ByteRange,
  bit: 0 | 1,
): { pos: number; start: number; bytes: number } {
  let { start } = range;
  const { end, firstMask, lastMask } = range;
  let bytes = end - start + 1;
  if (firstMask) {
    let edge = bit ? value[start]! & ~firstMask : value[start]! | firstMask;
    if (lastMask && bytes === 1) edge = bit ? edge & ~lastMask : edge | lastMask;
    const pos = scanBit(Uint8Array.of(edge & 0xff), 0, 1, bit);
    if (bytes === 1 || (pos !== -1 && pos !== 8)) return { pos, start, bytes };
    start++;
    bytes--;
  }
  const whole = bytes - (lastMask ? 1 : 0);
  if (whole > 0) {
    const pos = scanBit(value, start, whole, bit);
    if (bytes === whole || (pos !== -1 && pos !== whole * 8)) return { pos, start, bytes };
    start += whole;
    bytes -= whole;
  }
  const edge = bit ? value[end]! & ~lastMask : value[end]! | lastMask;
  return { pos: scanBit(Uint8Array.of(edge & 0xff), 0, 1, bit), start, bytes };
}

const K1 = { first: 1, last: 1, step: 1 } as const;

export const bitCommands: CommandSpec[] = [
  {
    name: "setbit",
    acl: ["@bitmap"],
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.2.0",
    summary:
      "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
    syntax: "key offset value",
    handler: setbit,
  },
  {
    name: "getbit",
    acl: ["@bitmap"],
    arity: 3,
    flags: ["readonly", "fast"],
    keys: K1,
    group: "string",
    since: "2.2.0",
    summary: "Returns a bit value by offset.",
    syntax: "key offset",
    handler: getbit,
  },
  {
    name: "bitcount",
    acl: ["@bitmap"],
    arity: -2,
    flags: ["readonly"],
    keys: K1,
    group: "string",
    since: "2.6.0",
    summary: "Counts the number of set bits (population counting) in a string.",
    syntax: "key [start end [BYTE | BIT]]",
    handler: bitcount,
  },
  {
    name: "bitpos",
    acl: ["@bitmap"],
    arity: -3,
    flags: ["readonly"],
    keys: K1,
    group: "string",
    since: "2.8.7",
    summary: "Finds the first set (1) or clear (0) bit in a string.",
    syntax: "key bit [start [end [BYTE | BIT]]]",
    handler: bitpos,
  },
  {
    name: "bitop",
    acl: ["@bitmap"],
    arity: -4,
    flags: ["write", "denyoom"],
    keys: { first: 2, last: -1, step: 1 },
    group: "string",
    since: "2.6.0",
    summary:
      "Performs bitwise operations on multiple strings, and stores the result (AND, OR, XOR, NOT, and Redis 8.2's DIFF, DIFF1, ANDOR, ONE).",
    // docs.ts has no required-choice syntax: the operations are listed in the summary.
    syntax: "operation destkey key [key ...]",
    handler: bitopCommand,
  },
  {
    name: "bitfield",
    acl: ["@bitmap"],
    arity: -2,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "3.2.0",
    summary: "Performs arbitrary bitfield integer operations on strings.",
    syntax:
      "key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value | [OVERFLOW WRAP | SAT | FAIL] INCRBY encoding offset increment ...]",
    handler: bitfieldCommand,
  },
  {
    name: "bitfield_ro",
    acl: ["@bitmap"],
    arity: -2,
    flags: ["readonly", "fast"],
    keys: K1,
    group: "string",
    since: "6.0.0",
    summary: "Performs arbitrary read-only bitfield integer operations on strings.",
    syntax: "key [GET encoding offset ...]",
    handler: bitfieldRoCommand,
  },
];
